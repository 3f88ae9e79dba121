"""10 - Sanity checks for saliency maps: weight randomisation and class sensitivity.

What it teaches
    A map that explains the *model* should change when the model changes, and a
    map that explains a *class* should change with the class. Three tests:

    1. Cascading weight randomisation (Adebayo et al.). Re-initialise the demo
       model's layers one by one, from the logits down (fc2, then fc1, conv3,
       conv2, conv1), and compare each map with the trained model's map (Spearman
       rank correlation of the absolute values, mean over test images). The
       gradient, Gradient x Input and Grad-CAM change as soon as the top layer is
       random (their correlation drops to about 0.6 or less, Grad-CAM's much
       lower) and keep changing -- they pass. Guided Backprop (about 0.9) and
       the DeconvNet keep drawing the same edges until the convolutions
       themselves are random: they are nearly blind to the upper layers, so they
       cannot be explaining what those layers learned.
    2. Class sensitivity (Nie et al.). Explain every one of the ten classes for
       the same image. The gradient's ten maps differ (evidence for a square is
       not evidence for a circle); Guided Backprop's and the DeconvNet's ten maps
       are nearly the same picture.
    3. Image recovery (Nie et al.). A network with *random* weights -- one 7x7
       convolution with 64 filters, ReLU, a 9x9 max-pool with stride 1 and a
       dense layer -- has learned nothing, yet its Guided Backprop map of Grace
       Hopper's face is a recognisable portrait (correlation with the image
       about 0.9 without the max-pool); the DeconvNet recovers the image only
       when the max-pool's switches are there to guide it; the gradient is
       noise. Backward ReLU rectification plus local connections recover the
       image whatever the weights.

    Together: Guided Backprop and the DeconvNet show what is *in the image* (as
    seen through the first layers and the switches) far more than what the
    network *decides*.

Papers
    J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim. Sanity
    Checks for Saliency Maps. NeurIPS 2018 (arXiv:1810.03292).
    W. Nie, Y. Zhang, A. Patel. A Theoretical Explanation for Perplexing
    Behaviors of Backpropagation-based Visualizations. ICML 2018 (arXiv:1805.07039).

Run
    python demos/10_sanity_checks.py [--out DIR] [--quick]

Writes ``randomisation_maps.png``, ``randomisation_curves.png``,
``class_sensitivity.png`` and ``random_network_recovery.png``.
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

import minidecnn as mdc
from minidecnn import explain
from minidecnn.demo_model import demo_data, load_demo_model
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode
CASCADE = ["fc2", "fc1", "conv3", "conv2", "conv1"]  # from the logits down
METHODS = {  # name -> (function, how to show its maps)
    "gradient": (explain.gradient, "abs"),
    "gradient x input": (explain.gradient_x_input, "abs"),
    "Grad-CAM": (explain.grad_cam, "abs"),
    "guided backprop": (explain.guided_backprop, "signed"),
    "DeconvNet": (explain.deconvnet, "signed"),
}


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


def rankdata(v) -> np.ndarray:
    """Ranks 0..n-1 of a flat array; tied values share their average rank."""
    v = np.ravel(v)
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=r) / counts)[inverse]


def spearman(a, b) -> float:
    """Spearman rank correlation (Pearson correlation of the ranks)."""
    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def pearson(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def picture(m, how) -> np.ndarray:
    """A map as a picture: ``abs`` -> max_c |.| in grey, ``signed`` -> 0 at mid-grey."""
    m = np.asarray(m, np.float64)
    if how == "abs":
        h = np.abs(m) if m.ndim == 2 else np.abs(m).max(axis=-1)
        cap = np.percentile(h, 99.5) or 1.0
        return np.repeat(np.clip(h / cap, 0, 1)[..., None], 3, axis=-1)
    v = float(np.abs(m).max()) or 1.0
    return np.clip(0.5 + 0.5 * m / v, 0, 1)


def magnitude(m) -> np.ndarray:
    """Per-pixel magnitude used for the rank correlations: sum_c |.| (Grad-CAM: itself)."""
    m = np.abs(np.asarray(m, np.float64))
    return m if m.ndim == 3 else m.sum(axis=-1)


# ----------------------------------------------------------------------------- 1. randomisation


def cascading_randomisation(images, classes, seed):
    """Maps of every method for the trained model and after each cascade step."""
    model = load_demo_model()  # a fresh copy: its weights are overwritten below
    stages = ["trained"] + [f"+ {name}" for name in CASCADE]
    maps = {m: [] for m in METHODS}
    for k in range(len(stages)):
        if k > 0:
            model.reinitialize(seed=seed + k, layers=[CASCADE[k - 1]])  # cumulative
        for name, (method, _) in METHODS.items():
            maps[name].append(np.asarray(method(model, images, target=classes)))
    similarity = {}
    for name, per_stage in maps.items():
        trained = per_stage[0]
        similarity[name] = [
            float(np.mean([spearman(magnitude(m), magnitude(t)) for m, t in zip(s, trained)]))
            for s in per_stage
        ]
    return stages, maps, similarity


def figure_randomisation(image, stages, maps, save):
    fig = Figure(figsize=(1.5 * (len(stages) + 1), 1.6 * len(METHODS) + 0.7), layout="constrained")
    cols = len(stages) + 1
    for r, (name, per_stage) in enumerate(maps.items()):
        ax = fig.add_subplot(len(METHODS), cols, r * cols + 1)
        ax.imshow(image, interpolation="nearest")
        ax.set_ylabel(name, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for k in range(len(stages)):
            ax = fig.add_subplot(len(METHODS), cols, r * cols + k + 2)
            ax.imshow(picture(per_stage[k][0], METHODS[name][1]), interpolation="nearest")
            ax.set_axis_off()
            if r == 0:
                ax.set_title("trained" if k == 0 else f"random from\n{CASCADE[k - 1]} up",
                             fontsize=8)  # fmt: skip
    fig.suptitle(
        "Cascading randomisation: the trained model's layers replaced by random ones, "
        "from the logits down",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)


def figure_curves(stages, similarity, save):
    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name, values in similarity.items():
        style = "--" if name in ("guided backprop", "DeconvNet") else "-"
        ax.plot(range(len(stages)), values, style, marker="o", label=name)
    ax.set_xticks(range(len(stages)), ["trained"] + [f"+{n}" for n in CASCADE])
    ax.set_xlabel("layers re-initialised (cumulative, from the top)")
    ax.set_ylabel("Spearman rank correlation\nwith the trained model's |map|")
    ax.set_ylim(-0.1, 1.05)
    ax.axhline(0, color="k", lw=0.6)
    ax.legend(fontsize=8)
    ax.set_title("Which maps notice that the model was destroyed?", fontsize=9)
    fig.savefig(save, dpi=110)


# ----------------------------------------------------------------------------- 2. classes


def figure_classes(model, image, names, save):
    classes = list(range(len(names)))
    batch = np.repeat(image[None], len(classes), axis=0)
    rows = {
        "gradient": ("abs", explain.gradient(model, batch, target=classes)),
        "guided backprop": ("signed", explain.guided_backprop(model, batch, target=classes)),
        "DeconvNet": ("signed", explain.deconvnet(model, batch, target=classes)),
    }
    fig = Figure(figsize=(1.25 * (len(classes) + 1), 1.45 * len(rows) + 0.6),
                 layout="constrained")  # fmt: skip
    mean_similarity = {}
    cols = len(classes) + 1
    for r, (name, (how, maps)) in enumerate(rows.items()):
        pairs = [spearman(maps[i], maps[j]) for i in classes for j in classes if i < j]
        mean_similarity[name] = float(np.mean(pairs))
        ax = fig.add_subplot(len(rows), cols, r * cols + 1)
        ax.imshow(image, interpolation="nearest")
        ax.set_ylabel(f"{name}\nmean rank corr.\n{mean_similarity[name]:.2f}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        for c in classes:
            ax = fig.add_subplot(len(rows), cols, r * cols + c + 2)
            ax.imshow(picture(maps[c], how), interpolation="nearest")
            ax.set_axis_off()
            if r == 0:
                ax.set_title(names[c], fontsize=7)
    fig.suptitle("The same image explained for each of the ten classes", fontsize=9)
    fig.savefig(save, dpi=110)
    return mean_similarity


# ----------------------------------------------------------------------------- 3. recovery


def grace_hopper(size: int) -> np.ndarray:
    """Matplotlib's photo: the face, block-averaged to ``size x size``, mean removed."""
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    photo = imread(path).astype(np.float64)[100:484, 64:448] / 255.0  # 384 x 384
    k = 384 // size
    small = photo[: size * k, : size * k].reshape(size, k, size, k, 3).mean(axis=(1, 3))
    return (small - small.mean()).astype(np.float32)  # centred, as a network's input usually is


