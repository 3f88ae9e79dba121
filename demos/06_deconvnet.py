"""06 - The DeconvNet, written out layer by layer, and why it needs switches.

What it teaches
    Zeiler & Fergus attach a "deconvnet" to the network: starting from one
    activation (or a class score) it goes back down to pixels, undoing each
    layer in turn::

        max-pool -> unpool through the stored switches
        ReLU     -> rectify the signal: max(g, 0)   (independent of the forward pass)
        conv     -> filter with the transposed filters (demo 02)
        dense    -> multiply by W^T

    Here that loop is a dozen lines over the demo model's layers, checked
    against ``minidecnn.explain.deconvnet`` (identical to the last bit). Then the
    switches are taken away -- each value goes to the top-left cell of its window,
    the original tutorial's CPU "heuristic" -- and the loop is run again:

    * explaining a class logit, the ReLUs no longer look at the forward pass, so
      *nothing* depends on the image any more: four different images give
      exactly the same map (the max difference is printed: 0), a grid-like
      pattern of the class weights. With switches, each map follows the edges of
      its own image.
    * projecting a single strong relu3 unit, as Zeiler & Fergus do, the fixed
      switches still know where the unit sits, but not where inside each pool
      window the evidence was: the projection becomes a regular lattice instead
      of the image's edges.

    So the image enters a DeconvNet through the switches (and the starting
    activation) only -- which is why Springenberg et al. needed something else
    (Guided Backprop, demo 05) for networks without max-pooling.

Papers
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014, section 2.1. J. T. Springenberg et al. Striving for Simplicity:
    The All Convolutional Net. ICLR Workshop 2015 (arXiv:1412.6806).

Run
    python demos/06_deconvnet.py [--out DIR] [--quick]

Writes ``class_maps.png`` (one class explained on different images, with and
without switches) and ``unit_projections.png`` (the strongest relu3 unit of each
image, with and without switches).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from minidecnn import explain
from minidecnn.demo_model import demo_data, load_demo_model
from minidecnn.explain.unpooling import unpool_top_left
from minidecnn.layers import MaxPool2D

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


def deconvnet_by_hand(model, x, start: str, top: np.ndarray, switches: bool = True):
    """Send ``top`` (shaped like the output of layer ``start``) down to the pixels.

    ``model`` is a Sequential model; its forward pass on ``x`` provides the switches
    (and nothing else: no ReLU mask is used). With ``switches=False`` every max-pool
    is undone by putting each value at the top-left cell of its window instead.
    """
    model.forward(x)  # records each max-pool's switches and input shape
    layers = model.layers[: [layer.name for layer in model.layers].index(start) + 1]
    signal = top
    for layer in reversed(layers):
        if isinstance(layer, MaxPool2D) and not switches:
            _, H, W, _ = layer.x_shape
            signal = unpool_top_left(signal, H, W)  # a fixed switch: where was the max? unknown
        else:
            signal = layer.deconv(signal)  # unpool (switches), rectify (ReLU), transpose
    return signal


def strongest_unit_signal(model, x, layer):
    """Zeiler & Fergus's start: each image's strongest activation of ``layer``, alone."""
    model.forward(x)
    a = model.activations[layer]
    top = np.zeros_like(a)
    flat = a.reshape(len(a), -1).argmax(axis=1)
    for n, k in enumerate(flat):
        index = np.unravel_index(k, a.shape[1:])
        top[(n, *index)] = a[(n, *index)]  # keep its value, zero everything else
    return top


def signed_rgb(m) -> np.ndarray:
    """A signed map as a picture: 0 -> grey, the largest |value| -> black or white."""
    v = float(np.abs(m).max()) or 1.0
    return np.clip(0.5 + 0.5 * np.asarray(m) / v, 0, 1)


def figure(images, columns, title, save):
    N = len(images)
    fig = Figure(figsize=(1.7 * (len(columns) + 1), 1.75 * N + 0.6), layout="constrained")
    for n in range(N):
        ax = fig.add_subplot(N, len(columns) + 1, n * (len(columns) + 1) + 1)
        ax.imshow(images[n], interpolation="nearest")
        ax.set_axis_off()
        if n == 0:
            ax.set_title("input", fontsize=8)
        for k, (name, maps) in enumerate(columns):
            ax = fig.add_subplot(N, len(columns) + 1, n * (len(columns) + 1) + k + 2)
            ax.imshow(signed_rgb(maps[n]), interpolation="nearest")
            ax.set_axis_off()
            if n == 0:
                ax.set_title(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(save, dpi=110)


def spread(maps) -> float:
    """Largest difference between any image's map and the first image's map."""
    return float(np.abs(maps - maps[:1]).max())


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_demo_model()
    names = list(model.class_names)
    x, y, _ = demo_data(60, "test")
    wanted = ["square", "circle"] if args.quick else ["square", "circle", "frame", "hstripes"]
    images = x[[int(np.flatnonzero(y == names.index(w))[0]) for w in wanted]]
    N = len(images)

    # 1. one class, explained on different images
    c = names.index("square")
    top = np.zeros((N, len(names)), images.dtype)
    top[:, c] = 1.0  # the logit of "square", for every image
    with_sw = deconvnet_by_hand(model, images, "fc2", top)
    library = explain.deconvnet(model, images, target=c)
    no_sw = deconvnet_by_hand(model, images, "fc2", top, switches=False)
    guided = explain.guided_backprop(model, images, target=c)
    print(f"DeconvNet by hand vs explain.deconvnet: max |diff| {np.abs(with_sw - library).max()}")
    print(f"class 'square' explained on {N} different images; largest difference between maps:")
    print(f"  with switches     {spread(with_sw):.3g}")
    print(f"  fixed top-left    {spread(no_sw):.3g}   (the image no longer matters)")
    figure(
        images,
        [("DeconvNet\nwith switches", with_sw), ("DeconvNet, fixed\ntop-left switches", no_sw),
         ("guided backprop\n(no switches needed)", guided)],
        "The logit of 'square' projected to pixels for each image:\nwithout switches the "
        "DeconvNet is blind to the image",
        out / "class_maps.png",
    )  # fmt: skip

    # 2. the strongest relu3 unit of each image (Zeiler & Fergus's projections)
    unit = strongest_unit_signal(model, images, "relu3")
    u_sw = deconvnet_by_hand(model, images, "relu3", unit)
    u_lib = explain.deconvnet(model, images, target=None, layer="relu3")
    u_no = deconvnet_by_hand(model, images, "relu3", unit, switches=False)
    print(
        f"relu3 unit projections by hand vs the library: max |diff| {np.abs(u_sw - u_lib).max()}"
    )
    figure(
        images,
        [("strongest relu3 unit,\nwith switches", u_sw),
         ("the same unit, fixed\ntop-left switches", u_no)],
        "Zeiler & Fergus projections of each image's strongest relu3 activation",
        out / "unit_projections.png",
    )  # fmt: skip
    print(f"wrote 2 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
