"""03 - Vanilla backprop: Simonyan et al.'s gradient saliency map for the top five classes.

What it teaches
    The saliency of class ``c`` is the gradient of its score with respect to the
    input pixels, ``w = dS_c/dx``: the first-order Taylor coefficient of the score
    around this image, computed with one backward pass. Simonyan et al. show
    ``M[i, j] = max_c |w[i, j, c]|`` (the largest magnitude over the colour
    channels). Here the embedded demo model (trained on the shapes data set)
    explains each of its five most likely classes for a few test images. The
    map of the predicted class gathers on the shape and along its edges rather
    than on the background -- over the solid shapes of the test set, about 40 %
    of the saliency falls on the quarter of the image the shape covers (printed)
    -- but it is speckled: the gradient of a ReLU network is piecewise constant
    and jumps from pixel to pixel, the noise SmoothGrad (demo 04) averages away.
    The maps of the other four classes look at the same image differently.

    Which score? Simonyan et al. differentiate the *logit* ``z_c`` (the score
    before the softmax). The original Keras tutorial differentiated the softmax
    *probability* ``p_c`` (divided by 1000). Because
    ``dp_c/dx = p_c (dz_c/dx - sum_j p_j dz_j/dx)``, that map mixes in the other
    classes and shrinks towards zero as ``p_c -> 1``: the second figure shows it
    next to the logit's map, on the same scale and on its own.

Paper
    K. Simonyan, A. Vedaldi, A. Zisserman. Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps. ICLR Workshop 2014
    (arXiv:1312.6034), section 3.

Run
    python demos/03_vanilla_backprop.py [--out DIR] [--quick]

Writes ``saliency_top5.png`` (one row per image: the input and the map of each of
its five most likely classes) and ``logit_vs_probability.png``.
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

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode
SHAPE_CLASSES = ("square", "circle", "triangle", "cross", "frame")  # solid shapes on a background


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


def pick_images(x, y, names, wanted):
    """The first test image of each wanted class name."""
    rows = [int(np.flatnonzero(y == names.index(w))[0]) for w in wanted]
    return x[rows], y[rows]


def shape_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of a solid shape: farther from the background colour than half the contrast.

    The background colour is the median of the border pixels (the shapes of the data
    set lie inside the image, so the border is background).
    """
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    distance = np.linalg.norm(image - np.median(border, axis=0), axis=-1)
    return distance > 0.5 * distance.max()


