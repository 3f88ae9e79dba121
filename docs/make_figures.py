"""Draw the figures of the docs into ``docs/figures/`` (every PNG there comes from here).

Run from the repository root::

    python docs/make_figures.py                      # all figures, with the shipped demo model
    python docs/make_figures.py --weights FILE       # ... with another demo-model weights file
    python docs/make_figures.py --quick --out DIR    # small and fast (the docs test runs this)

``--quick`` uses fewer samples, fewer images and, when the shipped demo-model weights are
not installed, the untrained demo architecture: it checks that every figure can be
drawn, not that it is pretty. The committed figures come from a full run.

Every figure is a function ``fig_<name>(ctx) -> matplotlib.figure.Figure``, listed in
:data:`FIGURES`; nothing here computes a method, the numbers come from minidecnn.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE.parent))

import minidecnn as mdc  # noqa: E402
from minidecnn import explain, plot  # noqa: E402
from minidecnn.data import shapes  # noqa: E402
from minidecnn.demo_model import (  # noqa: E402
    build_demo_model,
    demo_data,
    demo_weights_path,
    load_demo_model,
)
from minidecnn.kernels import col2im_naive, im2col_naive, maxpool_forward_naive  # noqa: E402
from minidecnn.kernels.geometry import window_geometry  # noqa: E402

DPI = 90
COLOURS = ["#e6550d", "#3182bd", "#31a354", "#756bb1", "#de2d26", "#636363"]


@dataclass
class Context:
    """What the figures share: the demo model, its test images, and how hard to work."""

    quick: bool
    model: object
    trained: bool
    x: np.ndarray  # test images (N, 32, 32, 3)
    y: np.ndarray
    names: tuple
    probs: np.ndarray  # the model's predicted probabilities, (N, 10)

    @property
    def n_samples(self) -> int:
        return 8 if self.quick else 50


def make_context(quick: bool, weights=None) -> Context:
    if weights is not None:
        model, trained = load_demo_model(weights), True
    elif demo_weights_path().is_file():
        model, trained = load_demo_model(), True
    elif quick:
        model, trained = build_demo_model(), False
    else:
        raise SystemExit(
            "make_figures: the demo model's weights are not installed. Expected "
            f"{demo_weights_path()}; train them with 'minidecnn train-demo' (or "
            "'python -m minidecnn.demo_model --out FILE') and pass --weights FILE."
        )
    x, y, names = demo_data(100 if quick else 600, "test")
    return Context(quick, model, trained, x, y, names, model.predict(x))


# ----------------------------------------------------------------------------- helpers


def _grid_axes(ax, a, fmt="{:g}", cmap="Greys", vmin=None, vmax=None, fontsize=9, colours=None):
    """Draw a small 2-D array as a table of numbers on coloured cells."""
    a = np.asarray(a, np.float64)
    ax.imshow(a, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    lo, hi = (a.min(), a.max()) if vmin is None else (vmin, vmax)
    for (r, c), v in np.ndenumerate(a):
        dark = hi > lo and (v - lo) / (hi - lo) > 0.6
        colour = colours[r][c] if colours is not None else ("white" if dark else "black")
        ax.text(
            c, r, fmt.format(v + 0.0), ha="center", va="center", fontsize=fontsize, color=colour
        )
    ax.set_xticks([])
    ax.set_yticks([])


def _box(ax, top, left, h, w, colour, lw=2.5, inset=0.0):
    ax.add_patch(
        Rectangle(
            (left - 0.5 + inset, top - 0.5 + inset),
            w - 2 * inset,
            h - 2 * inset,
            fill=False,
            edgecolor=colour,
            linewidth=lw,
        )
    )


def _first_correct(ctx, classes, k=1):
    """Indices of test images of the given classes (correctly predicted when trained)."""
    pred = ctx.probs.argmax(axis=1)
    chosen = []
    for c in classes:
        ok = np.flatnonzero((ctx.y == c) & ((pred == c) | (not ctx.trained)))
        chosen += list(ok[:k])
    return np.array(chosen)


# ----------------------------------------------------------------------------- engine figures


def fig_im2col(ctx) -> Figure:
    """im2col of a 4x4 image with a 2x2 window (stride 1), and col2im's overlap counts."""
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    geom = (2, 2, 1, 1, 0, 0, 3, 3)
    cols = im2col_naive(x, *geom)
    cover = col2im_naive(np.ones_like(cols), 1, 4, 4, 1, *geom)[0, :, :, 0]
    fig = Figure(figsize=(10.5, 4.2))
    grid = fig.add_gridspec(1, 3, width_ratios=[1.0, 0.75, 1.0], wspace=0.35)
    ax = fig.add_subplot(grid[0])
    _grid_axes(ax, x[0, :, :, 0], cmap="Greys", vmin=-8, vmax=40)
    shown = [(0, 0), (0, 1), (1, 0), (2, 2)]
    for k, (i, j) in enumerate(shown):
        _box(ax, i, j, 2, 2, COLOURS[k], inset=0.05 + 0.09 * k)
    ax.set_title("x (4x4, one channel)\nwindows (i, j) of a 2x2 kernel, stride 1", fontsize=9)
    ax = fig.add_subplot(grid[1])
    _grid_axes(ax, cols, cmap="Greys", vmin=-8, vmax=40, fontsize=8)
    for k, (i, j) in enumerate(shown):
        _box(ax, i * 3 + j, 0, 1, 4, COLOURS[k], lw=2)
    ax.set_yticks(range(9))
    ax.set_yticklabels([f"({i},{j})" for i in range(3) for j in range(3)], fontsize=7)
    ax.set_xticks(range(4))
    ax.set_xticklabels(["u0v0", "u0v1", "u1v0", "u1v1"], fontsize=7)
    ax.set_title(
        "im2col(x): one row per window\n(9 x 4) -> y = cols @ W.reshape(4, F)", fontsize=9
    )
    ax = fig.add_subplot(grid[2])
    _grid_axes(ax, cover, fmt="{:.0f}", cmap="Blues", vmin=0, vmax=6)
    ax.set_title("col2im(ones): windows covering each pixel\n(overlaps ADD in col2im)", fontsize=9)
    fig.suptitle(
        "Convolution as one matrix product: im2col, and its adjoint col2im", fontsize=11, y=1.04
    )
    return fig


