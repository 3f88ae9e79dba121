"""Receptive fields: the box of input pixels that one unit of a layer can see.

The box is computed from the layer arithmetic alone, by propagating index
ranges from the unit down to the input, one layer at a time (Zeiler & Fergus
crop their top-9 patches with it). Per spatial axis, with ``[i0, i1]`` the
rows (or columns) reached at a layer's output:

* a window layer (convolution or pooling) with kernel ``k``, stride ``s`` and
  ``p`` padded rows before the first (``"same"`` padding as in TensorFlow,
  see :mod:`minidecnn.kernels.geometry`)::

      [i0, i1]  ->  [s*i0 - p,  s*i1 - p + k - 1]

* ``ZeroPadding2D`` with ``top`` rows added: ``[i0 - top, i1 - top]``;
* elementwise layers (activations, BatchNormalization, Dropout, Rescaling):
  unchanged; ``Softmax`` reaches its whole axis;
* ``Dense`` reaches its whole last axis, ``Flatten`` maps flat indices back to
  ``(h, w, c)``, global pooling reaches every position of its channels;
* ``Add`` sends the same range to every input; ``Concatenate`` sends each input
  its share; where a tensor feeds several layers the ranges are joined.

After every layer the range is clipped to the tensor (rows in the padding see
nothing). Channels are tracked too, so a unit behind a ``Concatenate`` or a
``DepthwiseConv2D`` reaches only the branches and channels it reads. The result
is the smallest box that contains every input pixel the unit depends on: the
DeconvNet projection (and the gradient) of that unit is exactly zero outside
it. Where two paths reach the input (``Add``, ``Concatenate``, a tensor used
twice), the box is the smallest box holding both paths' boxes.

Equivalently, for a plain chain the box has side ``r_l`` and moves by ``j_l``
pixels per output step, with ``j_l = j_{l-1} s_l`` and
``r_l = r_{l-1} + (k_l - 1) j_{l-1}`` (``j_0 = r_0 = 1``).

Examples
--------
Two 3x3 convolutions and a 2x2 max-pool: a unit of the pool sees a 6x6 box.

>>> import minidecnn as mdc
>>> from minidecnn.layers import Conv2D, MaxPool2D
>>> model = mdc.Sequential([mdc.Input((16, 16, 1)), Conv2D(2, 3, name="c1"),
...                         Conv2D(2, 3, name="c2"), MaxPool2D(2, name="pool")])
>>> receptive_field(model, "pool", (1, 2))
Box(top=2, bottom=7, left=4, right=9)
>>> receptive_field(model, "pool", (1, 2)).shape
(6, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MinidecnnError, ShapeError, TargetError
from ..layers.activations import ELEMENTWISE, Softmax
from ..layers.conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from ..layers.core import Dense, Dropout, Flatten, Rescaling, ZeroPadding2D
from ..layers.merge import Add, Concatenate
from ..layers.normalization import BatchNormalization
from ..layers.pooling import AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D, MaxPool2D
from ..model import Model

# A region of a tensor (batch axis excluded): one inclusive interval (lo, hi) per axis.
# ``None`` stands for "no element": a unit that sees nothing of this tensor.


@dataclass(frozen=True)
class Box:
    """Inclusive pixel ranges ``rows top..bottom`` and ``columns left..right``.

    Built by :func:`receptive_field`. A box computed with ``clip=False`` may reach
    outside the image (negative indices, or beyond ``H - 1``); :meth:`crop` pads it.

    Examples
    --------
    >>> box = Box(1, 2, 0, 2)
    >>> box.shape, box.slices
    ((2, 3), (slice(1, 3, None), slice(0, 3, None)))
    >>> image = np.arange(16.0).reshape(4, 4, 1)
    >>> box.crop(image)[..., 0]
    array([[ 4.,  5.,  6.],
           [ 8.,  9., 10.]])
    >>> Box(-1, 0, 3, 4).crop(image, fill=-1.0)[..., 0]
    array([[-1., -1.],
           [ 3., -1.]])
    """

    top: int
    bottom: int
    left: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``."""
        return (self.height, self.width)

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, columns)`` slices, for a box inside the image: ``image[box.slices]``."""
        return slice(self.top, self.bottom + 1), slice(self.left, self.right + 1)

    def contains(self, row: int, col: int) -> bool:
        return self.top <= row <= self.bottom and self.left <= col <= self.right

    def inside(self, height: int, width: int) -> bool:
        """True when the box lies within an image of ``height x width``."""
        return self.top >= 0 and self.left >= 0 and self.bottom < height and self.right < width

    def union(self, other: Box) -> Box:
        """The smallest box holding both boxes."""
        return Box(
            min(self.top, other.top),
            max(self.bottom, other.bottom),
            min(self.left, other.left),
            max(self.right, other.right),
        )

    def clip(self, height: int, width: int) -> Box | None:
        """The part inside an image of ``height x width``, or None when there is none."""
        top, bottom = max(self.top, 0), min(self.bottom, height - 1)
        left, right = max(self.left, 0), min(self.right, width - 1)
        if top > bottom or left > right:
            return None
        return Box(top, bottom, left, right)

    def crop(self, image: np.ndarray, fill: float | None = None) -> np.ndarray:
        """The ``(height, width, ...)`` piece of ``image`` (shape ``(H, W, ...)``) under the box.

        Parameters
        ----------
        image : ndarray of shape (H, W) or (H, W, C)
        fill : float, optional
            Value for the cells of a box that reaches outside the image. Without it
            such a box raises :class:`~minidecnn.errors.ShapeError`.
        """
        H, W = image.shape[:2]
        if self.inside(H, W):
            return image[self.slices].copy()
        if fill is None:
            raise ShapeError(
                f"Box.crop: the box {self} reaches outside the {H}x{W} image. Expected a "
                f"box inside the image, received one of shape {self.shape}. Pass fill=... "
                f"to pad the outside, or use a box computed with clip=True."
            )
        out = np.full((self.height, self.width, *image.shape[2:]), fill, dtype=image.dtype)
        inner = self.clip(H, W)
        if inner is not None:
            rows = slice(inner.top - self.top, inner.bottom - self.top + 1)
            cols = slice(inner.left - self.left, inner.right - self.left + 1)
            out[rows, cols] = image[inner.slices]
        return out


# ----------------------------------------------------------------------------- rules
#
# A rule maps the region reached at a layer's output to the region(s) reached at its
# input(s): rule(layer, region, input_shape, clip) -> region, or a list for merge layers.


def _clip_interval(lo, hi, size, clip):
    if clip:
        lo, hi = max(lo, 0), min(hi, size - 1)
    return None if lo > hi else (lo, hi)


def _windowed(layer, region, input_shape, clip):
    (r0, r1), (c0, c1), (ch0, ch1) = region
    KH, KW, sh, sw, pt, pl, _, _ = layer.geometry(input_shape)
    H, W, C = input_shape
    rows = _clip_interval(sh * r0 - pt, sh * r1 - pt + KH - 1, H, clip)
    cols = _clip_interval(sw * c0 - pl, sw * c1 - pl + KW - 1, W, clip)
    if isinstance(layer, DepthwiseConv2D):  # output channel c*M + m reads input channel c
        M = layer.depth_multiplier
        channels = (ch0 // M, ch1 // M)
    elif isinstance(layer, Conv2D | SeparableConv2D):  # every filter reads every channel
        channels = (0, C - 1)
    else:  # pooling works channel by channel
        channels = (ch0, ch1)
    return None if rows is None or cols is None else [rows, cols, channels]


def _zero_padding(layer, region, input_shape, clip):
    (r0, r1), (c0, c1), channels = region
    (top, _), (left, _) = layer.padding
    H, W, _ = input_shape
    rows = _clip_interval(r0 - top, r1 - top, H, True)  # the padding itself sees nothing
    cols = _clip_interval(c0 - left, c1 - left, W, True)
    if not clip:  # keep the unclipped offsets for display, but only if something is seen
        rows = None if rows is None else (r0 - top, r1 - top)
        cols = None if cols is None else (c0 - left, c1 - left)
    return None if rows is None or cols is None else [rows, cols, channels]


def _elementwise(layer, region, input_shape, clip):
    return list(region)


def _softmax(layer, region, input_shape, clip):
    region = list(region)
    axis = layer.axis % len(input_shape) if layer.axis < 0 else layer.axis - 1
    region[axis] = (0, input_shape[axis] - 1)
    return region


def _dense(layer, region, input_shape, clip):
    return [*region[:-1], (0, input_shape[-1] - 1)]


def _flatten(layer, region, input_shape, clip):
    (k0, k1), shape = region[0], input_shape
    first, last = np.unravel_index(k0, shape), np.unravel_index(k1, shape)
    out = []
    for axis in range(len(shape)):  # the hull of the flat range, axis by axis
        if all(first[a] == last[a] for a in range(axis)):
            out.append((int(first[axis]), int(last[axis])))
        else:
            out.append((0, shape[axis] - 1))
    return out


def _global_pool(layer, region, input_shape, clip):
    channels = region[-1]
    return [*[(0, n - 1) for n in input_shape[:-1]], channels]


def _add(layer, region, input_shapes, clip):
    return [list(region) for _ in input_shapes]


def _concatenate(layer, region, input_shapes, clip):
    axis = layer.axis % (len(input_shapes[0]) + 1) - 1  # without the batch axis
    lo, hi = region[axis]
    out, offset = [], 0
    for shape in input_shapes:
        size = shape[axis]
        part = _clip_interval(lo - offset, hi - offset, size, True)
        if part is None:
            out.append(None)
        else:
            piece = list(region)
            piece[axis] = part
            out.append(piece)
        offset += size
    return out


#: Receptive-field rule of each layer class. Another layer class can be supported by
#: adding ``RULES[MyLayer] = rule`` with ``rule(layer, region, input_shape, clip)``.
RULES = {
    Conv2D: _windowed,
    DepthwiseConv2D: _windowed,
    SeparableConv2D: _windowed,
    MaxPool2D: _windowed,
    AvgPool2D: _windowed,
    ZeroPadding2D: _zero_padding,
    **dict.fromkeys(ELEMENTWISE, _elementwise),  # ReLU, LeakyReLU, ELU, ..., Tanh
    Dropout: _elementwise,
    Rescaling: _elementwise,
    BatchNormalization: _elementwise,
    Softmax: _softmax,
    Dense: _dense,
    Flatten: _flatten,
    GlobalAvgPool2D: _global_pool,
    GlobalMaxPool2D: _global_pool,
    Add: _add,
    Concatenate: _concatenate,
}


def _rule_for(layer):
    for cls in type(layer).__mro__:
        if cls in RULES:
            return RULES[cls]
    known = sorted(c.__name__ for c in RULES)
    raise MinidecnnError(
        f"receptive_field: no receptive-field rule for layer {layer.name!r} of type "
        f"{type(layer).__name__}. Expected one of {', '.join(known)} (or a nested Model), "
        f"received {type(layer).__name__}. Add a rule to "
        f"minidecnn.explain.receptive_field.RULES."
    )


def _hull(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return [(min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b)]


def _propagate(model: Model, start_tensor, region, clip):
    """Regions reached at each of ``model``'s inputs (a list, ``None`` for none)."""
    regions = {start_tensor.id: region}
    for node in reversed(model.nodes):
        reached = regions.pop(node.output.id, None)
        if reached is None:
            continue
        layer = node.layer
        shapes = [t.shape[1:] for t in node.inputs]
        if isinstance(layer, Model):
            below = _propagate(layer, layer.outputs[0], reached, clip)
        elif layer.multi_input:
            below = _rule_for(layer)(layer, reached, shapes, clip)
        else:
            below = [_rule_for(layer)(layer, reached, shapes[0], clip)]
        for t, r in zip(node.inputs, below):
            if r is not None:
                regions[t.id] = _hull(regions.get(t.id), r)
    return [regions.get(t.id) for t in model.inputs]


