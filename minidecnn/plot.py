"""Figures for people: the pictures of the papers, drawn from minidecnn's results.

Every function returns a :class:`matplotlib.figure.Figure` (made without pyplot,
so nothing depends on the interactive backend and nothing piles up in memory)
and, with ``save="name.png"``, also writes it to disk. Nothing here computes a
method: the numbers come from :mod:`minidecnn.explain`; this module only lays
them out and scales them for display.

Display conventions
-------------------
* Signed maps (projections, backward signals) are shown with zero as mid-grey
  (or white in the diverging colour maps), scaled by their largest magnitude.
* Images are scaled from their own minimum to their maximum.
* Cells of a crop that lie outside the image are pale blue (``OUTSIDE``), so they
  cannot be mistaken for white pixels.
"""

from __future__ import annotations

import math
import os

import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "mosaic",
    "plot_activations",
    "plot_feature_evolution",
    "plot_filters",
    "plot_methods_top_classes",
    "plot_top_projections",
    "plot_trace",
    "plot_unpooling",
]

OUTSIDE = (0.78, 0.86, 0.97)  # display colour (pale blue) of crop cells outside the image


# ----------------------------------------------------------------------------- display scaling


def _as_rgb(a: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) in [0, 1] -> (H, W, 3); NaN cells become ``OUTSIDE``."""
    a = np.asarray(a, np.float64)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    elif a.shape[-1] != 3:
        a = np.repeat(a.mean(axis=-1, keepdims=True), 3, axis=-1)
    outside = np.isnan(a).any(axis=-1, keepdims=True)
    return np.where(outside, np.asarray(OUTSIDE), np.clip(np.nan_to_num(a), 0.0, 1.0))


def _show_image(a, lo=None, hi=None) -> np.ndarray:
    """Min-max scale an image (NaN-aware) for display."""
    a = np.asarray(a, np.float64)
    lo = np.nanmin(a) if lo is None else lo
    hi = np.nanmax(a) if hi is None else hi
    return _as_rgb((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a) + 0.5)


def _show_signed(a) -> np.ndarray:
    """Zero -> mid-grey, the largest magnitude -> black or white (per colour channel)."""
    a = np.asarray(a, np.float64)
    m = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 0.0
    return _as_rgb(0.5 + 0.5 * a / m if m > 0 else np.where(np.isnan(a), np.nan, 0.5))


def _crop(box, array):
    """Crop with NaN outside the image (so it shows white)."""
    return box.crop(np.asarray(array, np.float64), fill=np.nan)


def _blank(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _finish(fig: Figure, save, dpi=110) -> Figure:
    if save is not None:
        fig.savefig(os.fspath(save), dpi=dpi, bbox_inches="tight")
    return fig


def _grid(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def mosaic(tiles, rows: int, cols: int, gap: int = 1) -> np.ndarray:
    """Lay RGB tiles ``(h, w, 3)`` out row by row on a white sheet, ``gap`` pixels apart.

    Tiles of different sizes sit in the top-left corner of cells of the largest
    size; missing tiles leave their cell white. One image per grid draws much
    faster than one axes per tile.
    """
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    sheet = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap, 3))
    for k, t in enumerate(tiles[: rows * cols]):
        r, c = divmod(k, cols)
        sheet[
            r * (h + gap) : r * (h + gap) + t.shape[0], c * (w + gap) : c * (w + gap) + t.shape[1]
        ] = t
    return sheet


# ----------------------------------------------------------------------------- Zeiler & Fergus


def plot_top_projections(tops, save=None, title=None, aligned: bool = True) -> Figure:
    """Zeiler & Fergus Fig. 2: for each channel, the top-k projections next to their patches.

    Parameters
    ----------
    tops : TopProjections or list of TopProjections
        From :func:`minidecnn.explain.projection.top_projections`.
    save : path, optional
        Write a PNG.
    title : str, optional
    aligned : bool, default True
        Crop with the unclipped receptive field, so every tile of a channel has the
        same size (the part outside the image is pale blue); with False, crop exactly.

    Returns
    -------
    Figure
        One row per channel with two panels: a ``g x g`` mosaic of the projections
        (left) and of the matching image patches (right), ``g = ceil(sqrt(k))``,
        largest activation first, row by row.
    """
    tops = tops if isinstance(tops, list | tuple) else [tops]
    rows, cols = _grid(max(len(t.records) for t in tops))
    fig = Figure(
        figsize=(2 * (0.7 * cols) + 0.8, len(tops) * (0.7 * rows + 0.35) + 0.3),
        layout="constrained",
    )
    for r, top in enumerate(tops):
        boxes = top.full_boxes if aligned else top.boxes
        projections = [_show_signed(_crop(b, p)) for b, p in zip(boxes, top.projections)]
        patches = [
            _show_image(_crop(b, img), float(np.min(img)), float(np.max(img)))
            for b, img in zip(boxes, top.images)
        ]
        for side, (tiles, what) in enumerate(((projections, "projections"), (patches, "patches"))):
            ax = fig.add_subplot(len(tops), 2, 2 * r + side + 1)
            _blank(ax)
            ax.imshow(mosaic(tiles, rows, cols), interpolation="nearest")
            dead = " (dead: max 0)" if top.records[0].value == 0 else ""
            ax.set_title(f"{top.layer} ch {top.channel}: {what}{dead}", fontsize=7, pad=3)
    fig.suptitle(
        title or f"Top-{len(tops[0].records)} activations, projected alone ({tops[0].rule})",
        fontsize=9,
    )
    return _finish(fig, save)


def plot_feature_evolution(evolution, save=None, title=None, aligned: bool = True) -> Figure:
    """Zeiler & Fergus Fig. 4: the strongest activation's projection per checkpoint.

    One row per channel, one column per checkpoint. Each cell shows the projection
    cropped to its receptive field and the index of the image that produced it;
    a red index marks a change of image since the previous checkpoint (the jumps).
    """
    steps = evolution.steps
    n_rows, n_cols = len(evolution.channels), len(evolution.labels)
    fig = Figure(figsize=(1.05 * n_cols + 0.8, 1.15 * n_rows + 0.6))
    grid = fig.add_gridspec(n_rows, n_cols, wspace=0.08, hspace=0.35)
    for r, c in enumerate(evolution.channels):
        for k, step in enumerate(steps[c]):
            ax = fig.add_subplot(grid[r, k])
            _blank(ax)
            box = step.full_box if aligned else step.box
            ax.imshow(_show_signed(_crop(box, step.projection)))
            label = f"img {step.index}" if step.value != 0 else "dead (max 0)"
            ax.set_title(label, fontsize=6, pad=2, color="red" if step.changed else "black")
            if r == 0:
                ax.text(0.5, 1.35, step.label, transform=ax.transAxes, ha="center", fontsize=7)
            if k == 0:
                ax.set_ylabel(f"ch {c}", fontsize=7)
    fig.suptitle(
        title or f"Feature evolution of {evolution.layer!r} (red: a new image holds the maximum)",
        fontsize=9,
        y=1.0,
    )
    return _finish(fig, save)


def plot_unpooling(experiment, save=None, title=None, zoom: int | None = None) -> Figure:
    """The unpooling experiment: the pooling chain, the three ways back up, and a zoom.

    Row 1: the image and its successive max-pools. Row 2: the image, then the
    deepest pooled image brought back to full size with the true switches, with a
    fixed top-left switch, and by nearest-neighbour upsampling, each titled with its
    correlation with the image. Row 3: the centre ``zoom x zoom`` pixels of row 2
    (default a quarter of the image side), where the single surviving pixel of
    each window can be seen.
    """
    pooled = experiment.pooled
    img = experiment.image
    H, W = img.shape[:2]
    zoom = zoom or max(min(H, W) // 4, 1)
    top, left = (H - zoom) // 2, (W - zoom) // 2
    window = (slice(top, top + zoom), slice(left, left + zoom))
    n_cols = max(len(pooled) + 1, 4)
    fig = Figure(figsize=(2.0 * n_cols, 6.9))
    grid = fig.add_gridspec(3, n_cols, hspace=0.3, wspace=0.1)
    lo, hi = float(img.min()), float(img.max())
    top_row = [("image", img)] + [
        (f"after {k + 1} pool{'s' if k else ''} ({p.shape[0]}x{p.shape[1]})", p)
        for k, p in enumerate(pooled)
    ]
    for k, (name, a) in enumerate(top_row):
        ax = fig.add_subplot(grid[0, k])
        _blank(ax)
        ax.imshow(_show_image(a, lo, hi), interpolation="nearest")
        ax.set_title(name, fontsize=8)
    corr = experiment.correlations()
    names = {
        "switches": "unpool with switches",
        "top_left": "fixed top-left switch",
        "nearest": "nearest neighbour",
    }
    bottom = [("image", img, "")] + [
        (names[m], experiment.reconstructions[m], f"\ncorr. with image {corr[m]:.2f}")
        for m in ("switches", "top_left", "nearest")
    ]
    for k, (name, a, extra) in enumerate(bottom):
        ax = fig.add_subplot(grid[1, k])
        _blank(ax)
        ax.imshow(_show_image(a, lo, hi), interpolation="nearest")
        ax.set_title(name + extra, fontsize=8)
        ax = fig.add_subplot(grid[2, k])
        _blank(ax)
        ax.imshow(_show_image(a[window], lo, hi), interpolation="nearest")
        ax.set_title(f"zoom: centre {zoom}x{zoom}", fontsize=7)
    fig.suptitle(
        title or f"{len(pooled)} max-pools of 2x2, and back up three ways", fontsize=10, y=0.95
    )
    return _finish(fig, save)


# ----------------------------------------------------------------------------- tracer


def plot_trace(trace, keys=None, save=None, title=None) -> Figure:
    """The backward tracer as a picture: one row per node, one column per rule.

    Parameters
    ----------
    trace : Trace
        From :func:`minidecnn.explain.tracer.trace`.
    keys : list of str, optional
        Nodes to show (with image-shaped outputs). By default every ReLU with an
        image-shaped output, then the input.

    Returns
    -------
    Figure
        Column 0: the node's forward output (summed over channels). Then, per rule,
        the signal leaving the node downwards (summed over channels; zero is white,
        red positive, blue negative). ReLU rows say how many units each rule zeroed.
    """
    if trace.x.ndim != 4:
        raise ValueError(
            f"plot_trace: the figure draws image-shaped signals. Expected a model with an "
            f"(H, W, C) input, received an input of shape {trace.x.shape[1:]}. Use "
            f"print(trace) for the table instead."
        )
    spatial = [r for r in trace.rows if r.forward.ndim == 4]
    if keys is None:
        rows = [r for r in spatial if r.relu is not None]
    else:
        rows = [trace.row(k) for k in keys]
    n_rows, n_cols = len(rows) + 1, len(trace.rules) + 1
    fig = Figure(figsize=(1.9 * n_cols + 0.4, 1.9 * n_rows + 0.5))
    grid = fig.add_gridspec(n_rows, n_cols, hspace=0.45, wspace=0.1)

    def signed(ax, m):
        m = np.asarray(m, np.float64).sum(axis=-1)
        v = float(np.abs(m).max()) or 1.0
        ax.imshow(m, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")

    for i, row in enumerate(rows):
        ax = fig.add_subplot(grid[i, 0])
        _blank(ax)
        ax.imshow(row.forward[0].sum(axis=-1), cmap="gray", interpolation="nearest")
        ax.set_title(f"{row.key} forward", fontsize=7)
        ax.set_ylabel(row.layer_type, fontsize=7)
        for j, rule in enumerate(trace.rules, 1):
            ax = fig.add_subplot(grid[i, j])
            _blank(ax)
            out = row.signal_out[rule]
            signed(ax, out[0][0] if isinstance(out, list) else out[0])
            text = f"{rule} leaving"
            if row.relu is not None:
                text += f"\nzeroed {row.relu.zeroed[rule]}/{row.relu.n_units}"
            ax.set_title(text, fontsize=7)
    ax = fig.add_subplot(grid[n_rows - 1, 0])
    _blank(ax)
    ax.imshow(_show_image(trace.x[0]), interpolation="nearest")
    ax.set_title("input", fontsize=7)
    for j, rule in enumerate(trace.rules, 1):
        ax = fig.add_subplot(grid[n_rows - 1, j])
        _blank(ax)
        signed(ax, trace.input_signal[rule][0])
        ax.set_title(f"{rule} at the input", fontsize=7)
    fig.suptitle(title or f"Backward trace for {trace.target_text}", fontsize=9, y=1.0)
    return _finish(fig, save)


# ----------------------------------------------------------------------------- network internals


def plot_filters(model, layer: str | None = None, save=None, title=None) -> Figure:
    """The filters of a convolution layer (by default the first one) as image tiles.

    Filters with 3 input channels are shown in colour, others as grey tiles of their
    mean over input channels; each tile is scaled from its own minimum to maximum
    (Zeiler & Fergus Fig. 6, CS231n). Flat tiles are dead or undertrained filters.
    """
    from .layers.conv import Conv2D

    if layer is None:
        convs = [lay for lay in model.leaf_layers() if isinstance(lay, Conv2D)]
        if not convs:
            raise ValueError(
                f"plot_filters: model {model.name!r} has no Conv2D layer. Expected a model "
                f"with a convolution, or layer=<name>."
            )
        conv = convs[0]
    else:
        conv = model.get_layer(layer)
    W = np.asarray(conv.params["W"])  # (KH, KW, C, F)
    F = W.shape[-1]
    rows, cols = _grid(F)
    tiles = [
        _show_image(W[..., f] if W.shape[2] == 3 else W[..., f].mean(axis=-1)) for f in range(F)
    ]
    fig = Figure(figsize=(0.6 * cols + 0.8, 0.6 * rows + 0.7))
    ax = fig.add_subplot(1, 1, 1)
    _blank(ax)
    ax.imshow(mosaic(tiles, rows, cols), interpolation="nearest")
    fig.suptitle(
        title or f"Filters of {conv.name!r} ({F} of {W.shape[0]}x{W.shape[1]}x{W.shape[2]})",
        fontsize=9,
    )
    return _finish(fig, save)


def plot_activations(
    model, x, layers=None, max_channels: int = 16, save=None, title=None
) -> Figure:
    """Per-layer activation maps of one image: one row per layer, one tile per channel.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (H, W, C) or (1, H, W, C)
    layers : list of str, optional
        Nodes with image-shaped outputs; by default every ReLU with one (else every
        node with one).
    max_channels : int, default 16
        Channels shown per layer (the first ones).
    """
    x = np.asarray(x)
    x = x[None] if x.ndim == len(model.input_shape) else x
    model.forward(x[:1])
    if layers is None:
        from .layers.activations import ReLU

        spatial = [n for n in model.nodes if model.activations[n.key].ndim == 4]
        layers = [n.key for n in spatial if isinstance(n.layer, ReLU)] or [n.key for n in spatial]
    acts = [model.activations[model.node(key).key][0] for key in layers]
    flat = [key for key, a in zip(layers, acts) if a.ndim != 3]
    if not layers or flat:
        raise ValueError(
            f"plot_activations: expected layers with image-shaped outputs (H, W, C), "
            f"received {flat or 'none'}. Pass layers=[...] naming convolution, pooling or "
            f"ReLU layers."
        )
    fig = Figure(figsize=(0.75 * (min(max_channels, 16) + 1.5) + 0.4, 1.0 * len(layers) + 0.6))
    for r, (key, a) in enumerate(zip(layers, acts)):
        n = min(a.shape[-1], max_channels)
        lo, hi = min(0.0, float(a.min())), float(a.max())
        tiles = [_show_image(a[..., c], lo, hi) for c in range(n)]
        ax = fig.add_subplot(len(layers), 1, r + 1)
        _blank(ax)
        ax.imshow(mosaic(tiles, 1, n, gap=max(1, a.shape[0] // 8)), interpolation="nearest")
        ax.set_title(
            f"{key}: channels 0-{n - 1} of {a.shape[-1]}, {a.shape[0]}x{a.shape[1]}, "
            f"scale {lo:.2g}..{hi:.2g}",
            fontsize=7,
            loc="left",
        )
    fig.suptitle(title or "Activations of one image (black = lowest of the layer)", fontsize=9)
    return _finish(fig, save)


# ----------------------------------------------------------------------- the tutorial's figure

METHOD_TITLES = {
    "gradient": "gradient\n(max |.| over channels)",
    "smoothgrad": "SmoothGrad",
    "guided": "guided backprop",
    "deconvnet": "DeconvNet",
}


def plot_methods_top_classes(
    model,
    x,
    top: int = 5,
    class_names=None,
    methods=("gradient", "smoothgrad", "guided", "deconvnet"),
    n_samples: int = 50,
    noise_level: float = 0.15,
    seed=0,
    save=None,
    title=None,
) -> Figure:
    """For one image: the input and four methods for each of its ``top`` most likely classes.

    The layout of the original Keras tutorial's notebook: one row per class (most
    likely first), columns ``input | gradient | SmoothGrad | guided | DeconvNet``.
    Every map explains the class *logit* (Simonyan et al.), not its probability.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (H, W, C) or (1, H, W, C)
        Preprocessed as the model expects.
    top : int, default 5
    class_names : sequence of str, optional
        Names indexed by class (for example ImageNet's); default ``"class k"``.
    methods : sequence of str
        Any of ``"gradient"``, ``"smoothgrad"``, ``"guided"``, ``"deconvnet"``.
    n_samples, noise_level, seed
        SmoothGrad's parameters (Smilkov et al.: 10-20 % noise, about 50 samples).
    save : path, optional

    Notes
    -----
    Display: the gradient and SmoothGrad as ``max_c |.|`` clipped at their 99th
    percentile (:func:`~minidecnn.explain.normalize_percentile`), the guided and
    DeconvNet maps as signed pictures scaled from their minimum to their maximum
    (:func:`~minidecnn.explain.normalize_minmax`).
    """
    from . import explain
    from .explain.targets import softmax

    x = np.asarray(x)
    x = x[None] if x.ndim == len(model.input_shape) else x[:1]
    unknown = [m for m in methods if m not in METHOD_TITLES]
    if unknown:
        raise ValueError(
            f"plot_methods_top_classes: unknown method {unknown[0]!r}. Expected some of "
            f"{tuple(METHOD_TITLES)}, received methods={tuple(methods)!r}."
        )
    model.forward(x)
    z = model.activations[model.logits][0]
    p = softmax(z[None])[0]
    top = min(int(top), len(z))
    classes = [int(c) for c in np.argsort(-z, kind="stable")[:top]]
    batch = np.repeat(x, top, axis=0)
    maps = {}
    for m in methods:
        if m == "gradient":
            maps[m] = explain.normalize_percentile(
                explain.channel_max_abs(explain.gradient(model, batch, target=classes))
            )
        elif m == "smoothgrad":
            sg = explain.smoothgrad(model, batch, target=classes, n_samples=n_samples,
                                    noise_level=noise_level, seed=seed)  # fmt: skip
            maps[m] = explain.normalize_percentile(explain.channel_max_abs(sg))
        elif m == "guided":
            maps[m] = explain.normalize_minmax(explain.guided_backprop(model, batch, classes))
        else:
            maps[m] = explain.normalize_minmax(explain.deconvnet(model, batch, target=classes))
    n_cols = len(methods) + 1
    fig = Figure(figsize=(1.75 * n_cols, 1.8 * top + 0.5), layout="constrained")
    image = _show_image(x[0])
    for r, c in enumerate(classes):
        name = class_names[c] if class_names is not None else f"class {c}"
        ax = fig.add_subplot(top, n_cols, r * n_cols + 1)
        _blank(ax)
        ax.imshow(image, interpolation="nearest")
        ax.set_ylabel(f"{name}\np = {p[c]:.3f}", fontsize=7)
        for k, m in enumerate(methods, 2):
            ax = fig.add_subplot(top, n_cols, r * n_cols + k)
            _blank(ax)
            ax.imshow(_as_rgb(np.asarray(maps[m][r])), interpolation="nearest")
            if r == 0:
                ax.set_title(METHOD_TITLES[m], fontsize=8)
        if r == 0:
            fig.axes[0].set_title("input", fontsize=8)
    fig.suptitle(title or f"Top {top} classes: what each method highlights", fontsize=9)
    return _finish(fig, save)
