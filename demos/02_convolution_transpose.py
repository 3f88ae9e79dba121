"""02 - Convolution and its transpose: im2col, col2im and the "deconvolution" of a DeconvNet.

What it teaches
    * A convolution is one matrix product: *im2col* copies every ``KH x KW x C``
      window of the image into a row, and ``y = im2col(x) @ W.reshape(-1, F)``.
    * Its backward pass (the input gradient) is the *transposed convolution*:
      ``dx = col2im(dout @ W.T)``, where col2im adds every row back onto the
      window it came from -- overlapping windows **sum**.
    * Transposed means adjoint: ``<conv(x), g> = <x, conv^T(g)>`` for every ``x``
      and ``g`` (checked here to float64 precision, with stride 2 and "same"
      padding).
    * For stride 1 the transposed convolution is a *full* convolution with each
      filter flipped vertically and horizontally -- Zeiler & Fergus's "filtering"
      step, and what the original tutorial meant by "transposing the layers". For
      stride 2, first insert a zero between the signals ("fractionally strided").
    * Projecting one single unit through the transposed convolution returns the
      filter itself (not flipped!), placed on that unit's window: why layer-1
      DeconvNet projections look like the first-layer filters.

    Nothing here is approximate: every "equals" below is checked and printed.

Papers
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014, section 2.1. V. Dumoulin, F. Visin. A guide to convolution
    arithmetic for deep learning. arXiv:1603.07285 (2016), the reference the
    tutorial pointed to.

Run
    python demos/02_convolution_transpose.py [--out DIR] [--quick]

Writes ``im2col.png`` (a 5x5 image, its im2col matrix, and how many windows cover
each pixel), ``transpose.png`` (a photo convolved with an edge filter and sent back
three ways, stride 1 and stride 2) and ``single_unit.png`` (the demo model's
first-layer filters next to the projections of single conv1 units).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from matplotlib import cbook
from matplotlib.figure import Figure
from matplotlib.image import imread

from minidecnn.demo_model import load_demo_model
from minidecnn.kernels import col2im_naive, im2col, im2col_naive, window_geometry
from minidecnn.layers import Conv2D

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode


def parse_args(argv=None) -> argparse.Namespace:
    name = Path(__file__).stem
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.path.join("demo_output", name)
    parser.add_argument("--out", default=default, help=f"figure folder (default: {default})")
    parser.add_argument(
        "--quick", action="store_true", help=f"a small, fast run (also: {QUICK_ENV}=1)"
    )
    args = parser.parse_args(argv)
    args.quick = args.quick or os.environ.get(QUICK_ENV) == "1"
    return args


# ----------------------------------------------------------------------------- the maths, by hand


def correlate_valid(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """What deep-learning "convolution" computes: ``out[i, j] = sum_uv a[i+u, j+v] k[u, v]``."""
    KH, KW = k.shape
    out = np.zeros((a.shape[0] - KH + 1, a.shape[1] - KW + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(a[i : i + KH, j : j + KW] * k)
    return out


def full_convolution(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A true, "full" convolution: pad by ``K - 1`` all round, correlate with ``k`` flipped."""
    KH, KW = k.shape
    padded = np.pad(a, ((KH - 1, KH - 1), (KW - 1, KW - 1)))
    return correlate_valid(padded, k[::-1, ::-1])


def dilate(d: np.ndarray, stride: int) -> np.ndarray:
    """Insert ``stride - 1`` zeros between neighbours (a "fractionally strided" signal)."""
    out = np.zeros(((d.shape[0] - 1) * stride + 1, (d.shape[1] - 1) * stride + 1))
    out[::stride, ::stride] = d
    return out


def transpose_by_flipping(dout, W, stride, pad_top, pad_left, H, W_img):
    """``dx`` of a convolution computed as Zeiler & Fergus describe it.

    For each input channel ``c``: ``sum_f full_convolution(dilate(dout[..., f]), W[..., c, f])``,
    then drop the padded rows/columns (rows the windows never reached stay zero).

    dout : (H_out, W_out, F);  W : (KH, KW, C, F);  returns (H, W_img, C).
    """
    KH, KW, C, F = W.shape
    dx = np.zeros((H, W_img, C))
    for c in range(C):
        full = sum(full_convolution(dilate(dout[..., f], stride), W[:, :, c, f]) for f in range(F))
        rows = full[pad_top : pad_top + H, pad_left : pad_left + W_img]  # padded -> image coords
        dx[: rows.shape[0], : rows.shape[1], c] = rows
    return dx


def make_conv(W: np.ndarray, stride: int, padding: str, input_shape) -> Conv2D:
    """A float64, bias-free Conv2D layer holding the kernel ``W`` (KH, KW, C, F)."""
    conv = Conv2D(W.shape[-1], W.shape[:2], strides=stride, padding=padding, use_bias=False)
    conv.build(input_shape)
    conv.astype(np.float64)
    conv.params["W"][...] = W
    return conv