def fig_padding(ctx) -> Figure:
    """TensorFlow's 'same' padding: an odd total puts the extra zero at the bottom/right."""
    fig = Figure(figsize=(8.0, 3.0))
    cases = [(6, 3, 2), (5, 3, 2), (7, 2, 1)]
    for k, (H, K, s) in enumerate(cases):
        out, before, after = window_geometry(H, K, s, "same")
        ax = fig.add_subplot(len(cases), 1, k + 1)
        cells = before + H + after
        row = np.zeros((1, cells))
        row[0, before : before + H] = 1
        ax.imshow(row, cmap="Greys", vmin=-0.6, vmax=1.6, aspect="equal")
        for c in range(cells):
            label = "0" if (c < before or c >= before + H) else f"x{c - before}"
            ax.text(
                c,
                0,
                label,
                ha="center",
                va="center",
                fontsize=8,
                color="#999999" if label == "0" else "white",
            )
        for i in range(out):
            start = i * s
            colour = COLOURS[i % len(COLOURS)]
            ax.add_patch(
                Rectangle(
                    (start - 0.45, -0.45 + 0.08 * (i % 2)),
                    K - 0.1,
                    0.9 - 0.16 * (i % 2),
                    fill=False,
                    edgecolor=colour,
                    linewidth=2,
                )
            )
        ax.set_xlim(-0.6, 8.6)
        ax.set_ylim(0.6, -0.6)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(f"H={H}\nK={K}, s={s}", rotation=0, ha="right", va="center", fontsize=8)
        ax.text(
            1.02,
            0.5,
            f"H_out = ceil({H}/{s}) = {out}\ntotal padding {before + after}: "
            f"{before} before, {after} after",
            va="center",
            fontsize=8,
            transform=ax.transAxes,
        )
    fig.suptitle(
        "'same' padding (TensorFlow): the extra zero goes after (bottom/right)", fontsize=10
    )
    return fig


