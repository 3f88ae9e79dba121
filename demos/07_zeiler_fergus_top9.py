"""07 - Zeiler & Fergus, Fig. 2: the top-9 activations of a feature map, projected to pixels.

What it teaches
    To see what a feature map of layer ``l`` responds to, Zeiler & Fergus scan a
    data set, keep the nine largest activations of the map (at most one per
    image), and project each of them *alone* -- every other activation of the
    layer set to zero -- down to pixel space with the DeconvNet. Next to each
    projection they show the image patch under the unit's receptive field. The
    projection shows which structure inside the patch drives the unit; the
    patches show how varied the images are that excite it.

    On the demo model (trained on the shapes data set, scanned over validation
    images it never trained on):

    * layer 1 (relu1, 5x5 receptive fields) responds to oriented edges and
      colour contrasts -- its projections look like the filters of conv1
      (``filters.png``), because one unit's projection *is* its filter (demo 02);
    * layer 2 (relu2, 10x10) combines them into bars, corners and short stripes;
    * layer 3 (relu3, 20x20) responds to whole textures -- stripes of one
      orientation, checkerboards, dots -- and to parts of shapes.

    The patches of one map share the structure the projection shows even where
    their colours differ: the data set's colours are random, so the units learn
    contrast, not colour.

Paper
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014, section 4 and Fig. 2.

Run
    python demos/07_zeiler_fergus_top9.py [--out DIR] [--quick]

Writes ``top9_relu1.png``, ``top9_relu2.png``, ``top9_relu3.png`` and
``filters.png``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from minidecnn import explain
from minidecnn.demo_model import demo_data, load_demo_model
from minidecnn.plot import plot_filters, plot_top_projections

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode
LAYERS = {"relu1": "layer 1", "relu2": "layer 2", "relu3": "layer 3"}


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


def pick_channels(model, data, layer, count, rng):
    """A random subset of the live feature maps (Zeiler & Fergus also chose at random).

    A map that is zero on every one of the first images is dead and shows nothing.
    """
    model.forward(data[:64])
    live = np.flatnonzero(model.activations[layer].max(axis=(0, 1, 2)) > 0)
    return sorted(int(c) for c in rng.choice(live, size=min(count, len(live)), replace=False))


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    model = load_demo_model()
    data, _, _ = demo_data(120 if args.quick else 1200, "val")
    n_channels, k = (2, 4) if args.quick else (6, 9)

    title = "conv1: the 32 first-layer filters (5x5x3, each on its own scale)"
    plot_filters(model, "conv1", save=out / "filters.png", title=title)
    for layer, name in LAYERS.items():
        channels = pick_channels(model, data, layer, n_channels, rng)
        tops = explain.top_projections(model, data, layer, channels, k=k, progress=False)
        plot_top_projections(
            tops,
            save=out / f"top9_{layer}.png",
            title=f"{name} ({layer}): top-{k} activations of {len(channels)} feature maps over "
            f"{len(data)} validation images, each projected alone with the DeconvNet",
        )
        side = tops[0].full_boxes[0].shape
        print(f"{layer}: channels {channels}, receptive field {side[0]}x{side[1]} pixels")
        if layer == "relu3":
            print(tops[0].describe())
    print(f"wrote 4 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
