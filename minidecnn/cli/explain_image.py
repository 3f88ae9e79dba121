"""``minidecnn explain IMAGE``: one image, one model, one method, one figure.

:func:`explain_image` reads the image (:mod:`minidecnn.cli.images`), loads the model
(the embedded demo model, any Keras file, or VGG16 with the published weights),
runs the method from :mod:`minidecnn.explain` and draws the image, the map and the
map over the image, titled with the explained target and its label.

The map is shown the way its method is usually shown:

==============================  ==========================================================
method                          picture
==============================  ==========================================================
gradient, smoothgrad            ``max_c |map|`` / ``sum_c |map|``, clipped at the 99th
                                percentile (Simonyan et al., Smilkov et al.)
guided, deconvnet,              the signed RGB map scaled from its minimum to its maximum
guided-gradcam                  (grey = 0)
gradient-x-input,               ``sum_c map``, red positive, blue negative
integrated-gradients, occlusion
gradcam                         the class activation map, 0 to its maximum
==============================  ==========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import explain
from ..errors import MinidecnnError, TargetError, did_you_mean
from ..explain.targets import softmax
from .images import read_image, to_model_input

#: method name -> (title, how the map is shown)
METHODS = {
    "gradient": ("Gradient (Simonyan et al. 2014)", "magnitude"),
    "smoothgrad": ("SmoothGrad (Smilkov et al. 2017)", "magnitude"),
    "guided": ("Guided Backprop (Springenberg et al. 2015)", "picture"),
    "deconvnet": ("DeconvNet (Zeiler & Fergus 2014)", "picture"),
    "gradcam": ("Grad-CAM (Selvaraju et al. 2017)", "heat"),
    "guided-gradcam": ("Guided Grad-CAM (Selvaraju et al. 2017)", "picture"),
    "gradient-x-input": ("Gradient x Input", "diverging"),
    "integrated-gradients": ("Integrated Gradients (Sundararajan et al. 2017)", "diverging"),
    "occlusion": ("Occlusion (Zeiler & Fergus 2014)", "diverging"),
}
ALIASES = {
    "saliency": "gradient",
    "vanilla": "gradient",
    "guided-backprop": "guided",
    "deconv": "deconvnet",
    "grad-cam": "gradcam",
    "guided-grad-cam": "guided-gradcam",
    "ig": "integrated-gradients",
    "input-x-gradient": "gradient-x-input",
}
#: the input size of VGG16 with the published weights (its fc1 expects 7x7x512 features)
VGG16_INPUT_SHAPE = (224, 224, 3)
#: methods that accept --layer (a channel of that layer as the target; Grad-CAM: its maps)
LAYER_METHODS = (
    "gradient",
    "smoothgrad",
    "guided",
    "deconvnet",
    "gradient-x-input",
    "integrated-gradients",
    "gradcam",
    "guided-gradcam",
)


def method_name(name: str) -> str:
    """The canonical method name for ``name`` (case, ``_`` for ``-`` and aliases allowed).

    >>> method_name("Guided_Backprop")
    'guided'
    """
    key = str(name).strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in METHODS:
        raise MinidecnnError(
            f"minidecnn explain: unknown method {name!r}.{did_you_mean(key, METHODS)} "
            f"Expected one of {', '.join(METHODS)}."
        )
    return key


# ----------------------------------------------------------------------------- models


@dataclass
class LoadedModel:
    """A model ready to explain, with how to feed it and how to name its classes."""

    model: object
    description: str
    preprocess: str
    labels: list | None = None
    imagenet: bool = False


def read_labels(path) -> list[str]:
    """Class names from a text file, one per line (line ``k`` names class ``k``)."""
    try:
        with open(path, encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]
    except OSError as exc:
        raise MinidecnnError(
            f"minidecnn explain: cannot read the labels file {os.fspath(path)!r} "
            f"({exc.strerror}). Expected a text file with one class name per line."
        ) from None
    return labels


def load_model(model=None, weights=None, vgg16=None, preprocess=None, labels=None):
    """Load the model named on the command line (at most one of the three sources).

    Parameters
    ----------
    model : path, optional
        A Keras model file (:func:`minidecnn.load_keras`).
    weights : path, optional
        A ``.weights.h5`` file of the demo architecture (``minidecnn train-demo``).
    vgg16 : path, optional
        The published VGG16 weights file (ImageNet preprocessing and labels).
    preprocess : str, optional
        Input scaling (see :data:`minidecnn.cli.images.PREPROCESS`); by default
        ``"caffe"`` for VGG16 and ``"unit"`` otherwise.
    labels : path, optional
        A text file of class names, one per line.

    Returns
    -------
    LoadedModel
    """
    from ..demo_model import load_demo_model

    if vgg16 is not None:
        from ..errors import ModelFileError
        from ..zoo import load_class_index
        from ..zoo import vgg16 as build_vgg16

        if not os.path.isfile(os.fspath(vgg16)):  # before building 138 million weights
            raise ModelFileError(
                f"minidecnn explain: no VGG16 weights file at {os.fspath(vgg16)!r}. Expected "
                f"Keras' published vgg16_weights_tf_dim_ordering_tf_kernels.h5 (528 MB), which "
                f"minidecnn never downloads: fetch it once yourself and pass its path."
            )
        net = build_vgg16(weights=vgg16, input_shape=VGG16_INPUT_SHAPE)
        loaded = LoadedModel(
            net,
            f"VGG16 with the weights of {os.path.basename(os.fspath(vgg16))}",
            preprocess or "caffe",
            [label for _, label in load_class_index().values()],
            imagenet=True,
        )
    elif model is not None:
        from ..keras import load_keras

        net = load_keras(model)
        loaded = LoadedModel(net, f"{os.path.basename(os.fspath(model))}", preprocess or "unit")
    else:
        net = load_demo_model(weights)
        where = f" ({os.path.basename(os.fspath(weights))})" if weights else ""
        loaded = LoadedModel(
            net, f"the demo model{where}", preprocess or "unit", list(net.class_names)
        )
    if labels is not None:
        loaded.labels = read_labels(labels)
    return loaded


# ----------------------------------------------------------------------------- computing


def run_method(model, x, method, target=None, layer=None, samples=50, seed=0):
    """Compute the raw map of ``method`` for the batch ``x`` (an :class:`Explanation`)."""
    if layer is not None and method not in LAYER_METHODS:
        raise TargetError(
            f"minidecnn explain: --layer does not apply to --method {method}. Expected no "
            f"--layer, or one of the methods {', '.join(LAYER_METHODS)}."
        )
    if method == "gradient":
        return explain.gradient(model, x, target, layer)
    if method == "smoothgrad":
        return explain.smoothgrad(model, x, target, layer, n_samples=samples, seed=seed)
    if method == "guided":
        return explain.guided_backprop(model, x, target, layer)
    if method == "deconvnet":
        return explain.deconvnet(model, x, target, layer)
    if method == "gradient-x-input":
        return explain.gradient_x_input(model, x, target, layer)
    if method == "integrated-gradients":
        return explain.integrated_gradients(model, x, target, layer)
    if method == "gradcam":
        return explain.grad_cam(model, x, target, conv_layer=layer)
    if method == "guided-gradcam":
        return explain.guided_grad_cam(model, x, target, conv_layer=layer)
    H = x.shape[1]
    patch = max(2, round(H / 6))  # Zeiler & Fergus: a grey square about 1/5 of the image
    fill = x.mean(axis=(0, 1, 2))  # the image's mean colour
    return explain.occlusion(model, x, target, patch=patch, stride=max(1, patch // 2), fill=fill)


def predictions(model, x):
    """Class probabilities ``(K,)`` of one image, or None when the model is no classifier."""
    model.forward(x)
    key = model.logits
    if key is None or model.activations[key].ndim != 2:
        return None
    return softmax(model.activations[key].astype(np.float64))[0]


def target_text(info, labels, probs) -> str:
    """What was explained, in words: class and label, or channel and position."""
    t = info["target"]
    if t["kind"] in ("class", "probability"):
        c = t["classes"][0]
        name = f" '{labels[c]}'" if labels is not None and c < len(labels) else ""
        p = f", p = {probs[c]:.3f}" if probs is not None else ""
        how = "predicted " if t.get("predicted") else ""
        return f"{how}class {c}{name}{p}"
    if t["kind"] == "channel":
        pos = t["positions"][0]
        return (
            f"channel {t['channels'][0]} of {t['node']} at its strongest position "
            f"{tuple(pos[:-1])} (value {t['values'][0]:.3g})"
        )
    if t["kind"] == "strongest":
        return f"the strongest unit of {t['node']}, at {tuple(t['positions'][0])}"
    return t["explains"]


# ----------------------------------------------------------------------------- the figure


def _panels(maps, method, shown):
    """(map picture, its colour map, the overlay) for display."""
    kind = METHODS[method][1]
    raw = np.asarray(maps)
    if kind == "heat":
        heat = raw[0] / raw[0].max() if raw[0].max() > 0 else np.zeros(raw.shape[1:])
        return heat, "jet", explain.overlay(shown, heat, alpha=0.45)
    if kind == "diverging":
        signed = explain.normalize_diverging(raw)[0]
        return signed, "RdBu_r", explain.overlay(shown, signed, alpha=0.55, cmap="RdBu_r")
    magnitude = explain.normalize_percentile(raw)[0]
    if kind == "magnitude":
        gray = explain.channel_max_abs(raw)[0] if method == "gradient" else magnitude
        shown_map = explain.normalize_percentile(gray[None])[0]
        return shown_map, "gray", explain.overlay(shown, magnitude, alpha=0.5)
    picture = explain.normalize_minmax(raw)[0]
    if picture.shape[-1] == 1:
        picture = picture[..., 0]
    return picture, "gray", explain.overlay(shown, magnitude, alpha=0.5)


def draw_figure(shown, maps, method, title, subtitle, save):
    """Input | map | map over the input; returns the matplotlib Figure."""
    from matplotlib.figure import Figure

    picture, cmap, blended = _panels(maps, method, shown)
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    names = ("input", METHODS[method][0].split(" (")[0], "where: over the input")
    for k, (a, name) in enumerate(zip((shown, picture, blended), names)):
        ax = fig.add_subplot(1, 3, k + 1)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 1 and cmap == "RdBu_r":
            ax.imshow(a, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        elif k == 1 and a.ndim == 2:
            ax.imshow(a, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(np.clip(a, 0, 1), interpolation="nearest")
        ax.set_title(name, fontsize=9)
    fig.suptitle(f"{title}\n{subtitle}", fontsize=9)
    fig.savefig(os.fspath(save), dpi=110)
    return fig


@dataclass
class ExplainResult:
    """What :func:`explain_image` wrote and found."""

    out: Path
    method: str
    target: str
    top: list  # [(class, label, probability)], best first; empty for non-classifiers
    x: np.ndarray  # the network input, (1, H, W, C)
    maps: object  # the Explanation drawn


def explain_image(
    image,
    model=None,
    weights=None,
    vgg16=None,
    method="guided",
    target=None,
    layer=None,
    out=None,
    samples=None,
    seed=0,
    preprocess=None,
    labels=None,
) -> ExplainResult:
    """Explain one image file and write the figure (the work of ``minidecnn explain``).

    Parameters
    ----------
    image : path
        A PNG or JPEG file; resized to the model's input.
    model, weights, vgg16, preprocess, labels
        See :func:`load_model`.
    method : str, default "guided"
        One of :data:`METHODS` (or an alias such as ``"guided_backprop"``).
    target : int, optional
        A class at the logits (default: the predicted class), or with ``layer`` a
        channel of that layer (default: its strongest activation).
    layer : str, optional
    out : path, optional
        The PNG to write; default ``<image name>_<method>.png`` in the current folder.
    samples : int, optional
        SmoothGrad's noisy copies (default 50; 10 with VGG16, where each costs seconds).
    seed : int, default 0
        SmoothGrad's noise.

    Returns
    -------
    ExplainResult
    """
    import matplotlib

    matplotlib.use("Agg")
    method = method_name(method)
    rgb = read_image(image)
    loaded = load_model(model, weights, vgg16, preprocess, labels)
    net = loaded.model
    shown, x = to_model_input(rgb, net.input_shape, loaded.preprocess)
    probs = predictions(net, x)
    samples = samples or (10 if loaded.imagenet else 50)
    maps = run_method(net, x, method, target, layer, samples, seed)
    text = target_text(maps.info, loaded.labels, probs)
    out = Path(os.fspath(out)) if out else Path(f"{Path(os.fspath(image)).stem}_{method}.png")
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    H, W = net.input_shape[:2]
    subtitle = f"{loaded.description}; image {Path(os.fspath(image)).name} resized to {H}x{W}"
    draw_figure(shown, maps, method, f"{METHODS[method][0]} for {text}", subtitle, out)
    top = []
    if probs is not None:
        for c in np.argsort(-probs, kind="stable")[:5]:
            name = loaded.labels[c] if loaded.labels and c < len(loaded.labels) else f"class {c}"
            top.append((int(c), name, float(probs[c])))
    return ExplainResult(out=out, method=method, target=text, top=top, x=x, maps=maps)