def fig_switches(ctx) -> Figure:
    """Max-pooling records switches; unpooling sends values (or signals) back through them."""
    x = np.array(
        [[1, 3, 2, 0, 5, 5], [4, 2, 1, 6, 5, 5], [0, 7, 3, 3, 1, 0], [2, 1, 3, 2, 8, 2]],
        dtype=np.float64,
    ).reshape(1, 4, 6, 1)
    geom = (2, 2, 2, 2, 0, 0, 2, 3)
    y, s = maxpool_forward_naive(x, *geom)
    pool = mdc.layers.MaxPool2D(2)
    pool.forward(x)
    back = pool.deconv(y)
    fig = Figure(figsize=(12.0, 3.4))
    grid = fig.add_gridspec(1, 4, width_ratios=[1.5, 0.8, 0.8, 1.5], wspace=0.3)
    ax = fig.add_subplot(grid[0])
    _grid_axes(ax, x[0, :, :, 0], fmt="{:.0f}", cmap="Greys", vmin=-4, vmax=14)
    for i in range(2):
        for j in range(3):
            colour = COLOURS[i * 3 + j]
            _box(ax, 2 * i, 2 * j, 2, 2, colour, lw=1.5, inset=0.04)
            h, w = divmod(int(s[0, i, j, 0]), 6)
            ax.add_patch(
                Rectangle(
                    (w - 0.42, h - 0.42), 0.84, 0.84, fill=False, edgecolor=colour, linewidth=3
                )
            )
    ax.set_title("x (4x6): 2x2 windows, stride 2\nthe winner of each window is boxed", fontsize=9)
    ax = fig.add_subplot(grid[1])
    _grid_axes(ax, y[0, :, :, 0], fmt="{:.0f}", cmap="Greys", vmin=-4, vmax=14)
    ax.set_title("y = max-pool(x)", fontsize=9)
    ax = fig.add_subplot(grid[2])
    _grid_axes(ax, s[0, :, :, 0], fmt="{:.0f}", cmap="Oranges", vmin=0, vmax=60)
    ax.set_title("switches = h*W + w\n(ties: first in row-major)", fontsize=9)
    ax = fig.add_subplot(grid[3])
    _grid_axes(ax, back[0, :, :, 0], fmt="{:.0f}", cmap="Greys", vmin=-4, vmax=14)
    ax.set_title("unpool(y) = MaxPool2D.deconv(y)\nvalues return to their switches", fontsize=9)
    fig.suptitle(
        "Switches: the 5, 5 / 5, 5 window is a tie, and its first cell (row 0, column 4) wins",
        fontsize=10,
    )
    return fig


def fig_relu_rules(ctx) -> Figure:
    """The three backward rules of a ReLU on a small example."""
    z = np.array([[-1.0, 0.0, 2.0, 3.0, -2.0, 1.0]])
    dout = np.array([[3.0, 3.0, -3.0, 3.0, -1.0, -2.0]])
    relu = mdc.layers.ReLU()
    relu.forward(z)
    rows = [
        ("z (forward input)", z[0]),
        ("dout (from above)", dout[0]),
        ("gradient: dout * 1[z > 0]", relu.backward(dout)[0]),
        ("deconvnet: max(dout, 0)", relu.deconv(dout)[0]),
        ("guided: max(dout, 0) * 1[z > 0]", relu.guided(dout)[0]),
    ]
    table = np.stack([r[1] for r in rows])
    fig = Figure(figsize=(7.5, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    _grid_axes(ax, table, fmt="{:g}", cmap="RdBu", vmin=-4, vmax=4, fontsize=10)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows], fontsize=9)
    ax.axhline(1.5, color="black", linewidth=1.5)
    ax.set_title("The ReLU is the only layer where the three methods differ", fontsize=10)
    return fig