def on_shape_share(heat: np.ndarray, mask: np.ndarray) -> float:
    """Share of the saliency mass on the shape and the one-pixel band around it (its edges)."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return float(heat[grown].sum() / heat.sum()), float(grown.mean())


def figure_top5(model, images, labels, names, save):
    """Rows: images; columns: the input, then the saliency of each of the top-5 classes.

    Solid shapes get their outline drawn in red on every map.
    """
    outline = [
        shape_mask(im) if names[c] in SHAPE_CLASSES else None for im, c in zip(images, labels)
    ]
    model.forward(images)
    z = model.activations[model.logits]
    p = softmax(z)
    top = np.argsort(-z, axis=1)[:, :5]  # (N, 5) classes, most likely first
    N = len(images)
    batch = np.repeat(images, 5, axis=0)  # image n, five times: one row per class
    grads = explain.gradient(model, batch, target=[int(c) for c in top.ravel()])
    heat = explain.channel_max_abs(grads).reshape(N, 5, *images.shape[1:3])
    fig = Figure(figsize=(1.65 * 6, 1.75 * N + 0.5), layout="constrained")
    for n in range(N):
        ax = fig.add_subplot(N, 6, 6 * n + 1)
        ax.imshow(images[n], interpolation="nearest")
        ax.set_axis_off()
        if n == 0:
            ax.set_title("input", fontsize=8)
        for k in range(5):
            c = top[n, k]
            ax = fig.add_subplot(N, 6, 6 * n + k + 2)
            ax.imshow(heat[n, k], cmap="gray", vmin=0, vmax=np.percentile(heat[n, k], 99.5))
            if outline[n] is not None:
                ax.contour(outline[n], levels=[0.5], colors="tab:red", linewidths=0.6)
            ax.set_title(f"#{k + 1} {names[c]}  p={p[n, c]:.3f}", fontsize=7)
            ax.set_axis_off()
    fig.suptitle(
        "Gradient saliency max_c |dz_c/dx| for each image's five most likely classes "
        "(each map on its own scale; red: the shape's outline)",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)
    return top, p, heat


def figure_logit_vs_probability(model, images, names, save):
    """The logit's gradient next to the probability's (the tutorial's choice)."""
    g_logit = explain.gradient(model, images, target=None)
    g_prob = explain.gradient(model, images, target=None, probability=True)
    h_logit = explain.channel_max_abs(g_logit)
    h_prob = explain.channel_max_abs(g_prob)
    model.forward(images)
    p = softmax(model.activations[model.logits])
    pred = p.argmax(axis=1)
    N = len(images)
    fig = Figure(figsize=(8.2, 1.85 * N + 0.6), layout="constrained")
    rows = []
    for n in range(N):
        c = pred[n]
        nl, np_ = float(np.linalg.norm(g_logit[n])), float(np.linalg.norm(g_prob[n]))
        rows.append((names[c], p[n, c], nl, np_))
        vmax = float(h_logit[n].max())
        panels = [
            (images[n], f"{names[c]}, p = {p[n, c]:.4f}", None),
            (h_logit[n], f"dz_c/dx (logit)\n||.|| = {nl:.3g}", vmax),
            (h_prob[n], f"dp_c/dx, same scale\n||.|| = {np_:.2g}", vmax),
            (h_prob[n], "dp_c/dx, own scale", float(h_prob[n].max()) or 1.0),
        ]
        for k, (a, title, v) in enumerate(panels):
            ax = fig.add_subplot(N, 4, 4 * n + k + 1)
            if v is None:
                ax.imshow(a, interpolation="nearest")
            else:
                ax.imshow(a, cmap="gray", vmin=0, vmax=v)
            ax.set_title(title, fontsize=7)
            ax.set_axis_off()
    fig.suptitle(
        "Explain the logit, not the probability: dp_c/dx = p_c (dz_c/dx - sum_j p_j dz_j/dx) "
        "vanishes as p_c -> 1",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_demo_model()
    names = list(model.class_names)
    x, y, _ = demo_data(50 if args.quick else 200, "test")
    wanted = ["triangle", "vstripes"] if args.quick else [
        "square", "triangle", "cross", "frame", "vstripes", "checkerboard"
    ]  # fmt: skip
    images, labels = pick_images(x, y, names, wanted)

    top, p, heat = figure_top5(model, images, labels, names, out / "saliency_top5.png")
    print(f"{'image':>12}  top-5 classes (probability)")
    for n, label in enumerate(labels):
        ranked = ", ".join(f"{names[c]} {p[n, c]:.3f}" for c in top[n])
        print(f"{names[label]:>12}  {ranked}")

    print("share of the predicted class's saliency on the shape and its edges:")
    for n, label in enumerate(labels):
        if names[label] in SHAPE_CLASSES:
            share, area = on_shape_share(heat[n, 0], shape_mask(images[n]))
            print(f"{names[label]:>12}  {share:.0%} of the saliency on {area:.0%} of the image")
    solid = np.isin(y, [names.index(c) for c in SHAPE_CLASSES])
    maps = explain.channel_max_abs(explain.gradient(model, x[solid], target=None))
    shares = np.array([on_shape_share(m, shape_mask(im)) for m, im in zip(maps, x[solid])])
    print(
        f"over all {solid.sum()} solid shapes of the {len(x)} test images: on average "
        f"{shares[:, 0].mean():.0%} of the saliency on {shares[:, 1].mean():.0%} of the image"
    )

    rows = figure_logit_vs_probability(model, images, names, out / "logit_vs_probability.png")
    print(f"{'class':>12}  {'p_c':>7}  {'||dz_c/dx||':>11}  {'||dp_c/dx||':>11}")
    for name, pc, nl, np_ in rows:
        print(f"{name:>12}  {pc:7.4f}  {nl:11.3g}  {np_:11.3g}")
    print(f"wrote 2 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
