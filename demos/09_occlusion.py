"""09 - Occlusion sensitivity (Zeiler & Fergus, Fig. 7): is the network looking at the object?

What it teaches
    Slide a grey square over the image and watch what the network does as a
    function of where the square is. Grey is the mean colour of the training
    images (Zeiler & Fergus's "grey" is the data set mean, 0 after mean
    subtraction). For each image, as in the paper's Fig. 7:

    (a) the image, with the square at one position;
    (b) the total activation of the relu3 feature map that is strongest on the
        unoccluded image -- it drops where the square hides what drives it;
    (c) that feature map's strongest activation projected to pixels (DeconvNet);
    (d) the probability of the correct class -- it falls where the square hides
        enough of the shape to change the network's mind (a corner of the
        triangle, half of the circle), not where it covers background;
    (d') the logit of the correct class: the softmax saturates near 1, so the
        probability stays flat until the decision flips, while the logit shows
        the gradual picture -- it is lowest where the square covers the shape;
    (e) the most probable class -- where the square cuts the shape, the network
        sees another one.

    The square is itself a shape in this data set: on the background it adds
    edges of its own, which raise some feature maps (b) and, near the border,
    can even suggest another class. The network is also robust: a cross with its
    centre hidden is still a cross.

    (d) is computed twice, from one batch of occluded copies here and with
    ``minidecnn.explain.occlusion`` (the library's map), and they agree.

Paper
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014, section 4.2 and Fig. 7.

Run
    python demos/09_occlusion.py [--out DIR] [--quick]

Writes ``occlusion.png``: one row per image, columns (a)-(e).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from minidecnn import explain
from minidecnn.demo_model import demo_data, load_demo_model
from minidecnn.explain.occlusion import window_starts
from minidecnn.explain.targets import softmax

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode
PATCH, STRIDE = 12, 2  # the square covers about a third of the image side


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


def occluded_copies(image, fill, starts):
    """Every copy of ``image`` (H, W, C) with a ``PATCH x PATCH`` square of ``fill``."""
    copies = []
    for i in starts:
        for j in starts:
            copy = image.copy()
            copy[i : i + PATCH, j : j + PATCH] = fill
            copies.append(copy)
    return np.stack(copies)  # (len(starts)**2, H, W, C), row-major over (i, j)


def occlusion_study(model, image, label, fill):
    """Zeiler & Fergus's quantities (b), (d), (e) on the grid of square positions."""
    H = image.shape[0]
    starts = window_starts(H, PATCH, STRIDE)
    n = len(starts)
    model.forward(image[None])
    a = model.activations["relu3"][0]
    channel = int(a.max(axis=(0, 1)).argmax())  # the map with the strongest activation
    copies = occluded_copies(image, fill, starts)
    model.forward(copies)
    p = softmax(model.activations[model.logits])
    return {
        "starts": starts,
        "channel": channel,
        "activation": model.activations["relu3"][..., channel].sum(axis=(1, 2)).reshape(n, n),
        "p_true": p[:, label].reshape(n, n),
        "logit": model.activations[model.logits][:, label].reshape(n, n),
        "winner": p.argmax(axis=1).reshape(n, n),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_demo_model()
    names = list(model.class_names)
    train, _, _ = demo_data(500, "train")
    grey = train.mean(axis=(0, 1, 2))  # the mean colour of the training images
    x, y, _ = demo_data(60, "test")
    wanted = ["triangle"] if args.quick else ["triangle", "circle", "cross", "frame"]
    model.forward(x)
    p = softmax(model.activations[model.logits])
    confident = p[np.arange(len(x)), y] > 0.99  # clear examples, so a drop means something
    rows = [int(np.flatnonzero((y == names.index(w)) & confident)[0]) for w in wanted]
    images, labels = x[rows], y[rows]

    colours = ListedColormap(
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    )  # fmt: skip
    N = len(images)
    fig = Figure(figsize=(15, 2.5 * N + 0.9), layout="constrained")
    for r, (image, label) in enumerate(zip(images, labels)):
        study = occlusion_study(model, image, int(label), grey)
        starts = study["starts"]
        lo, hi = (
            starts[0] + PATCH / 2 - STRIDE / 2 - 0.5,
            starts[-1] + PATCH / 2 + STRIDE / 2 - 0.5,
        )
        extent = (lo, hi, hi, lo)  # each grid cell sits at its square's centre
        library = explain.occlusion(model, image[None], target=int(label), patch=PATCH,
                                    stride=STRIDE, fill=grey, probability=True)  # fmt: skip
        model.forward(image[None])
        p_clean = softmax(model.activations[model.logits])[0, label]
        p_library = p_clean - library.aux["grid"][0]  # grid = p(x) - p(x occluded)
        diff = float(np.abs(p_library - study["p_true"]).max())
        projection = explain.deconvnet(model, image[None], target=study["channel"], layer="relu3")
        print(
            f"{names[label]:>9}: p = {p_clean:.3f} unoccluded, lowest {study['p_true'].min():.3f} "
            f"occluded; relu3 map {study['channel']}; library vs here: max |diff| {diff:.1e}"
        )

        ax = fig.add_subplot(N, 6, 6 * r + 1)
        i0 = j0 = starts[len(starts) // 2]
        shown = image.copy()
        shown[i0 : i0 + PATCH, j0 : j0 + PATCH] = grey
        ax.imshow(shown, interpolation="nearest")
        ax.add_patch(Rectangle((j0 - 0.5, i0 - 0.5), PATCH, PATCH, fill=False, ec="w", lw=0.8))
        ax.set_title(f"(a) {names[label]}, one square position", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        k_map = study["channel"]
        panels = [
            (study["activation"], "viridis", f"(b) total activation\nof relu3 map {k_map}"),
            (None, None, f"(c) map {study['channel']}'s strongest\nactivation, projected"),
            (study["p_true"], "magma", f"(d) p({names[label]}) by\nposition of the square"),
            (study["logit"], "magma", f"(d') logit of {names[label]}\nby position"),
            (study["winner"], colours, "(e) most probable class"),
        ]  # fmt: skip
        for k, (grid, cmap, title) in enumerate(panels):
            ax = fig.add_subplot(N, 6, 6 * r + k + 2)
            if grid is None:
                m = projection[0]
                v = float(np.abs(m).max()) or 1.0
                ax.imshow(np.clip(0.5 + 0.5 * m / v, 0, 1), interpolation="nearest")
            elif k == 4:
                ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=9.5, extent=extent)
            else:
                im = ax.imshow(grid, cmap=cmap, extent=extent,
                               vmin=0 if k == 2 else None, vmax=1 if k == 2 else None)  # fmt: skip
                fig.colorbar(im, ax=ax, shrink=0.8)
            ax.set_xlim(-0.5, image.shape[1] - 0.5)
            ax.set_ylim(image.shape[0] - 0.5, -0.5)
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.legend(
        handles=[Patch(color=colours(k), label=n) for k, n in enumerate(names)],
        loc="outside lower center", ncols=10, fontsize=7, title="(e): class", title_fontsize=7,
    )  # fmt: skip
    fig.suptitle(
        f"Occlusion with a {PATCH}x{PATCH} grey square (the training images' mean colour), moved "
        f"{STRIDE} pixels at a time; maps show the value with the square centred there",
        fontsize=9,
    )
    fig.savefig(out / "occlusion.png", dpi=110)
    print(f"wrote occlusion.png to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
