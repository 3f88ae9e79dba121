"""Feature evolution during training (Zeiler & Fergus 2014, Fig. 4).

For a fixed set of feature maps and a series of checkpoints (for example one per
epoch), recompute at every checkpoint the single strongest activation of each
map over the whole dataset, report which image produced it, and project it to
pixel space with the DeconvNet. A sudden change in the picture between two
checkpoints goes together with a change of that image (``changed`` below).

Examples
--------
>>> import numpy as np
>>> import minidecnn as mdc
>>> from minidecnn.layers import Conv2D, ReLU
>>> model = mdc.Sequential([mdc.Input((8, 8, 1)), Conv2D(2, 3, seed=0, name="conv"),
...                         ReLU(name="relu")])
>>> data = np.random.default_rng(0).standard_normal((10, 8, 8, 1)).astype(np.float32)
>>> W1, W2 = np.random.default_rng(1).standard_normal((2, 3, 3, 1, 2)).astype(np.float32)
>>> first = {"conv": {"W": W1, "b": np.zeros(2, np.float32)}}
>>> other = {"conv": {"W": W2, "b": np.zeros(2, np.float32)}}
>>> evo = feature_evolution(model, data, "relu", 0, [first, other, first],
...                         labels=["epoch 1", "epoch 2", "epoch 3"], progress=False)
>>> [(step.index, step.changed) for step in evo.steps[0]]
[(4, False), (6, True), (4, True)]
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ..errors import ModelFileError, TargetError
from ..model import Model
from .projection import _box, project_units, top_activations, truncated_model
from .receptive_field import Box


@dataclass
class EvolutionStep:
    """The strongest activation of one feature map at one checkpoint.

    Attributes
    ----------
    label : str
        The checkpoint's label (``"epoch 5"``).
    index : int
        Index of the image holding the strongest activation.
    position : tuple of int
        Its ``(h, w)`` in the layer's output.
    value : float
    changed : bool
        True when ``index`` differs from the previous checkpoint's.
    image, projection : ndarray of shape (H, W, C)
        The image and the activation projected alone to pixel space.
    box, full_box : Box
        The receptive field, clipped and unclipped.
    """

    label: str
    index: int
    position: tuple
    value: float
    changed: bool
    image: np.ndarray
    projection: np.ndarray
    box: Box
    full_box: Box

    @property
    def patch(self) -> np.ndarray:
        return self.box.crop(self.image)

    @property
    def projection_patch(self) -> np.ndarray:
        return self.box.crop(self.projection)


@dataclass
class FeatureEvolution:
    """Feature maps followed across checkpoints: ``steps[channel][checkpoint]``."""

    layer: str
    channels: list
    labels: list
    steps: dict
    n_images: int
    rule: str

    def describe(self) -> str:
        """A table: one row per channel, one column per checkpoint, ``*`` marks a new image."""
        cells = {
            c: [
                f"{'*' if s.changed else ''}{s.index} ({s.value:.3g})" if s.value != 0 else "dead"
                for s in self.steps[c]
            ]
            for c in self.channels
        }
        width = 2 + max(len(x) for x in [*self.labels, *(x for v in cells.values() for x in v)])
        lines = [
            f"Feature evolution of {self.layer!r} over {len(self.labels)} checkpoints: the "
            f"strongest activation among {self.n_images} images, projected alone with "
            f"rule={self.rule!r}. Each cell: image index (value); * = a different image "
            f"than at the previous checkpoint; dead = the map is 0 on every image.",
            f"{'channel':>7}  " + "".join(f"{label:>{width}}" for label in self.labels),
        ]
        for c in self.channels:
            lines.append(f"{c:>7}  " + "".join(f"{cell:>{width}}" for cell in cells[c]))
        return "\n".join(lines)

    def __str__(self):
        return self.describe()


def load_npz_weights(path) -> dict:
    """Read a ``.npz`` file whose arrays are named ``"<layer>/<param>"`` into a weights dict."""
    try:
        with np.load(path) as archive:
            weights = {}
            for key in archive.files:
                layer, _, param = key.rpartition("/")
                if not layer:
                    raise ModelFileError(
                        f"load_npz_weights: array {key!r} in {os.fspath(path)!r} is not named "
                        f"'<layer>/<param>'. Expected names such as 'conv1/W', received {key!r}."
                    )
                weights.setdefault(layer, {})[param] = archive[key]
    except (OSError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(
            f"load_npz_weights: cannot read {os.fspath(path)!r} ({exc}). Expected a .npz file "
            f"of arrays named '<layer>/<param>', or pass loader=... to feature_evolution."
        ) from None
    return weights


def _resolve(checkpoint, model, loader, k):
    """A model carrying the checkpoint's weights (``model`` itself, modified, if needed)."""
    if isinstance(checkpoint, Model):
        return checkpoint
    if isinstance(checkpoint, str | os.PathLike):
        checkpoint = (loader or load_npz_weights)(checkpoint)
        if isinstance(checkpoint, Model):
            return checkpoint
    if isinstance(checkpoint, dict):
        if model is None:
            raise TargetError(
                f"feature_evolution: checkpoint {k} is a weights dict but no model was given. "
                f"Expected model=<a Model to load the weights into>, received model=None."
            )
        model.set_weights(checkpoint)
        return model
    raise TypeError(
        f"feature_evolution: checkpoint {k} has type {type(checkpoint).__name__}. Expected a "
        f"Model, a weights dict (as from model.get_weights()) or a file path."
    )