def random_network(size, pool=True, seed=7):
    """Nie et al.'s random CNN: conv 7x7x64 -> ReLU -> [max-pool 9x9, stride 1] -> dense 100."""
    layers = [mdc.Input((size, size, 3)), Conv2D(64, 7, padding="same", seed=seed), ReLU()]
    if pool:
        layers.append(MaxPool2D(9, strides=1, padding="same"))
    layers += [Flatten(), Dense(100, seed=seed + 1)]
    return mdc.Sequential(layers)


def figure_recovery(image, save):
    """Rows: the random net with and without its max-pool; columns: the three rules."""
    rules = {"gradient": explain.gradient, "guided backprop": explain.guided_backprop,
             "DeconvNet": explain.deconvnet}  # fmt: skip
    nets = {"with the max-pool": random_network(len(image)),
            "without the max-pool": random_network(len(image), pool=False)}  # fmt: skip
    brightness = image.sum(axis=-1)
    fig = Figure(figsize=(1.9 * 4, 2.0 * len(nets) + 0.6), layout="constrained")
    table = {}
    for r, (net_name, net) in enumerate(nets.items()):
        ax = fig.add_subplot(len(nets), 4, 4 * r + 1)
        ax.imshow(np.clip(image - image.min(), 0, None) / np.ptp(image), interpolation="nearest")
        ax.set_ylabel(f"random net,\n{net_name}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for k, (rule, method) in enumerate(rules.items()):
            m = np.asarray(method(net, image[None], target=None))[0].sum(axis=-1)  # top logit
            table[(net_name, rule)] = pearson(m, brightness)
            ax = fig.add_subplot(len(nets), 4, 4 * r + k + 2)
            ax.imshow(m, cmap="gray", interpolation="nearest")
            ax.set_title(f"{rule}\nr = {table[(net_name, rule)]:.2f}", fontsize=8)
            ax.set_axis_off()
    fig.suptitle(
        "Untrained random weights (conv 7x7x64, ReLU, [max-pool 9x9/1], dense 100): maps of the "
        "top logit\nsummed over colour channels; r = correlation with the image's brightness",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)
    return table


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_demo_model()
    names = list(model.class_names)
    x, y, _ = demo_data(60, "test")
    count = 2 if args.quick else 8
    rows = [int(np.flatnonzero(y == c)[0]) for c in range(len(names))][:count]
    images = x[rows]
    model.forward(images)
    classes = [int(c) for c in model.activations[model.logits].argmax(axis=1)]

    stages, maps, similarity = cascading_randomisation(images, classes, seed=100)
    figure_randomisation(images[0], stages, maps, out / "randomisation_maps.png")
    figure_curves(stages, similarity, out / "randomisation_curves.png")
    print(f"1. cascading randomisation: mean Spearman correlation with the trained maps "
          f"({len(images)} images)")  # fmt: skip
    print(f"{'method':>18}  " + "  ".join(f"{s:>8}" for s in ["trained", *CASCADE]))
    for name, values in similarity.items():
        print(f"{name:>18}  " + "  ".join(f"{v:8.2f}" for v in values))

    sims = figure_classes(model, images[2 % len(images)], names, out / "class_sensitivity.png")
    print("2. class sensitivity: mean Spearman correlation between the maps of two classes")
    for name, value in sims.items():
        print(f"{name:>18}  {value:.2f}")

    table = figure_recovery(grace_hopper(32 if args.quick else 64),
                            out / "random_network_recovery.png")  # fmt: skip
    print("3. random network: correlation of the channel-summed map with the image's brightness")
    for (net, rule), value in table.items():
        print(f"{net:>22}  {rule:>16}  {value:.2f}")
    print(f"wrote 4 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
