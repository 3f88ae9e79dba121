"""04 - SmoothGrad: removing noise by adding noise (and the tutorial's noise bug).

What it teaches
    SmoothGrad averages the gradient map over noisy copies of the image,
    ``SG(x) = (1/n) sum_i dz_c/dx (x + e_i)`` with ``e_i ~ N(0, sigma^2)`` and
    ``sigma = s * (x.max() - x.min())``, measured on the array the network is fed.
    The gradient of a ReLU network jumps from pixel to pixel; the average keeps
    what nearby inputs agree on. Two sweeps on the demo model (red: the shape's
    outline):

    * noise level ``s`` from 0 (the plain gradient) to 50 %, with ``n = 50``: as
      ``s`` grows the speckle between the shape's edges fades and the edges the
      network uses stand out; at 50 % the noise swamps the image and the map
      blurs. On this small network the plain gradient is already fairly clean,
      so the change is gentler than on the paper's ImageNet models (see demo 11
      for VGG16);
    * sample size ``n`` from 1 to 100 at ``s = 15 %`` (the triangle): one noisy
      gradient is just another rough map; by ``n`` of 25-50 the map settles (its
      correlation with the ``n = 100`` map is printed).

    The tutorial's bug, side by side: it added ``np.random.random(x.shape)`` --
    *uniform* noise on [0, 1), mean 0.5, std 0.29 -- whatever the input's range.
    On its VGG16 input (range about 276 after the caffe preprocessing) that is
    0.1 % of the range: no smoothing at all, the map stays the plain gradient.
    Reproduced here at the same relative size on this model's [0, 1] input,
    by scaling the same noise by 1/255 (as on an input in 0..255); and the same
    line on the [0, 1] input as it is, where the noise is as large as the
    image and every copy is brightened by 0.5 on average (a bias no average
    removes). Correct: zero-mean Gaussian with ``sigma`` tied to the input range.

Paper
    D. Smilkov, N. Thorat, B. Kim, F. Viegas, M. Wattenberg. SmoothGrad: removing
    noise by adding noise. arXiv:1706.03825 (2017).

Run
    python demos/04_smoothgrad.py [--out DIR] [--quick]

Writes ``noise_level.png``, ``sample_size.png`` and ``tutorial_noise_bug.png``.
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


def heat(maps) -> np.ndarray:
    """Simonyan's ``max_c |.|`` per pixel, capped at its 99th percentile and scaled to [0, 1]."""
    h = explain.channel_max_abs(maps)
    cap = np.percentile(h.reshape(len(h), -1), 99, axis=1).reshape(-1, 1, 1)
    return np.clip(h / np.where(cap > 0, cap, 1.0), 0, 1)


def tutorial_smoothgrad(model, x, target, n_samples, scale, seed):
    """The tutorial's SmoothGrad: ``x + scale * U[0, 1)`` noise, averaged gradients.

    ``scale = 1`` is its code as written; ``scale = 1/255`` the same noise relative to
    an input spanning 0..255, as its VGG16 input did. ``x`` is one image (1, H, W, C).
    Returns the map (1, H, W, C) and the noisy copies (n_samples, H, W, C).
    """
    rng = np.random.default_rng(seed)
    noise = scale * rng.random((n_samples, *x.shape[1:]))  # the bug: uniform, mean 0.5
    noisy = (x + noise).astype(x.dtype)
    grads = explain.gradient(model, noisy, target=target)  # all copies in one batch
    return grads.mean(axis=0, keepdims=True), noisy


