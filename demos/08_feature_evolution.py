"""08 - Zeiler & Fergus, Fig. 4: how the features evolve during training.

What it teaches
    Zeiler & Fergus saved their model during training and, for a fixed set of
    feature maps, projected the single strongest activation over all training
    images at epochs 1, 2, 5, 10, 20, 30, 40 and 64. Lower layers settle within
    a few epochs; higher layers take longer; and where the image holding the
    maximum changes, the projection jumps.

    This script does the same on a training run it makes itself, small enough to
    finish in well under a minute: the demo architecture (``build_demo_model``,
    starting from its seeded random weights) trained on the five *texture*
    classes of the shapes data set (stripes in three orientations,
    checkerboards, dots), 400 images, four short epochs, with a
    ``ModelCheckpoint`` callback that writes a Keras ``.weights.h5`` file before
    training and after every epoch. Then, for four feature maps of relu1 and of
    relu3, it finds the strongest activation over the training images at every
    checkpoint and projects it to pixels with the DeconvNet.

    What to look for: before training (epoch 0) the projections are random
    colour noise -- the untrained filters respond to the pixel noise. Over the
    first epochs most relu1 projections turn into smooth oriented edges between
    two colours; the relu3 ones go through blurry blobs before they become
    stripe and checkerboard detectors, and the image that holds their maximum
    (red when it changes) keeps jumping while they settle -- the paper's
    "sudden jumps". (The full recipe, below, trains 30 times longer.)

    With ``--checkpoints DIR`` the figure is drawn instead from the checkpoints
    of the full training recipe of the shipped model (all ten classes), which
    ``python -m minidecnn.demo_model --out demo.weights.h5 --checkpoint-dir DIR``
    writes (that training takes several minutes).

Paper
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014, section 4.1 and Fig. 4.

Run
    python demos/08_feature_evolution.py [--out DIR] [--quick] [--checkpoints DIR]

Writes ``evolution_relu1.png``, ``evolution_relu3.png``, ``learning_curve.png``
and the checkpoints in ``checkpoints/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from minidecnn.demo_model import build_demo_model, demo_data
from minidecnn.explain import feature_evolution
from minidecnn.plot import plot_feature_evolution
from minidecnn.train import Adam, ModelCheckpoint, evaluate, fit

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode
TEXTURES = ("hstripes", "vstripes", "dstripes", "checkerboard", "dots")


def parse_args(argv=None) -> argparse.Namespace:
    name = Path(__file__).stem
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.path.join("demo_output", name)
    parser.add_argument("--out", default=default, help=f"figure folder (default: {default})")
    parser.add_argument(
        "--quick", action="store_true", help=f"a small, fast run (also: {QUICK_ENV}=1)"
    )
    parser.add_argument(
        "--checkpoints",
        default=None,
        help="a folder of epoch_NN.weights.h5 files written by "
        "'python -m minidecnn.demo_model --checkpoint-dir DIR' (skips the training here)",
    )
    args = parser.parse_args(argv)
    args.quick = args.quick or os.environ.get(QUICK_ENV) == "1"
    return args


def texture_split(n: int, split: str):
    """``n`` images of the texture classes of one split of the demo data set."""
    x, y, names = demo_data(2 * n, split)  # half of the classes are textures
    keep = np.isin(y, [names.index(t) for t in TEXTURES])
    return x[keep][:n], y[keep][:n]


def train_with_checkpoints(folder: Path, n_train: int, epochs: int, verbose: int):
    """Train the demo architecture from scratch, saving the weights at every epoch."""
    x, y = texture_split(n_train, "train")
    model = build_demo_model(seed=0)
    checkpoint = ModelCheckpoint(folder / "epoch_{epoch:02d}.weights.h5", save_initial=True)
    history = fit(model, x, y, epochs=epochs, batch_size=16, optimizer=Adam(3e-3),
                  callbacks=[checkpoint], seed=0, verbose=verbose)  # fmt: skip
    return x, history, checkpoint.saved, model


def load_checkpoint(path) -> object:
    """A demo-architecture model carrying the weights of one checkpoint file."""
    model = build_demo_model()
    model.load_weights(path)
    return model


def pick_channels(model, data, layer, count):
    """Strong feature maps with different favourite images, so the rows differ.

    Channels are ranked by the mean (over images) of their maximum; a channel whose
    strongest image is already some chosen channel's is skipped while others remain.
    """
    model.forward(data)
    a = model.activations[layer]
    ranked = np.argsort(-a.max(axis=(1, 2)).mean(axis=0))
    favourite = a.max(axis=(1, 2)).argmax(axis=0)  # image of each channel's maximum
    chosen, seen = [], set()
    for c in ranked:
        if favourite[c] not in seen:
            chosen.append(int(c))
            seen.add(favourite[c])
        if len(chosen) == count:
            break
    chosen += [int(c) for c in ranked if int(c) not in chosen][: count - len(chosen)]
    return sorted(chosen)


def figure_learning_curve(history, accuracy, save):
    fig = Figure(figsize=(5.5, 3.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    steps = np.arange(1, len(history.batch_loss) + 1)
    ax.plot(steps, history.batch_loss, lw=0.8, label="training loss (per batch)")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy")
    ax.set_title(f"The run behind the checkpoints (test accuracy {accuracy:.0%})", fontsize=9)
    ax.legend(fontsize=8)
    fig.savefig(save, dpi=110)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.checkpoints:
        paths = sorted(str(p) for p in Path(args.checkpoints).glob("epoch_*.weights.h5"))
        if not paths:
            print(f"08_feature_evolution: no epoch_*.weights.h5 files in {args.checkpoints!r}. "
                  f"Write them with: python -m minidecnn.demo_model --out demo.weights.h5 "
                  f"--checkpoint-dir {args.checkpoints}", file=sys.stderr)  # fmt: skip
            return 2
        data, _, _ = demo_data(60 if args.quick else 300, "train")
        final = load_checkpoint(paths[-1])
        what = "the shipped model's full training recipe"
    else:
        n_train, epochs = (48, 1) if args.quick else (400, 4)
        data, history, paths, final = train_with_checkpoints(
            out / "checkpoints", n_train, epochs, verbose=0 if args.quick else 1
        )
        x_test, y_test = texture_split(100, "test")
        accuracy = evaluate(final, x_test, y_test)["accuracy"]
        print(f"trained on {len(data)} texture images for {epochs} epochs in "
              f"{time.perf_counter() - start:.1f} s; test accuracy {accuracy:.2f}")  # fmt: skip
        figure_learning_curve(history, accuracy, out / "learning_curve.png")
        what = f"{len(data)} texture images, {epochs} epochs"
        data = data[:120]  # the strongest activation is searched over these training images

    labels = [f"epoch {Path(p).name[6:8].lstrip('0') or '0'}" for p in paths]
    n_channels = 2 if args.quick else 4
    for layer in ("relu1", "relu3"):
        channels = pick_channels(final, data, layer, n_channels)
        evolution = feature_evolution(None, data, layer, channels, paths, labels=labels,
                                      loader=load_checkpoint, progress=False)  # fmt: skip
        plot_feature_evolution(
            evolution,
            save=out / f"evolution_{layer}.png",
            title=f"{layer}: the strongest activation of {n_channels} feature maps per "
            f"checkpoint, projected ({what}); red = a new image holds the maximum",
        )
        for c in channels:
            jumps = sum(step.changed for step in evolution.steps[c])
            values = ", ".join(f"{step.value:.2g}" for step in evolution.steps[c])
            print(f"{layer} channel {c:2d}: maximum per checkpoint {values}; image changed "
                  f"{jumps} times")  # fmt: skip
    print(f"wrote the figures and {len(paths)} checkpoints to {out} "
          f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
