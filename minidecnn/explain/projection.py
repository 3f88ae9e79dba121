"""Zeiler & Fergus top-k projections: what drives one feature map, shown in pixel space.

For feature map ``c`` of layer ``l`` (Zeiler & Fergus 2014, §2.1 and Fig. 2):

1. scan a dataset and keep the ``k`` largest activations ``a^l[n, h, w, c]``
   (by default at most one per image, the image's strongest position);
2. for each of them, forward its image, keep **that one activation with its
   value** and set every other activation of layer ``l`` to zero;
3. send this tensor down through the DeconvNet (unpool with the switches,
   rectify, filter with the transposed filters) to pixel space;
4. crop the projection and the image to the unit's receptive field
   (:func:`~minidecnn.explain.receptive_field.receptive_field`): the projection
   is exactly zero outside it.

Step 3 is ``model.backward(mask, rule="deconvnet", start=layer)`` with a mask
that is zero except at the chosen unit. The images of one batch go down
together, but each row of the batch carries its own single activation, so each
projection is the projection of that activation alone.

Examples
--------
>>> import numpy as np
>>> import minidecnn as mdc
>>> from minidecnn.layers import Conv2D, ReLU, MaxPool2D
>>> model = mdc.Sequential([mdc.Input((12, 12, 1)), Conv2D(4, 3, seed=0, name="conv"),
...                         ReLU(name="relu"), MaxPool2D(2, name="pool")])
>>> images = np.random.default_rng(0).standard_normal((20, 12, 12, 1)).astype(np.float32)
>>> top = top_projections(model, images, "pool", channel=1, k=3, progress=False)
>>> len(top.records), top.projections.shape, top.patches[0].shape
(3, (3, 12, 12, 1), (4, 4, 1))
>>> top.records[0].value >= top.records[1].value >= top.records[2].value
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..errors import MinidecnnError, ShapeError, TargetError
from ..model import Model
from .receptive_field import Box, receptive_field

RULES = ("deconvnet", "guided", "gradient")


@dataclass(frozen=True)
class TopActivation:
    """One strong activation: the image it came from, where, and how large.

    Attributes
    ----------
    index : int
        Index of the image in the dataset.
    position : tuple of int
        ``(h, w)`` in the layer's output (``()`` for a vector layer).
    value : float
        The activation ``a[index, h, w, channel]``.
    """

    index: int
    position: tuple
    value: float


@dataclass
class TopProjections:
    """The top-k activations of one channel and their projections to pixel space.

    Attributes
    ----------
    layer : str
    channel : int
    rule : str
        How the projection went down (``"deconvnet"``, as Zeiler & Fergus).
    records : list of TopActivation
        Largest first.
    images : ndarray of shape (k, H, W, C)
        The images the activations came from.
    projections : ndarray of shape (k, H, W, C)
        Each activation projected alone, in pixel space (raw numbers).
    boxes : list of Box
        The receptive field of each activation, clipped to the image.
    full_boxes : list of Box
        The same boxes unclipped (all of one shape), for lining up crops in a figure.
    n_images : int
        How many images were scanned.
    one_per_image : bool
    """

    layer: str
    channel: int
    rule: str
    records: list
    images: np.ndarray
    projections: np.ndarray
    boxes: list
    full_boxes: list
    n_images: int
    one_per_image: bool
    extra: dict = field(default_factory=dict)

    @property
    def patches(self) -> list[np.ndarray]:
        """The image patches under the receptive fields, ``(h, w, C)`` each."""
        return [box.crop(img) for box, img in zip(self.boxes, self.images)]

    @property
    def projection_patches(self) -> list[np.ndarray]:
        """The projections cropped to the same boxes."""
        return [box.crop(p) for box, p in zip(self.boxes, self.projections)]

    def describe(self) -> str:
        """A table of the records: rank, image index, position, value and box."""
        policy = "at most one per image" if self.one_per_image else "several per image allowed"
        lines = [
            f"Zeiler & Fergus top-{len(self.records)} of channel {self.channel} of "
            f"{self.layer!r} over {self.n_images} images ({policy}); each activation "
            f"projected alone with rule={self.rule!r}, every other activation of the layer "
            f"set to zero.",
            f"{'rank':>4}  {'image':>6}  {'position':>10}  {'value':>11}  receptive field",
        ]
        for rank, (rec, box) in enumerate(zip(self.records, self.boxes), 1):
            where = (
                f"rows {box.top}-{box.bottom}, cols {box.left}-{box.right}"
                if box is not None
                else "none"
            )
            lines.append(
                f"{rank:>4}  {rec.index:>6}  {rec.position!s:>10}  {rec.value:>11.5g}  {where}"
            )
        return "\n".join(lines)

    def __str__(self):
        return self.describe()


# ----------------------------------------------------------------------------- helpers


def truncated_model(model: Model, layer: str) -> Model:
    """A model sharing ``model``'s layers that stops at node ``layer``.

    Scanning a dataset only needs the layers below ``layer``; the classifier on top
    is skipped.
    """
    if not isinstance(model, Model):
        raise TypeError(
            f"Expected a minidecnn Model or Sequential, received {type(model).__name__}."
        )
    if not model.built or not model.nodes:
        raise MinidecnnError(
            f"Model '{model.name}' is not built. Expected a model with an Input, received "
            f"an unbuilt Sequential. Pass input_shape=... or run forward once."
        )
    if len(model.inputs) != 1:
        raise MinidecnnError(
            f"Model '{model.name}': Zeiler & Fergus projections need a model with one image "
            f"input. Expected 1 input, received {len(model.inputs)}."
        )
    node = model.node(layer)
    if node is model.nodes[-1] and len(model.outputs) == 1:
        return model
    return Model(model.inputs[0], node.output, name=f"{model.name}_to_{node.key}")


def _check_channels(channels, n_channels, layer, where):
    single = isinstance(channels, int | np.integer) and not isinstance(channels, bool)
    chans = [channels] if single else list(channels)
    for c in chans:
        if isinstance(c, bool) or not isinstance(c, int | np.integer) or not 0 <= c < n_channels:
            raise TargetError(
                f"{where}: invalid channel {c!r} for layer {layer!r}. Expected an int in "
                f"[0, {n_channels - 1}] (the layer has {n_channels} channels), received {c!r}."
            )
    if not chans:
        raise TargetError(f"{where}: no channel given. Expected an int or a list of ints.")
    return single, [int(c) for c in chans]


def _check_data(data, input_shape, where):
    try:
        n = len(data)
        shape = tuple(data.shape)
    except (TypeError, AttributeError):
        raise TypeError(
            f"{where}: expected the dataset as an array of shape (N, H, W, C) (a NumPy "
            f"array, a memmap or an h5py dataset), received {type(data).__name__}."
        ) from None
    if shape[1:] != tuple(input_shape) or n == 0:
        raise ShapeError(
            f"{where}: wrong dataset shape. Expected (N, {', '.join(map(str, input_shape))}) "
            f"with N >= 1, received {shape}."
        )
    return n


def _check_positive_int(value, name, where):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{where}: invalid {name}. Expected an int >= 1, received {value!r}.")
    return int(value)


def _best(values, index, positions, k):
    """The ``k`` largest values; ties go to the smaller image index, then row-major position."""
    order = np.lexsort((positions, index, -values))[:k]
    return values[order], index[order], positions[order]


# ----------------------------------------------------------------------------- scanning


def top_activations(
    model: Model,
    data,
    layer: str,
    channel,
    k: int = 9,
    one_per_image: bool = True,
    batch_size: int = 32,
    progress: bool = True,
):
    """Scan ``data`` for the ``k`` largest activations of ``channel`` in ``layer``.

    Parameters
    ----------
    model : Model or Sequential
    data : array of shape (N, H, W, C)
        Anything with ``len``, ``shape`` and slicing (NumPy array, memmap, h5py dataset),
        preprocessed as the model expects. Read ``batch_size`` images at a time.
    layer : str
        Layer name or node key; its output is ``(N, H_out, W_out, C_out)`` or ``(N, D)``.
    channel : int or sequence of int
        Feature map(s) to rank; several channels share one pass over the data.
    k : int, default 9
    one_per_image : bool, default True
        Keep at most one activation (the strongest position) per image. With False an
        image can supply several positions.
    batch_size : int, default 32
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    list of TopActivation, largest first (fewer than ``k`` when the dataset is small),
    or a dict ``{channel: list}`` when ``channel`` is a sequence.

    Notes
    -----
    Ties are broken deterministically: the smaller image index first, then the
    first position in row-major order (the rule of the max-pool switches).
    """
    where = "top_activations"
    k = _check_positive_int(k, "k", where)
    batch_size = _check_positive_int(batch_size, "batch_size", where)
    sub = truncated_model(model, layer)
    out_shape = sub.output_shape
    single, chans = _check_channels(channel, out_shape[-1], layer, where)
    n = _check_data(data, sub.input_shape, where)
    spatial = out_shape[:-1]
    best = {c: (np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)) for c in chans}
    bar = tqdm(total=n, disable=not progress, desc=f"scanning {layer}", unit="img", leave=False)
    try:
        for s in range(0, n, batch_size):
            acts = sub.forward(np.asarray(data[s : s + batch_size]))
            m = len(acts)
            flat = acts.reshape(m, -1, out_shape[-1])  # (m, positions, channels)
            for c in chans:
                a = flat[:, :, c]
                if one_per_image:
                    pos = a.argmax(axis=1)  # first maximum in row-major order
                    vals = a[np.arange(m), pos]
                    idx = np.arange(s, s + m)
                else:
                    vals = a.ravel()
                    if vals.size > k:  # keep everything >= the k-th largest (ties included)
                        kth = np.partition(vals, vals.size - k)[vals.size - k]
                        keep = np.flatnonzero(vals >= kth)
                    else:
                        keep = np.arange(vals.size)
                    vals = vals[keep]
                    idx, pos = np.divmod(keep, a.shape[1])
                    idx = idx + s
                old = best[c]
                best[c] = _best(
                    np.concatenate([old[0], vals.astype(np.float64)]),
                    np.concatenate([old[1], idx]),
                    np.concatenate([old[2], pos]),
                    k,
                )
            bar.update(m)
    finally:
        bar.close()
    result = {}
    for c in chans:
        vals, idx, pos = best[c]
        result[c] = [
            TopActivation(
                int(i), tuple(int(q) for q in np.unravel_index(p, spatial)) if spatial else (), v
            )
            for v, i, p in zip(vals.tolist(), idx, pos)
        ]
    return result[chans[0]] if single else result


# ----------------------------------------------------------------------------- projecting


def project_units(model: Model, images, layer: str, units, rule: str = "deconvnet"):
    """Project single activations of ``layer`` to pixel space, one per image.

    Parameters
    ----------
    model : Model or Sequential
    images : ndarray of shape (n, H, W, C)
    layer : str
    units : list of tuple
        One unit per image: ``(h, w, c)`` (``(d,)`` for a vector layer).
    rule : {"deconvnet", "guided", "gradient"}, default "deconvnet"

    Returns
    -------
    projections : ndarray of shape (n, H, W, C)
        Row ``i`` is ``backward(mask_i)`` where ``mask_i`` is zero except at
        ``units[i]``, which keeps its activation value.
    values : ndarray of shape (n,)
        The activations that were kept.
    """
    where = "project_units"
    if rule not in RULES:
        raise ValueError(f"{where}: unknown rule. Expected one of {RULES}, received {rule!r}.")
    sub = truncated_model(model, layer)
    images = np.asarray(images)
    if len(units) != len(images):
        raise TargetError(
            f"{where}: one unit per image is needed. Expected {len(images)} units, "
            f"received {len(units)}."
        )
    acts = sub.forward(images)
    mask = np.zeros_like(acts)
    values = np.empty(len(units), np.float64)
    for i, unit in enumerate(units):
        unit = tuple(int(u) for u in unit)
        if len(unit) != acts.ndim - 1 or not all(0 <= u < d for u, d in zip(unit, acts.shape[1:])):
            raise TargetError(
                f"{where}: invalid unit {unit} for layer {layer!r} with outputs of shape "
                f"{acts.shape[1:]}. Expected one index per axis, inside the shape."
            )
        mask[(i, *unit)] = acts[(i, *unit)]  # keep its value, zero every other activation
        values[i] = acts[(i, *unit)]
    projections = sub.backward(mask, rule=rule, param_grads=False)
    return projections, values


def top_projections(
    model: Model,
    data,
    layer: str,
    channel,
    k: int = 9,
    one_per_image: bool = True,
    batch_size: int = 32,
    rule: str = "deconvnet",
    progress: bool = True,
):
    """Zeiler & Fergus's figure 2 for one (or several) feature maps: top-k, projected, cropped.

    Parameters
    ----------
    model, data, layer, k, one_per_image, batch_size, progress
        As in :func:`top_activations`.
    channel : int or sequence of int
    rule : {"deconvnet", "guided", "gradient"}, default "deconvnet"
        The backward rule of the projection; Zeiler & Fergus use the DeconvNet.

    Returns
    -------
    TopProjections, or a list of them (one per channel) when ``channel`` is a sequence.

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014.
    """
    tops = top_activations(
        model, data, layer, channel, k, one_per_image, batch_size, progress=progress
    )
    single = not isinstance(tops, dict)
    tops = {int(channel): tops} if single else tops
    results = []
    for c, records in tops.items():
        index = [r.index for r in records]
        images = np.stack([np.asarray(data[i]) for i in index])
        units = [(*r.position, c) for r in records]
        projections, _ = project_units(model, images, layer, units, rule=rule)
        results.append(
            TopProjections(
                layer=layer,
                channel=c,
                rule=rule,
                records=records,
                images=images,
                projections=projections,
                boxes=[_box(model, layer, r.position, c, True) for r in records],
                full_boxes=[_box(model, layer, r.position, c, False) for r in records],
                n_images=len(data),
                one_per_image=one_per_image,
            )
        )
    return results[0] if single else results


def _box(model, layer, position, channel, clip) -> Box:
    """The receptive field of one unit; the whole image for a vector layer."""
    unit = (*position, channel) if position else (channel,)
    box = receptive_field(model, layer, unit, clip=clip)
    H, W = model.input_shape[:2]
    return box if box is not None else Box(0, H - 1, 0, W - 1)