def shape_mask(image: np.ndarray) -> np.ndarray:
    """Pixels farther from the background colour (the border's median) than half the contrast."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    distance = np.linalg.norm(image - np.median(border, axis=0), axis=-1)
    return distance > 0.5 * distance.max()


def corr(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def show(ax, a, title, cmap="gray", outline=None):
    """An image (cmap=None, clipped to [0, 1] for display) or a heat map, with an outline."""
    if cmap is None:
        ax.imshow(np.clip(a, 0, 1), interpolation="nearest")
    else:
        ax.imshow(a, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    if outline is not None:
        ax.contour(outline, levels=[0.5], colors="tab:red", linewidths=0.6)
    ax.set_title(title, fontsize=7)
    ax.set_axis_off()


def figure_noise_level(model, images, classes, levels, n_samples, save):
    N, k = len(images), len(levels)
    plain = heat(explain.gradient(model, images, target=classes))
    maps, samples = {}, {}
    for j, s in enumerate(levels):
        if s == 0:
            maps[s], samples[s] = plain, images
        else:  # every image in one call; the noise scale is measured per image
            sg = explain.smoothgrad(model, images, target=classes, n_samples=n_samples,
                                    noise_level=s, seed=j)  # fmt: skip
            maps[s] = heat(sg)
            samples[s] = explain.noisy_samples(images, 1, noise_level=s, seed=j)[:, 0]
    fig = Figure(figsize=(1.45 * k, 2.9 * N + 0.5), layout="constrained")
    rows = []
    for r in range(N):
        outline = shape_mask(images[r])
        for j, s in enumerate(levels):
            rows.append((r, s, corr(maps[s][r], plain[r])))
            ax = fig.add_subplot(2 * N, k, 2 * r * k + j + 1)
            show(ax, samples[s][r], f"a noisy copy, s = {s:.0%}" if s else "input", cmap=None)
            ax = fig.add_subplot(2 * N, k, (2 * r + 1) * k + j + 1)
            title = f"SmoothGrad s = {s:.0%}" if s else "gradient (s = 0)"
            show(ax, maps[s][r], title, outline=outline)
    fig.suptitle(
        f"SmoothGrad over noise levels s = sigma / (x.max - x.min), n = {n_samples}", fontsize=9
    )
    fig.savefig(save, dpi=110)
    return rows


def figure_sample_size(model, images, classes, sizes, save):
    N, k = len(images), len(sizes)
    maps = {
        n: heat(explain.smoothgrad(model, images, target=classes, n_samples=n,
                                   noise_level=0.15, seed=0))
        for n in sizes
    }  # fmt: skip
    fig = Figure(figsize=(1.45 * (k + 1), 1.6 * N + 0.5), layout="constrained")
    for r in range(N):
        outline = shape_mask(images[r])
        show(fig.add_subplot(N, k + 1, r * (k + 1) + 1), images[r], "input", cmap=None)
        for j, n in enumerate(sizes):
            ax = fig.add_subplot(N, k + 1, r * (k + 1) + j + 2)
            show(ax, maps[n][r], f"n = {n}", outline=outline)
    fig.suptitle("SmoothGrad over sample sizes n, noise level s = 15 %", fontsize=9)
    fig.savefig(save, dpi=110)
    last = maps[sizes[-1]]
    return [(r, n, corr(maps[n][r], last[r])) for r in range(N) for n in sizes]


def figure_bug(model, images, classes, n_samples, save):
    """The plain gradient, the tutorial's uniform noise at two scales, and the Gaussian."""
    N = len(images)
    fig = Figure(figsize=(1.8 * 4, 3.2 * N + 0.6), layout="constrained")
    stats = []
    for r, (image, c) in enumerate(zip(images, classes)):
        x = image[None]
        plain = heat(explain.gradient(model, x, target=c))[0]
        vgg, vgg_copies = tutorial_smoothgrad(model, x, c, n_samples, 1 / 255, seed=1)
        raw, raw_copies = tutorial_smoothgrad(model, x, c, n_samples, 1.0, seed=2)
        good = explain.smoothgrad(model, x, target=c, n_samples=n_samples,
                                  noise_level=0.15, seed=3)  # fmt: skip
        good_copy = explain.noisy_samples(x, 1, noise_level=0.15, seed=3)[0, 0]
        columns = [
            ("no noise:\nthe plain gradient", image, plain),
            ("tutorial: + U[0,1) on a\n0..255 input (VGG scale)", vgg_copies[0], heat(vgg)[0]),
            ("tutorial: + U[0,1) on this\n[0, 1] input, as written", raw_copies[0], heat(raw)[0]),
            ("correct: + N(0, sigma^2),\nsigma = 15 % of the range", good_copy, heat(good)[0]),
        ]
        outline = shape_mask(image)
        for j, (title, copy, m) in enumerate(columns):
            show(fig.add_subplot(2 * N, 4, 8 * r + j + 1), copy, title, cmap=None)
            ax = fig.add_subplot(2 * N, 4, 8 * r + j + 5)
            show(ax, m, f"corr. with gradient {corr(m, plain):.2f}", outline=outline)
            stats.append((r, title.replace("\n", " "), copy - image, corr(m, plain)))
    fig.suptitle(
        f"SmoothGrad with the tutorial's noise (np.random.random) and the paper's, n = {n_samples}"
        "\n(top: one noisy copy, clipped to [0, 1] for display; bottom: the averaged map)",
        fontsize=9,
    )
    fig.savefig(save, dpi=110)
    return stats


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    model = load_demo_model()
    names = list(model.class_names)
    x, y, _ = demo_data(50, "test")
    wanted = ["triangle"] if args.quick else ["triangle", "cross"]
    rows = [int(np.flatnonzero(y == names.index(w))[0]) for w in wanted]
    images, classes = x[rows], [int(c) for c in y[rows]]
    n = 8 if args.quick else 50
    levels = [0.0, 0.15, 0.5] if args.quick else [0.0, 0.05, 0.1, 0.15, 0.2, 0.5]
    sizes = [1, 4] if args.quick else [1, 5, 10, 25, 50, 100]

    sweep = figure_noise_level(model, images, classes, levels, n, out / "noise_level.png")
    print("noise level: correlation of the SmoothGrad map with the plain gradient's")
    for r, s, c in sweep:
        print(f"  {wanted[r]:>9}  s = {s:4.0%}  corr {c:.2f}")
    stability = figure_sample_size(model, images[:1], classes[:1], sizes, out / "sample_size.png")
    print(f"sample size: correlation of the map for n samples with the map for n = {sizes[-1]}")
    for r, k, c in stability:
        print(f"  {wanted[r]:>9}  n = {k:3d}  corr {c:.2f}")

    stats = figure_bug(model, images, classes, n, out / "tutorial_noise_bug.png")
    print("the noise each version adds (to the first image), and the map's similarity to the "
          "plain gradient:")  # fmt: skip
    for r, title, noise, c in stats:
        if r == 0:
            print(f"  {title:<50} noise mean {noise.mean():+.4f}, std {noise.std():.4f}; "
                  f"corr. with gradient {c:.2f}")  # fmt: skip
    print(f"wrote 3 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