# ----------------------------------------------------------------------------- the figures


def load_photo(size: int) -> np.ndarray:
    """A grey ``size x size`` crop of Grace Hopper's face, in [0, 1]."""
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    grey = imread(path).astype(np.float64).mean(axis=-1) / 255.0
    face = grey[120:376, 130:386]  # 256 x 256 around the face
    step = 256 // size
    return face[: size * step : step, : size * step : step]


def figure_im2col(save) -> None:
    """The 5x5 example: im2col rows, and col2im of ones counting the windows per pixel."""
    x = np.arange(25.0).reshape(1, 5, 5, 1)
    cols = im2col_naive(x, 3, 3, 1, 1, 0, 0, 3, 3)  # 9 windows x 9 taps
    counts = col2im_naive(np.ones_like(cols), 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 3, 3)[0, :, :, 0]
    fig = Figure(figsize=(11, 3.9), layout="constrained")
    panels = [
        (x[0, :, :, 0], "image x (5x5, one channel)", "Blues"),
        (cols, "im2col(x): row (i, j) = the 3x3 window\nat output (i, j), flattened", "Blues"),
        (counts, "col2im(ones): how many windows\ncover each pixel (overlaps add)", "Oranges"),
    ]
    for k, (a, title, cmap) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        ax.imshow(a, cmap=cmap, vmin=a.min(), vmax=a.max() * 1.6)
        for (r, c), v in np.ndenumerate(a):
            ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.axes[1].set_ylabel("window (i, j), row by row", fontsize=8)
    fig.axes[1].set_xlabel("tap (u, v) of the 3x3 window", fontsize=8)
    fig.suptitle("Convolution as one matrix product: y = im2col(x) @ W.reshape(9, F)", fontsize=10)
    fig.savefig(save, dpi=110)


def figure_transpose(photo, save) -> dict:
    """Convolve a photo with an edge filter, then send the result back three ways."""
    kernel = np.array(
        [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]
    )  # Sobel: vertical edges
    W = kernel[:, :, None, None]  # (KH, KW, C=1, F=1)
    H = photo.shape[0]
    x = photo[None, :, :, None]
    rows, errors = [], {}
    for stride in (1, 2):
        conv = make_conv(W, stride, "valid", x.shape[1:])
        y = conv.forward(x)  # (1, H_out, W_out, 1)
        dout = y  # send the feature map itself back, as a DeconvNet does
        dx_layer = conv.backward(dout, param_grads=False)[0, :, :, 0]
        dx_flip = transpose_by_flipping(dout[0], W, stride, 0, 0, H, H)[..., 0]
        errors[stride] = float(np.abs(dx_layer - dx_flip).max())
        rows.append((stride, y[0, :, :, 0], dilate(dout[0, :, :, 0], stride), dx_layer, dx_flip))
    fig = Figure(figsize=(13, 5.6), layout="constrained")
    for r, (stride, y, dilated, dx_layer, dx_flip) in enumerate(rows):
        panels = [
            (photo, "image x", "gray"),
            (kernel, "filter (Sobel, vertical edges)", "RdBu_r"),
            (y, f"y = conv(x), stride {stride}", "RdBu_r"),
            (
                dilated,
                "y with zeros inserted" if stride > 1 else "y (the signal sent back)",
                "RdBu_r",
            ),
            (dx_layer, "Conv2D.backward(y)\n(col2im of y @ W.T)", "RdBu_r"),
            (dx_flip, "full convolution with the\nflipped filter", "RdBu_r"),
            (
                dx_layer - dx_flip,
                f"difference, same scale\n(max |.| = {errors[stride]:.1e})",
                "RdBu_r",
            ),
        ]
        scale = float(np.abs(dx_layer).max())
        for k, (a, title, cmap) in enumerate(panels):
            ax = fig.add_subplot(2, len(panels), r * len(panels) + k + 1)
            v = scale if title.startswith("difference") else (float(np.abs(a).max()) or 1.0)
            if cmap == "gray":
                ax.imshow(a, cmap=cmap)
            else:
                ax.imshow(a, cmap=cmap, vmin=-v, vmax=v, interpolation="nearest")
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.axes[r * len(panels)].set_ylabel(f"stride {stride}", fontsize=10)
    fig.suptitle(
        "The transposed convolution (the backward pass) is a full convolution with the flipped "
        "filter; with stride 2, of the signal with zeros inserted",
        fontsize=10,
    )
    fig.savefig(save, dpi=110)
    return errors