def feature_evolution(
    model: Model | None,
    data,
    layer: str,
    channel,
    checkpoints,
    labels=None,
    batch_size: int = 32,
    rule: str = "deconvnet",
    loader=None,
    progress: bool = True,
) -> FeatureEvolution:
    """The strongest activation of each feature map, per checkpoint, projected to pixels.

    Parameters
    ----------
    model : Model or None
        The architecture into which weight dicts / files are loaded; its own weights
        are restored afterwards. May be None when every checkpoint is a Model.
    data : array of shape (N, H, W, C)
        The images to search (Zeiler & Fergus use the training set).
    layer : str
    channel : int or sequence of int
    checkpoints : sequence
        Models, weight dicts ``{layer: {param: array}}`` (``model.get_weights()``), or
        paths read by ``loader`` (default: :func:`load_npz_weights`).
    labels : sequence of str, optional
        One per checkpoint (``"epoch 1"``, ...); default ``"#0"``, ``"#1"``, ...
    batch_size, progress
        As in :func:`~minidecnn.explain.projection.top_activations`.
    rule : {"deconvnet", "guided", "gradient"}, default "deconvnet"
    loader : callable, optional
        ``loader(path)`` returns a weights dict or a Model.

    Returns
    -------
    FeatureEvolution
        ``steps[channel]`` is a list of :class:`EvolutionStep`, one per checkpoint.

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014, §4.1.
    """
    checkpoints = list(checkpoints)
    if not checkpoints:
        raise TargetError(
            "feature_evolution: no checkpoints. Expected a non-empty list of models, weight "
            "dicts or files, received an empty list."
        )
    labels = [f"#{k}" for k in range(len(checkpoints))] if labels is None else list(labels)
    if len(labels) != len(checkpoints):
        raise TargetError(
            f"feature_evolution: one label per checkpoint is needed. Expected "
            f"{len(checkpoints)} labels, received {len(labels)}."
        )
    single = isinstance(channel, int | np.integer) and not isinstance(channel, bool)
    channels = [int(channel)] if single else [int(c) for c in channel]
    original = model.get_weights() if model is not None else None
    steps = {c: [] for c in channels}
    try:
        for k, (checkpoint, label) in enumerate(
            tqdm(list(zip(checkpoints, labels)), disable=not progress, desc="checkpoints")
        ):
            current = _resolve(checkpoint, model, loader, k)
            truncated_model(current, layer)  # validates the layer early, with a clear error
            tops = top_activations(
                current, data, layer, channels, k=1, batch_size=batch_size, progress=False
            )
            records = [tops[c][0] for c in channels]
            images = np.stack([np.asarray(data[r.index]) for r in records])
            units = [(*r.position, c) for r, c in zip(records, channels)]
            projections, _ = project_units(current, images, layer, units, rule=rule)
            for c, rec, img, proj in zip(channels, records, images, projections):
                previous = steps[c][-1].index if steps[c] else rec.index
                steps[c].append(
                    EvolutionStep(
                        label=str(label),
                        index=rec.index,
                        position=rec.position,
                        value=rec.value,
                        changed=rec.index != previous,
                        image=img,
                        projection=proj,
                        box=_box(current, layer, rec.position, c, True),
                        full_box=_box(current, layer, rec.position, c, False),
                    )
                )
    finally:
        if original is not None:
            model.set_weights(original)
    return FeatureEvolution(layer, channels, [str(x) for x in labels], steps, len(data), rule)
