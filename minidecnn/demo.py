"""The demo job behind ``minidecnn demo``: the classic pictures, and a page to read them.

:func:`run_demo` loads the embedded demo model (:mod:`minidecnn.demo_model`; nothing is
trained or downloaded), computes every picture with :mod:`minidecnn.explain`, draws it
with :mod:`minidecnn.plot` and writes PNG files plus an ``index.html`` that shows them
with a sentence each on what the reader sees:

==========================  ==========================================================
file                        what it shows
==========================  ==========================================================
``methods_<class>.png``     gradient, SmoothGrad, guided backprop and DeconvNet side
                            by side for the top classes of a test image (the layout
                            of the original Keras tutorial)
``top9_<layer>.png``        Zeiler & Fergus: the nine strongest activations of a few
                            feature maps, projected alone to pixel space
``filters.png``             the first convolution's filters
``activations.png``         every layer's feature maps for one image
``unpooling.png``           max-pooling and unpooling with and without switches, on
                            matplotlib's photograph of Grace Hopper
==========================  ==========================================================

Examples
--------
>>> result = run_demo("demo-out", quick=True)          # doctest: +SKIP
>>> print(result.index)                                # doctest: +SKIP
demo-out/index.html
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.image import imsave

from . import explain, plot
from .demo_model import demo_data, load_demo_model
from .errors import MinidecnnError
from .layers import Conv2D, ReLU

__all__ = ["DemoFigure", "DemoResult", "grace_hopper", "run_demo"]

#: classes whose first test image gets the four-methods figure: a solid shape, a
#: curved outline and a texture in a patch
METHOD_CLASSES = ("triangle", "circle", "dstripes")
#: how the page names the classes of the shapes data
DESCRIPTIONS = {
    "square": "a square",
    "circle": "a circle",
    "triangle": "a triangle",
    "cross": "a cross",
    "frame": "a square frame",
    "hstripes": "a patch of horizontal stripes",
    "vstripes": "a patch of vertical stripes",
    "dstripes": "a patch of diagonal stripes",
    "checkerboard": "a checkerboard",
    "dots": "a patch of dots",
}
#: feature maps per Zeiler & Fergus grid, and images per forward pass while scanning
N_CHANNELS = 6
SCAN_BATCH = 250


@dataclass(frozen=True)
class DemoFigure:
    """One written figure: its file name (inside the output folder), title and caption."""

    file: str
    title: str
    caption: str


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote.

    Attributes
    ----------
    out : Path
        The output folder.
    index : Path
        ``out / "index.html"``.
    figures : list of DemoFigure
        In the order of the page.
    seconds : dict
        Wall time of each step, for ``benchmarks/demo_time.py``.
    cpu_seconds : dict
        Processor time of each step (all threads).
    """

    out: Path
    index: Path
    figures: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    cpu_seconds: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- inputs