def figure_single_units(save, n_filters: int) -> float:
    """Project single conv1 units of the demo model: each projection is the unit's filter."""
    model = load_demo_model()
    conv1 = model.get_layer("conv1")
    W = np.asarray(conv1.params["W"], np.float64)  # (5, 5, 3, 32)
    KH, KW, C, F = W.shape
    size = 16
    layer = make_conv(W, 1, "same", (size, size, C))
    layer.forward(np.zeros((n_filters, size, size, C)))  # the transposed conv needs no values
    i = j = size // 2  # one unit in the middle of each map
    dout = np.zeros((n_filters, size, size, F))
    for f in range(n_filters):
        dout[f, i, j, f] = 1.0  # unit (i, j) of channel f, alone
    dx = layer.backward(dout, param_grads=False)
    _, top, _ = window_geometry(size, KH, 1, "same")
    windows = dx[:, i - top : i - top + KH, j - top : j - top + KW, :]  # the unit's window
    error = float(np.abs(windows - np.moveaxis(W[..., :n_filters], -1, 0)).max())
    outside = float(np.abs(dx).sum() - np.abs(windows).sum())

    def show(a):
        v = float(np.abs(a).max()) or 1.0
        return np.clip(0.5 + 0.5 * a / v, 0, 1)

    fig = Figure(figsize=(1.1 * n_filters + 1.0, 3.9), layout="constrained")
    for f in range(n_filters):
        ax = fig.add_subplot(3, n_filters, f + 1)
        ax.imshow(show(W[..., f]), interpolation="nearest")
        ax.set_title(f"filter {f}", fontsize=7)
        ax = fig.add_subplot(3, n_filters, n_filters + f + 1)
        ax.imshow(show(dx[f]), interpolation="nearest")
        ax.add_patch(_box(j - top, i - top, KW, KH))
        ax = fig.add_subplot(3, n_filters, 2 * n_filters + f + 1)
        ax.imshow(show(windows[f]), interpolation="nearest")
    for ax in fig.axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.axes[0].set_ylabel("conv1 W[..., f]", fontsize=7)
    fig.axes[1].set_ylabel("conv1^T(one unit)\n16x16 input", fontsize=7)
    fig.axes[2].set_ylabel("its 5x5 window", fontsize=7)
    fig.suptitle(
        f"Demo model: the transposed convolution of one conv1 unit is its filter, unflipped, "
        f"on the unit's window (max difference {error:.0e}, outside the window {outside:.0f})",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)
    return error


def _box(left, top, w, h):
    from matplotlib.patches import Rectangle

    return Rectangle((left - 0.5, top - 0.5), w, h, fill=False, ec="yellow", lw=1)


def check_adjoint(rng) -> float:
    """``<conv(x), g> = <x, conv^T(g)>`` for a random kernel, stride 2, "same" padding."""
    x = rng.standard_normal((2, 9, 11, 3))
    W = rng.standard_normal((3, 3, 3, 4))
    conv = make_conv(W, 2, "same", x.shape[1:])
    y = conv.forward(x)
    g = rng.standard_normal(y.shape)
    left, right = float(np.sum(y * g)), float(np.sum(x * conv.backward(g, param_grads=False)))
    print(f"adjoint identity, stride 2, same padding: <conv(x), g> = {left:.12f}")
    print(f"                                           <x, conv^T(g)> = {right:.12f}")
    return abs(left - right) / abs(left)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    # 1. im2col, by hand and in Numba, and the convolution as one matrix product
    x = rng.standard_normal((2, 7, 6, 3))
    W = rng.standard_normal((3, 3, 3, 4))
    H_out, top, _ = window_geometry(7, 3, 2, "same")
    W_out, left, _ = window_geometry(6, 3, 2, "same")
    cols = im2col_naive(x, 3, 3, 2, 2, top, left, H_out, W_out)
    same = np.array_equal(cols, im2col(x, 3, 3, 2, 2, top, left, H_out, W_out))
    y_gemm = (cols @ W.reshape(-1, 4)).reshape(2, H_out, W_out, 4)
    y_layer = make_conv(W, 2, "same", x.shape[1:]).forward(x)
    print(f"im2col: {cols.shape[0]} windows x {cols.shape[1]} taps; naive == Numba: {same}")
    print(f"conv as one GEMM == Conv2D.forward: max |diff| {np.abs(y_gemm - y_layer).max():.1e}")
    figure_im2col(out / "im2col.png")

    # 2. the adjoint identity
    rel = check_adjoint(rng)
    print(f"relative difference {rel:.1e} (float64 rounding)")

    # 3. transposed convolution = full convolution with the flipped filter
    photo = load_photo(32 if args.quick else 96)
    errors = figure_transpose(photo, out / "transpose.png")
    for stride, err in errors.items():
        print(f"stride {stride}: backward vs flipped full convolution, max |diff| {err:.1e}")

    # 4. one unit's projection is its filter
    error = figure_single_units(out / "single_unit.png", 4 if args.quick else 10)
    print(f"single conv1 units projected: equal to their filters, max |diff| {error:.1e}")
    print(f"wrote 3 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
