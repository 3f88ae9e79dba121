"""01 - Max-pooling and unpooling: why the DeconvNet stores *switches*.

What it teaches
    A 2x2 max-pool keeps one value per window and forgets where it was. To go
    back up, Zeiler & Fergus record the position of each window's maximum (the
    *switch*) during the forward pass and put the value back there, zeros
    elsewhere. This script repeats the original Keras tutorial's experiment on
    Grace Hopper's portrait (shipped with matplotlib): four max-pools in a row,
    then back up to full size in three ways:

    * with the true switches (``MaxPool2D.deconv``, what the DeconvNet does);
    * with a *fixed* top-left switch -- the tutorial's CPU "heuristic", which
      concatenated zeros and reshaped (its README said "centre pixel", but a 2x2
      window has no centre: the value lands top-left);
    * by nearest-neighbour upsampling (every cell gets the window's value).

    The switch reconstruction puts exact image values back at the surviving
    maxima; the fixed switch agrees with it only where the maximum happened to
    be top-left and puts the value in the wrong place everywhere else. After
    four pools only one pixel in 256 survives, so both look like sparse dots
    (the switches still correlate better with the image); one pool on the face
    makes the difference plain: the switch dots trace the glasses and the
    wrinkles, the fixed switch prints a regular grid. Each colour channel is
    pooled on its own, so a window's red, green and blue maxima can sit in
    different cells: hence the coloured dots.

Paper
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional
    Networks. ECCV 2014, section 2.1 ("Unpooling").

Run
    python demos/01_pooling_unpooling.py [--out DIR] [--quick]

Writes ``unpooling.png`` (the tutorial's figure: four pools, the three
reconstructions and a zoom), ``unpooling_face.png`` (one pool of the face) and
``switch_positions.png`` (which cell of each window won, and where the fixed
switch is right after four pools).
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

from minidecnn.explain import unpooling_experiment
from minidecnn.plot import plot_unpooling

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


def load_grace_hopper() -> np.ndarray:
    """Matplotlib's sample photo as float RGB in [0, 1], shape (600, 512, 3)."""
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return imread(path).astype(np.float64) / 255.0


def winner_offsets(switches: np.ndarray, W_in: int) -> np.ndarray:
    """Where each 2x2 window's maximum sat: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.

    ``switches`` holds the flat index ``h * W_in + w`` of each winner, shape (H_out, W_out, C).
    """
    h, w = np.divmod(switches, W_in)
    return 2 * (h % 2) + (w % 2)


def follow_switches(exp) -> tuple[np.ndarray, np.ndarray]:
    """Pixel ``(h, w)`` where each value of the deepest pooled map came from, per channel.

    Walks the chain of switches down from the last pool to the image: at each level the
    switch of the current cell names the cell of the level below.
    """
    H_L, W_L, C = exp.pooled[-1].shape
    i, j, c = np.meshgrid(np.arange(H_L), np.arange(W_L), np.arange(C), indexing="ij")
    widths = [exp.image.shape[1]] + [p.shape[1] for p in exp.pooled[:-1]]  # input width per pool
    for switches, W_in in zip(reversed(exp.switches), reversed(widths)):
        i, j = np.divmod(switches[i, j, c], W_in)
    return i, j


def plot_switch_positions(exp, save) -> dict:
    """Figure: the first pool's winning cells, and where a fixed top-left switch is right."""
    offsets = winner_offsets(exp.switches[0], exp.image.shape[1])  # (H/2, W/2, C)
    share = np.bincount(offsets.ravel(), minlength=4) / offsets.size
    h, w = follow_switches(exp)
    step = 2 ** len(exp.pooled)
    H_L, W_L, _ = exp.pooled[-1].shape
    right = (h == step * np.arange(H_L)[:, None, None]) & (
        w == step * np.arange(W_L)[None, :, None]
    )
    colours = np.array([[0.95, 0.3, 0.25], [0.3, 0.6, 0.95], [0.35, 0.8, 0.35], [0.95, 0.8, 0.2]])
    labels = ["top-left", "top-right", "bottom-left", "bottom-right"]
    fig = Figure(figsize=(11, 3.9), layout="constrained")
    ax = fig.add_subplot(1, 3, 1)
    ax.imshow(colours[offsets[..., 0]], interpolation="nearest")
    title = "pool 1: the cell that won each window\n(red channel; colours as in the bars)"
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    ax = fig.add_subplot(1, 3, 2)
    ax.bar(labels, share, color=colours)
    ax.axhline(0.25, color="k", lw=0.8, ls="--")
    ax.set_ylabel("share of windows (all channels)")
    ax.set_title("pool 1: ties go to the first cell,\nso top-left wins most often", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax = fig.add_subplot(1, 3, 3)
    ax.imshow(np.where(right[..., 0, None], 0.1, (0.9, 0.3, 0.25)), interpolation="nearest")
    ax.set_title(
        f"after {len(exp.pooled)} pools, black: top-left unpooling\nreturns the value to "
        f"its pixel ({right.mean():.1%} of all channels)",
        fontsize=9,
    )
    ax.set_axis_off()
    fig.savefig(save, dpi=110)
    return {"share": share, "right": float(right.mean())}


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    image = load_grace_hopper()
    levels = 4  # the tutorial pooled four times
    if args.quick:
        image, levels = image[::4, ::4], 3
    exp = unpooling_experiment(image, levels=levels)
    print(exp.describe())

    plot_unpooling(
        exp,
        save=out / "unpooling.png",
        title=f"Grace Hopper through {levels} max-pools of 2x2, and back up three ways",
    )
    face = unpooling_experiment(image[150:330, 160:360] if not args.quick else image, levels=1)
    plot_unpooling(
        face,
        save=out / "unpooling_face.png",
        zoom=40 if not args.quick else 16,
        title="One max-pool of the face and back: switches trace the glasses, top-left is a grid",
    )
    stats = plot_switch_positions(exp, out / "switch_positions.png")
    names = ("top-left", "top-right", "bottom-left", "bottom-right")
    print(
        "first pool, share of windows won by each cell: "
        + ", ".join(f"{n} {s:.0%}" for n, s in zip(names, stats["share"]))
    )
    print(
        f"after {levels} pools the fixed top-left switch returns {stats['right']:.1%} of the "
        f"surviving values to their own pixel (all {levels} winners top-left; "
        f"{0.25**levels:.1%} if every cell were equally likely)"
    )
    corr = exp.correlations()
    verdict = "as expected" if corr["switches"] > corr["top_left"] else "UNEXPECTED"
    print(
        f"correlation with the image: switches {corr['switches']:.3f} > top-left "
        f"{corr['top_left']:.3f} ({verdict})"
    )
    print(f"wrote 3 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