def _unit_region(model, key, position):
    node = model.node(key)
    shape = node.output.shape[1:]
    where = f"receptive_field(layer={key!r})"
    try:
        position = tuple(int(p) for p in position)
    except (TypeError, ValueError):
        position = None
    n_spatial = len(shape) - 1 if len(shape) == 3 else len(shape)
    if position is None or len(position) not in (n_spatial, len(shape)):
        example = "(h, w) or (h, w, c)" if len(shape) == 3 else f"{len(shape)} indices"
        raise TargetError(
            f"{where}: invalid position. Expected {example} for an output of shape "
            f"{shape}, received {position!r}."
        )
    for p, n in zip(position, shape):
        if not 0 <= p < n:
            raise TargetError(
                f"{where}: position {position} is outside the output of shape {shape}. "
                f"Expected indices 0 <= i < size on every axis, received {position}."
            )
    region = [(p, p) for p in position]
    region += [(0, n - 1) for n in shape[len(position) :]]  # every channel when not given
    return node, region


def receptive_field(model: Model, layer: str, position, clip: bool = True):
    """The box of input pixels that the unit ``layer[position]`` depends on.

    Parameters
    ----------
    model : Model or Sequential
    layer : str
        Layer name (or node key ``"name:k"`` for a second call of a shared layer).
    position : tuple of int
        ``(h, w)`` (every channel) or ``(h, w, c)`` for a layer with outputs of
        shape ``(N, H_out, W_out, C)``; ``(d,)`` for a vector output.
    clip : bool, default True
        Clip the ranges to each tensor (the exact box). With False, windows that
        hang over the padding keep their full size: every unit of a layer then gets a
        box of the same shape, which lines up crops in a figure (use
        :meth:`Box.crop` with ``fill``).

    Returns
    -------
    Box or None
        In the coordinates of the model input ``(H, W, C)``; None when the unit sees
        no input pixel (a unit inside a ``ZeroPadding2D`` border). For a model with
        several inputs, a dict ``{input name: Box or None}``.

    Raises
    ------
    UnknownNameError
        For an unknown layer name (with the closest names).
    TargetError
        For a position of the wrong length or outside the layer's output.
    MinidecnnError
        For a layer type without a receptive-field rule.

    Notes
    -----
    Per spatial axis a window layer maps output rows ``[i0, i1]`` to input rows
    ``[s*i0 - p, s*i1 - p + k - 1]`` (kernel ``k``, stride ``s``, ``p`` rows of
    padding before), clipped to ``[0, H - 1]``; see the module docstring for the
    other layers.

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014.
    Dumoulin & Visin, A guide to convolution arithmetic for deep learning, 2016.
    """
    if not isinstance(model, Model):
        raise TypeError(
            f"receptive_field: expected a minidecnn Model or Sequential, received "
            f"{type(model).__name__}."
        )
    if not model.built or not model.nodes:
        raise MinidecnnError(
            "receptive_field: the model is not built. Expected a model with an Input, "
            "received an unbuilt Sequential. Pass input_shape=... or run forward once."
        )
    node, region = _unit_region(model, layer, position)
    reached = _propagate(model, node.output, region, clip)
    boxes = {}
    for t, r in zip(model.inputs, reached):
        if len(t.shape) != 4:
            raise ShapeError(
                f"receptive_field: the model input {t.name!r} has shape {t.shape}. "
                f"Expected images (N, H, W, C), received a rank-{len(t.shape)} input."
            )
        boxes[t.name] = None if r is None else Box(r[0][0], r[0][1], r[1][0], r[1][1])
    return boxes if len(boxes) > 1 else next(iter(boxes.values()))
