"""05 - Guided Backpropagation: the gradient's mask and the DeconvNet's rectification together.

What it teaches
    The gradient, the DeconvNet and Guided Backprop send the same top signal down
    the same layers; they differ only at a ReLU ``a = max(z, 0)``, for a signal
    ``g`` arriving at ``a``::

        gradient (Simonyan)           g * 1[z > 0]              forward mask
        DeconvNet (Zeiler & Fergus)   max(g, 0)                 backward rectification
        guided (Springenberg)         max(g, 0) * 1[z > 0]      both

    Guided Backprop lets a signal through only where the unit was active *and*
    the signal from above is positive, so only evidence *for* the explained unit
    reaches the pixels. On the demo model its maps are sharp pictures of the
    shape's edges and stripes, where the gradient is speckled. But they hardly
    change when you explain another class: the guided map of the least likely
    class looks like that of the predicted one (rank correlation about 0.9,
    printed), while the gradient of the least likely class is closer to the
    *negative* of the predicted class's (evidence for one class is evidence
    against the other; the figure shows magnitudes, so the two gradient maps
    look alike there, but their signs are opposite). Demo 10 measures this
    properly.

    ``trace.png`` follows one backward pass layer by layer (the three rules are
    identical above the first ReLU and part ways below it), and ``units.png``
    shows what Springenberg et al. used the method for: projecting single units
    of a higher layer (relu3) to pixels, next to the image patches that drive
    them and the DeconvNet's projections.

Paper
    J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. Striving for
    Simplicity: The All Convolutional Net. ICLR Workshop 2015 (arXiv:1412.6806),
    section 3.4 -- the paper the original tutorial links to.

Run
    python demos/05_guided_backprop.py [--out DIR] [--quick]

Writes ``guided_vs_gradient.png``, ``trace.png`` and ``units.png``.
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
from minidecnn.explain.targets import softmax
from minidecnn.plot import plot_trace

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


def spearman(a, b) -> float:
    """Spearman rank correlation of two maps (ties get their average rank)."""

    def ranks(v):
        v = np.ravel(v)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=r)
        return (sums / counts)[inverse]  # average rank within each group of ties

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def signed_rgb(m) -> np.ndarray:
    """A signed map as a picture: 0 -> grey, the largest |value| -> black or white."""
    m = np.asarray(m, np.float64)
    v = float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 0.0
    out = 0.5 + 0.5 * m / (v or 1.0)
    return np.where(np.isnan(out), 1.0, np.clip(out, 0, 1))  # outside the image: white


def figure_guided_vs_gradient(model, images, names, save):
    model.forward(images)
    p = softmax(model.activations[model.logits])
    top, bottom = p.argmax(axis=1).tolist(), p.argmin(axis=1).tolist()
    maps = {
        "gradient top": explain.gradient(model, images, target=top),
        "gradient bottom": explain.gradient(model, images, target=bottom),
        "guided top": explain.guided_backprop(model, images, target=top),
        "guided bottom": explain.guided_backprop(model, images, target=bottom),
    }
    N = len(images)
    fig = Figure(figsize=(1.6 * 5, 1.7 * N + 0.6), layout="constrained")
    similarity = []
    for n in range(N):
        g_top, g_bot = maps["gradient top"][n], maps["gradient bottom"][n]
        b_top, b_bot = maps["guided top"][n], maps["guided bottom"][n]
        similarity.append((spearman(g_top, g_bot), spearman(b_top, b_bot)))
        panels = [
            (images[n], "input"),
            (explain.channel_max_abs(g_top), f"gradient, {names[top[n]]}\nmax_c |.|"),
            (explain.channel_max_abs(g_bot), f"gradient, {names[bottom[n]]}\n(least likely)"),
            (signed_rgb(b_top), f"guided, {names[top[n]]}\n(predicted)"),
            (signed_rgb(b_bot), f"guided, {names[bottom[n]]}\n(least likely)"),
        ]
        for k, (a, title) in enumerate(panels):
            ax = fig.add_subplot(N, 5, 5 * n + k + 1)
            if a.ndim == 2:
                ax.imshow(a, cmap="gray", vmin=0, vmax=np.percentile(a, 99.5))
            else:
                ax.imshow(a, interpolation="nearest")
            ax.set_title(title, fontsize=7)
            ax.set_axis_off()
    fig.suptitle(
        "Guided Backprop draws the edges the network uses -- for any class it is asked about",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)
    return top, bottom, np.array(similarity)


def strongest_channels(model, data, layer, count):
    """The channels of ``layer`` with the largest mean (over images) of their maximum."""
    model.forward(data)
    a = model.activations[layer]  # (N, H, W, C)
    score = a.max(axis=(1, 2)).mean(axis=0)
    return [int(c) for c in np.argsort(-score)[:count]]


def figure_units(model, data, layer, channels, k, save):
    """Per channel: the top-k patches, their DeconvNet and their guided projections."""
    deconv = explain.top_projections(model, data, layer, channels, k=k, progress=False)
    guided = explain.top_projections(model, data, layer, channels, k=k, rule="guided",
                                     progress=False)  # fmt: skip
    fig = Figure(figsize=(1.0 * k * 3 * 0.55 + 0.8, 0.75 * len(channels) + 0.7))
    grid = fig.add_gridspec(len(channels), 3 * k + 2, wspace=0.05, hspace=0.15)
    for r, (c, d, g) in enumerate(zip(channels, deconv, guided)):
        groups = [
            ("patches", [b.crop(im, fill=np.nan) for b, im in zip(d.full_boxes, d.images)]),
            ("DeconvNet", [signed_rgb(b.crop(p, fill=np.nan))
                           for b, p in zip(d.full_boxes, d.projections)]),
            ("guided", [signed_rgb(b.crop(p, fill=np.nan))
                        for b, p in zip(g.full_boxes, g.projections)]),
        ]  # fmt: skip
        for s, (what, tiles) in enumerate(groups):
            for j, tile in enumerate(tiles):
                ax = fig.add_subplot(grid[r, s * (k + 1) + j])
                ax.imshow(np.where(np.isnan(tile), 1.0, tile), interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0 and j == 0:
                    ax.set_title(what, fontsize=8, loc="left")
                if s == 0 and j == 0:
                    ax.set_ylabel(f"ch {c}", fontsize=7)
    fig.suptitle(
        f"{layer}: the top-{k} activations of a few channels, projected alone "
        f"(receptive fields; white = outside the image)",
        fontsize=9,
    )
    fig.savefig(save, dpi=110, bbox_inches="tight")


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_demo_model()
    names = list(model.class_names)
    x, y, _ = demo_data(60 if args.quick else 500, "test")
    per_class = [int(np.flatnonzero(y == c)[0]) for c in range(len(names))]
    images = x[per_class[:3] if args.quick else per_class]

    top, bottom, sim = figure_guided_vs_gradient(
        model, images, names, out / "guided_vs_gradient.png"
    )
    print("rank correlation of the maps for the predicted and the least likely class:")
    print(f"{'image':>13}  {'gradient':>8}  {'guided':>6}")
    for n, (g, b) in enumerate(sim):
        print(f"{names[top[n]]:>13}  {g:8.2f}  {b:6.2f}")
    print(f"{'mean':>13}  {sim[:, 0].mean():8.2f}  {sim[:, 1].mean():6.2f}")

    t = explain.trace(model, images[0], target=top[0])
    print(t)
    plot_trace(t, save=out / "trace.png")

    channels = strongest_channels(model, x, "relu3", 2 if args.quick else 6)
    figure_units(model, x, "relu3", channels, 4 if args.quick else 6, out / "units.png")
    print(f"wrote 3 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