def fig_shapes(ctx) -> Figure:
    """Ten examples of each class of the shapes data set."""
    x, y, names = shapes(200, seed=3)
    fig = Figure(figsize=(9.0, 3.0))
    tiles = []
    for c in range(len(names)):
        idx = np.flatnonzero(y == c)[:3]
        tiles += [x[i] for i in idx]
    order = [tiles[3 * c + r] for r in range(3) for c in range(len(names))]
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(plot.mosaic(order, 3, len(names), gap=2), interpolation="nearest")
    ax.set_xticks([c * 34 + 16 for c in range(len(names))])
    ax.set_xticklabels(names, fontsize=8, rotation=30)
    ax.set_yticks([])
    ax.set_title("minidecnn.data.shapes: ten classes (three examples each)", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- method figures


def fig_filters(ctx) -> Figure:
    return plot.plot_filters(ctx.model, "conv1", title="The demo model's first-layer filters")


def fig_methods(ctx) -> Figure:
    """Every method on three test images of the demo model, explaining the true class."""
    idx = _first_correct(ctx, [2, 5, 8])
    x, classes = ctx.x[idx], [int(c) for c in ctx.y[idx]]
    m = ctx.model
    steps = 8 if ctx.quick else 32
    columns = [
        (
            "gradient\nmax_c |.|",
            explain.normalize_percentile(explain.channel_max_abs(explain.gradient(m, x, classes))),
        ),
        (
            "SmoothGrad\n(n=50, 15 %)",
            explain.normalize_percentile(
                explain.channel_max_abs(
                    explain.smoothgrad(m, x, classes, n_samples=ctx.n_samples, seed=0)
                )
            ),
        ),
        ("DeconvNet", explain.normalize_minmax(explain.deconvnet(m, x, classes))),
        ("guided backprop", explain.normalize_minmax(explain.guided_backprop(m, x, classes))),
        ("gradient x input", explain.normalize_diverging(explain.gradient_x_input(m, x, classes))),
        (
            "integrated grad.\n(black baseline)",
            explain.normalize_diverging(explain.integrated_gradients(m, x, classes, steps=steps)),
        ),
        ("Grad-CAM\n(conv3)", None),
        ("occlusion\n(8x8 grey patch)", None),
    ]
    cam = explain.grad_cam(m, x, classes)
    occ = explain.occlusion(m, x, classes, patch=8, stride=4, fill=0.5)
    fig = Figure(figsize=(1.45 * (len(columns) + 1), 1.55 * len(x) + 0.6), layout="constrained")
    for r in range(len(x)):
        ax = fig.add_subplot(len(x), len(columns) + 1, r * (len(columns) + 1) + 1)
        ax.imshow(x[r], interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(ctx.names[classes[r]], fontsize=8)
        if r == 0:
            ax.set_title("input", fontsize=8)
        for k, (title, maps) in enumerate(columns):
            ax = fig.add_subplot(len(x), len(columns) + 1, r * (len(columns) + 1) + k + 2)
            ax.set_xticks([])
            ax.set_yticks([])
            if title.startswith("Grad-CAM"):
                ax.imshow(explain.overlay(x[r], cam[r] / max(cam[r].max(), 1e-12)))
            elif title.startswith("occlusion"):
                heat = occ[r, :, :, 0]
                ax.imshow(explain.overlay(x[r], heat, cmap="bwr"))
            elif maps.ndim == 4:
                ax.imshow(maps[r], interpolation="nearest")
            elif "input" in title or "integrated" in title:
                ax.imshow(maps[r], cmap="bwr", vmin=-1, vmax=1, interpolation="nearest")
            else:
                ax.imshow(maps[r], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if r == 0:
                ax.set_title(title, fontsize=8)
    state = "" if ctx.trained else " (UNTRAINED: quick mode)"
    fig.suptitle(
        f"The methods on the demo model, each explaining the true class{state}", fontsize=10
    )
    return fig


def fig_smoothgrad_levels(ctx) -> Figure:
    """SmoothGrad against the noise level and the number of samples (the paper's Fig. 3)."""
    idx = _first_correct(ctx, [3])
    x, c = ctx.x[idx], int(ctx.y[idx][0])
    levels = [0.0, 0.05, 0.1, 0.2, 0.3]
    counts = [5, ctx.n_samples] if ctx.quick else [5, 20, 50]
    fig = Figure(figsize=(1.6 * (len(levels) + 1), 1.6 * len(counts) + 0.6), layout="constrained")
    for r, n in enumerate(counts):
        ax = fig.add_subplot(len(counts), len(levels) + 1, r * (len(levels) + 1) + 1)
        ax.imshow(x[0], interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"n = {n}", fontsize=9)
        for k, level in enumerate(levels):
            sg = explain.smoothgrad(ctx.model, x, c, n_samples=n, noise_level=level, seed=0)
            pic = explain.normalize_percentile(explain.channel_max_abs(sg))[0]
            ax = fig.add_subplot(len(counts), len(levels) + 1, r * (len(levels) + 1) + k + 2)
            ax.imshow(pic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"noise {int(100 * level)} %", fontsize=9)
    fig.suptitle(f"SmoothGrad of the '{ctx.names[c]}' logit: noise level x samples", fontsize=10)
    return fig


def fig_softmax_vs_logit(ctx) -> Figure:
    """The gradient of the logit against the gradient of the probability, from an uncertain
    prediction to a saturated one."""
    model = ctx.model
    probs = ctx.probs
    p_max = probs.max(axis=1)
    order = np.argsort(p_max)
    picks = [order[0], order[np.searchsorted(p_max[order], 0.99)], order[-1]]
    x = ctx.x[picks]
    classes = [int(c) for c in probs[picks].argmax(axis=1)]
    g_logit = explain.gradient(model, x, classes)
    g_prob = explain.gradient(model, x, classes, probability=True)
    fig = Figure(figsize=(6.4, 1.9 * len(x) + 0.5), layout="constrained")
    for r in range(len(x)):
        p = probs[picks[r], classes[r]]
        cells = [
            ("input", x[r]),
            (f"d z_c / dx\nnorm {np.linalg.norm(g_logit[r]):.3g}", g_logit[r]),
            (f"d p_c / dx, p_c = {p:.6f}\nnorm {np.linalg.norm(g_prob[r]):.3g}", g_prob[r]),
        ]
        for k, (title, a) in enumerate(cells):
            ax = fig.add_subplot(len(x), 3, 3 * r + k + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.imshow(a, interpolation="nearest")
                ax.set_ylabel(ctx.names[classes[r]], fontsize=8)
            else:  # each map on its own scale, so its structure shows; the norm says its size
                pic = explain.normalize_percentile(explain.channel_max_abs(a)[None])[0]
                ax.imshow(pic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title, fontsize=8)
    fig.suptitle(
        "Logit vs softmax probability: the probability's map shrinks as p_c -> 1", fontsize=10
    )
    return fig


def fig_percentile(ctx) -> Figure:
    """One outlier decides a min-max picture; the 99th-percentile clip does not care."""
    idx = _first_correct(ctx, [1])
    x, c = ctx.x[idx], int(ctx.y[idx][0])
    g = np.array(explain.gradient(ctx.model, x, c))
    spiked = g.copy()
    spiked[0, 3, 3, :] = 50 * np.abs(g).max()  # one huge value, as a dead-pixel artefact
    panels = [
        ("gradient, min-max", explain.normalize_minmax(explain.channel_max_abs(g))[0]),
        ("+ one outlier, min-max", explain.normalize_minmax(explain.channel_max_abs(spiked))[0]),
        ("+ one outlier, 99th pct.", explain.normalize_percentile(spiked)[0]),
    ]
    fig = Figure(figsize=(7.6, 2.4), layout="constrained")
    ax = fig.add_subplot(1, 4, 1)
    ax.imshow(x[0], interpolation="nearest")
    ax.set_title("input", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    for k, (title, a) in enumerate(panels):
        ax = fig.add_subplot(1, 4, k + 2)
        ax.imshow(a, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Display normalisation: why percentile clipping", fontsize=10)
    return fig


def fig_trace(ctx) -> Figure:
    idx = _first_correct(ctx, [4])
    t = explain.trace(ctx.model, ctx.x[idx[0]], int(ctx.y[idx[0]]))
    return plot.plot_trace(
        t, title=f"One '{ctx.names[int(ctx.y[idx[0]])]}': the three rules, layer by layer"
    )


def fig_zeiler_fergus(ctx) -> Figure:
    # picked by looking at the top-4 of all 32 channels of the shipped model: vertical,
    # horizontal and diagonal stripes, corners (a retrained model needs a new pick)
    channels = [22, 18, 5, 17] if not ctx.quick else [22]
    tops = explain.top_projections(
        ctx.model, ctx.x, "pool2", channels, k=9, batch_size=100, progress=False
    )
    return plot.plot_top_projections(
        tops, title=f"Zeiler & Fergus top-9 of pool2 over {len(ctx.x)} test images"
    )


def fig_unpooling(ctx) -> Figure:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        from matplotlib.image import imread

        img = imread(f, format="jpg").astype(np.float64) / 255.0
    img = img[::4, ::4] if ctx.quick else img[::2, ::2]  # 300x256: single pixels stay visible
    exp = explain.unpooling_experiment(img, levels=4)
    return plot.plot_unpooling(exp, zoom=40)


FIGURES = {
    "im2col": fig_im2col,
    "padding": fig_padding,
    "switches": fig_switches,
    "relu_rules": fig_relu_rules,
    "shapes": fig_shapes,
    "filters": fig_filters,
    "methods": fig_methods,
    "smoothgrad_levels": fig_smoothgrad_levels,
    "softmax_vs_logit": fig_softmax_vs_logit,
    "percentile": fig_percentile,
    "trace": fig_trace,
    "zeiler_fergus": fig_zeiler_fergus,
    "unpooling": fig_unpooling,
}


def main(argv=None) -> list[Path]:
    """Draw every figure (or ``--only NAME ...``); returns the paths written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "figures"), help="output folder")
    parser.add_argument("--quick", action="store_true", help="small and fast (for tests)")
    parser.add_argument("--weights", default=None, help="a demo-model .weights.h5 file")
    parser.add_argument("--only", nargs="*", choices=sorted(FIGURES), help="some figures")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = make_context(args.quick, args.weights)
    written = []
    for name in args.only or FIGURES:
        fig = FIGURES[name](ctx)
        path = out / f"{name}.png"
        save_small(fig, path, dpi=60 if args.quick else DPI)
        written.append(path)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return written


def save_small(fig: Figure, path: Path, dpi: int) -> None:
    """Save as a 256-colour PNG: a third of the size of matplotlib's RGBA, the same look."""
    from PIL import Image  # matplotlib's own dependency

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    image = Image.open(buffer).convert("RGB")
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(os.fspath(path), optimize=True)


if __name__ == "__main__":
    main()