def grace_hopper(shrink: int = 1, grey: bool = False) -> np.ndarray:
    """Matplotlib's bundled photograph of Grace Hopper as floats in [0, 1].

    Parameters
    ----------
    shrink : int, default 1
        Average ``shrink x shrink`` blocks of pixels (600x512 -> 150x128 for 4).
    grey : bool, default False
        Luminance only (ITU-R BT.601 weights).

    Returns
    -------
    ndarray of shape (H, W, 3), or (H, W, 1) when ``grey``
    """
    from matplotlib import cbook
    from matplotlib import image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = np.asarray(mpimg.imread(f, format="jpg"), np.float32)[..., :3] / 255.0
    if grey:
        img = img @ np.array([0.299, 0.587, 0.114], np.float32)
        img = img[..., None]
    H, W = img.shape[0] // shrink * shrink, img.shape[1] // shrink * shrink
    img = img[:H, :W].reshape(H // shrink, shrink, W // shrink, shrink, -1).mean(axis=(1, 3))
    return img.astype(np.float32)


def _pick_images(model, x, y, class_names, wanted):
    """The first correctly classified test image of each wanted class (name, index)."""
    pred = model.predict(x, batch_size=SCAN_BATCH).argmax(axis=-1)
    picks = []
    for name in wanted:
        c = class_names.index(name)
        hits = np.flatnonzero((y == c) & (pred == c))
        if len(hits) == 0:
            hits = np.flatnonzero(y == c)
        if len(hits):
            picks.append((name, int(hits[0])))
    return picks, pred


def _relu_after_convs(model):
    """Node keys of the ReLUs that follow the convolutions, bottom to top."""
    keys, seen_conv = [], False
    for node in model.nodes:
        if isinstance(node.layer, Conv2D):
            seen_conv = True
        elif isinstance(node.layer, ReLU) and seen_conv and len(node.output.shape) == 4:
            keys.append(node.key)
            seen_conv = False
    return keys


def _distinct_channels(tops: dict, labels: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` strong channels whose top images come mostly from different classes.

    Channels are ranked by their weakest top activation (a channel that fires strongly on
    all nine images, not on one); a channel is skipped when the class that supplies most
    of its top images already has a channel, so the figure shows different features.
    """
    ranked = sorted(tops, key=lambda c: (-(tops[c][-1].value if tops[c] else 0.0), c))
    chosen, classes = [], set()
    for c in ranked:
        if not tops[c] or tops[c][-1].value <= 0:
            continue
        dominant = int(np.bincount(labels[[r.index for r in tops[c]]]).argmax())
        if dominant not in classes:
            chosen.append(c)
            classes.add(dominant)
        if len(chosen) == n:
            break
    return chosen


# ----------------------------------------------------------------------------- the job


def run_demo(
    out="minidecnn-demo",
    weights=None,
    quick: bool = False,
    n_images: int | None = None,
    progress: bool = False,
    log=print,
    threads: int | None = 1,
) -> DemoResult:
    """Compute and write every figure of the demo, plus ``index.html``.

    Parameters
    ----------
    out : str or os.PathLike, default "minidecnn-demo"
        Output folder (created; existing figures of the same names are replaced).
    weights : str or os.PathLike, optional
        A ``.weights.h5`` file of the demo architecture (from ``minidecnn train-demo``);
        default: the shipped weights.
    quick : bool, default False
        Fewer scanned images and SmoothGrad samples (for tests); same figures.
    n_images : int, optional
        Test images scanned for the Zeiler & Fergus grids (default 500, 200 quick).
    progress : bool, default False
        Show progress bars while scanning.
    log : callable or None, default print
        Receives one line per written figure.
    threads : int or None, default 1
        Numba threads during the job (restored afterwards); None keeps the current
        setting. The demo's arrays are small (32x32 images, a few hundred at a time),
        and for them the cost of waking and synchronising a thread pool for every
        kernel call exceeds the gain: measured on 2 busy cores, the whole demo takes
        about half the time with one thread (``benchmarks/demo_time.py``).

    Returns
    -------
    DemoResult

    Raises
    ------
    ModelFileError
        If ``weights`` is missing or does not fit the demo architecture.
    MinidecnnError
        If ``out`` exists and is not a folder, or cannot be created.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window (and work without a display)
    say = log or (lambda *_: None)
    out = Path(os.fspath(out))
    if out.exists() and not out.is_dir():
        raise MinidecnnError(
            f"minidecnn demo: the output path {os.fspath(out)!r} exists and is not a folder. "
            f"Expected a folder (new or existing). Pass --out with another name."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MinidecnnError(
            f"minidecnn demo: cannot create the output folder {os.fspath(out)!r} "
            f"({exc.strerror}). Expected a writable place. Pass --out with another folder."
        ) from None

    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(before if threads is None else max(1, min(int(threads), before)))
    try:
        return _make_figures(out, weights, quick, n_images, progress, say)
    finally:
        numba.set_num_threads(before)


def _make_figures(out, weights, quick, n_images, progress, say) -> DemoResult:
    """The work of :func:`run_demo` (arguments already checked)."""
    seconds, cpu_seconds = {}, {}
    clock, cpu = time.perf_counter(), time.process_time()

    def tick(step):
        nonlocal clock, cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        seconds[step], cpu_seconds[step] = now - clock, now_cpu - cpu
        clock, cpu = now, now_cpu

    n_images = n_images or (200 if quick else 500)
    n_samples = 8 if quick else 50
    model = load_demo_model(weights)
    names = list(model.class_names)
    x, y, _ = demo_data(n_images, "test")
    tick("load")

    figures: list[DemoFigure] = []

    def add(fig_file, title, caption):
        figures.append(DemoFigure(fig_file, title, caption))
        say(f"  {out / fig_file}")

    # 1. the four methods for the top classes of a few test images
    picks, pred = _pick_images(model, x, y, names, METHOD_CLASSES)
    accuracy = float(np.mean(pred == y))
    (out / "images").mkdir(exist_ok=True)
    for name, i in picks:
        imsave(out / "images" / f"{name}.png", x[i])  # for 'minidecnn explain' to try
        what = DESCRIPTIONS.get(name, name)
        file = f"methods_{name}.png"
        plot.plot_methods_top_classes(
            model,
            x[i],
            top=3,
            class_names=names,
            n_samples=n_samples,
            seed=0,
            save=out / file,
            title=f"Test image {i} ({what}): what each method highlights for the top 3 classes",
        )
        add(
            file,
            f"Four methods for the top classes of {what}",
            f"Each row explains one class score (its logit) for test image {i}, the most "
            f"likely class first. The gradient and SmoothGrad show how strongly each pixel "
            f"changes that score (bright = strong); SmoothGrad averages {n_samples} noisy "
            f"copies of the image and is less speckled. Guided backprop and DeconvNet let "
            f"only positive signals back through the ReLUs, so they draw the edges of "
            f"{what} as a picture (grey = 0). Their rows hardly change from class to class: "
            f"a known property of these two methods, not a bug. The image is saved as "
            f"{out / 'images' / (name + '.png')}: try 'minidecnn explain' on it.",
        )
    tick("methods")

    # 2. Zeiler & Fergus top-9 for two layers
    relus = _relu_after_convs(model)
    for layer in relus[1:3] if len(relus) >= 3 else relus[-2:]:
        n_channels = model.node(layer).output.shape[-1]
        tops = explain.top_activations(model, x, layer, list(range(n_channels)), k=9,
                                       batch_size=SCAN_BATCH, progress=progress)  # fmt: skip
        channels = _distinct_channels(tops, y, N_CHANNELS)
        # The top 9 of every chosen channel lie in these images, so scanning only them
        # finds the same activations without a second pass over all the data.
        keep = sorted({r.index for c in channels for r in tops[c]})
        projections = explain.top_projections(
            model, x[keep], layer, channels, k=9, batch_size=SCAN_BATCH, progress=False
        )
        file = f"top9_{layer}.png"
        plot.plot_top_projections(
            projections,
            save=out / file,
            title=f"{layer}: the 9 strongest activations of {len(channels)} feature maps "
            f"over {n_images} test images, each projected alone by the DeconvNet",
        )
        add(
            file,
            f"Zeiler & Fergus top-9 of {layer}",
            f"For {len(channels)} feature maps of {layer} (one row each), the nine test "
            f"images that activate it most. Each activation is sent back to the pixels alone "
            f"through the DeconvNet (left, grey = 0) and shown next to the image patch the "
            f"unit sees (right, its receptive field; pale blue lies outside the image). "
            f"Within a row the projections repeat one pattern, such as an edge at one angle, "
            f"a corner or a stripe texture: that is what the feature map detects.",
        )
    tick("top9")

    # 3. first-layer filters
    conv1 = next(lay for lay in model.leaf_layers() if isinstance(lay, Conv2D))
    plot.plot_filters(model, save=out / "filters.png")
    add(
        "filters.png",
        f"The filters of {conv1.name}",
        f"The {conv1.params['W'].shape[-1]} filters of the first convolution, drawn as "
        f"tiny colour images (each scaled from its own minimum to maximum). Oriented "
        f"light/dark pairs are edge detectors; a flat tile is a filter training did not use.",
    )
    tick("filters")

    # 4. activations of every layer for one image
    name, i = picks[0] if picks else (names[int(y[0])], 0)
    what = DESCRIPTIONS.get(name, name)
    plot.plot_activations(
        model,
        x[i],
        save=out / "activations.png",
        title=f"Activations of test image {i} ({what}) after each ReLU",
    )
    add(
        "activations.png",
        "What each layer computes for one image",
        f"The feature maps of test image {i} ({what}) after every ReLU, one row per layer "
        f"(the first 16 channels; black = 0). The first layer still looks like the image, "
        f"with edges picked out; each pooling halves the size, and deeper maps respond to "
        f"parts of the shape rather than to pixels.",
    )
    tick("activations")

    # 5. pooling and unpooling on a photograph
    # In grey, one switch per window (not one per colour channel), and at a quarter of
    # the size, so the single surviving pixel of each 8x8 window is visible in the figure.
    photo = grace_hopper(shrink=4, grey=True)
    experiment = explain.unpooling_experiment(photo, levels=3)
    corr = experiment.correlations()
    plot.plot_unpooling(experiment, save=out / "unpooling.png")
    add(
        "unpooling.png",
        "Pooling and unpooling",
        f"Top row: Grace Hopper's photograph ({photo.shape[0]}x{photo.shape[1]}, in grey) "
        f"after 1, 2 and 3 max-pools of 2x2. Below, the smallest image brought back to full "
        f"size three ways: with the switches (each value returns to the pixel that won its "
        f"window and every other pixel is 0: the DeconvNet's unpooling), with a fixed "
        f"top-left switch, and by copying each value over its window. Only one pixel in 64 "
        f"survives, but with the switches it survives in its place (the brightest pixel of "
        f"its window): the correlation with the photograph is {corr['switches']:.2f}, against "
        f"{corr['top_left']:.2f} with the fixed switch. The bottom row zooms in.",
    )
    tick("unpooling")

    index = out / "index.html"
    index.write_text(_index_html(figures, n_images, accuracy, quick), encoding="utf-8")
    say(f"  {index}")
    tick("index")
    return DemoResult(out, index, figures, seconds, cpu_seconds)


# ----------------------------------------------------------------------------- index.html


def _index_html(figures, n_images, accuracy, quick) -> str:
    items = "\n".join(
        f'<section id="{html.escape(Path(f.file).stem)}">\n'
        f"  <h2>{html.escape(f.title)}</h2>\n"
        f"  <p>{html.escape(f.caption)}</p>\n"
        f'  <img src="{html.escape(f.file)}" alt="{html.escape(f.title)}">\n'
        f"</section>"
        for f in figures
    )
    mode = " (quick mode: fewer images and samples)" if quick else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>minidecnn demo</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }}
section {{ margin: 2.5em 0; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
code {{ background: #f3f3f3; padding: 0 0.2em; }}
</style>
</head>
<body>
<h1>What a small CNN has learned</h1>
<p>These pictures were computed by minidecnn, from first principles, with the demo model
that ships inside the package: a small convolutional network (three convolution, ReLU
and max-pool blocks, then two dense layers) trained on generated images of ten shapes and
textures. It classifies {accuracy:.1%} of the {n_images} test images used here
correctly{html.escape(mode)}. Explain your own image with
<code>minidecnn explain IMAGE</code>.</p>
{items}
</body>
</html>
"""
