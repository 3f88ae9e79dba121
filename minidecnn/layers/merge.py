"""Layers that merge several tensors: Add and Concatenate."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import Layer


class Add(Layer):
    """Element-wise sum of two or more tensors of the same shape (a residual join).

    Notes
    -----
    Forward ``y = x_1 + ... + x_k``; backward sends the same signal to every input,
    ``dx_i = dout``. Deconv and guided do the same (the layer is linear). Where a
    residual branch and its shortcut meet again below, the model sums the two
    signals (see :meth:`minidecnn.model.Model.backward`).

    Examples
    --------
    >>> add = Add()
    >>> add.forward([np.array([[1.0, 2.0]]), np.array([[10.0, 20.0]])])
    array([[11., 22.]])
    >>> add.backward(np.array([[1.0, -1.0]]))
    [array([[ 1., -1.]]), array([[ 1., -1.]])]
    """

    linearity = "linear"
    multi_input = True
    cache_slots = ("x_shapes",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.x_shapes = None  # shapes of the last inputs

    def build(self, input_shape, seed=None):
        shapes = [tuple(s) for s in input_shape]
        if len({*shapes}) != 1:
            raise ShapeError(
                f"{self._where}: inputs must have the same shape. Expected equal shapes, "
                f"received {shapes}."
            )
        super().build(shapes, seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def forward(self, x, training=False):
        xs = self.check_inputs(x)
        self.x_shapes = [a.shape for a in xs]
        y = xs[0].astype(np.result_type(*xs), copy=True)
        for a in xs[1:]:
            y += a
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.x_shapes is None else self.x_shapes[0])
        return [dout.copy() for _ in self.x_shapes]  # copies: callers may add in place


class Concatenate(Layer):
    """Join tensors along ``axis`` (the channel axis by default).

    Notes
    -----
    Forward ``y = concat(x_1, ..., x_k, axis)``; backward (and deconv, guided) splits
    ``dout`` back into the pieces: ``dx_i = dout[..., offset_i : offset_i + C_i]``
    with ``offset_i = C_1 + ... + C_{i-1}``.

    Examples
    --------
    >>> cat = Concatenate()
    >>> cat.forward([np.array([[1.0]]), np.array([[2.0, 3.0]])])
    array([[1., 2., 3.]])
    >>> cat.backward(np.array([[10.0, 20.0, 30.0]]))
    [array([[10.]]), array([[20., 30.]])]
    """

    linearity = "linear"
    multi_input = True
    cache_slots = ("x_shapes",)

    def __init__(self, axis=-1, name=None):
        super().__init__(name=name)
        self.axis = int(axis)
        self.x_shapes = None  # shapes of the last inputs

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0]) + 1
        ax = self.axis % rank
        if not -rank <= self.axis < rank or ax == 0 or any(len(s) + 1 != rank for s in shapes):
            raise ShapeError(
                f"{self._where}: cannot concatenate shapes {shapes} on axis {self.axis}. "
                f"Expected inputs of equal rank joined on a non-batch axis."
            )
        rest = {s[: ax - 1] + s[ax:] for s in shapes}
        if len(rest) != 1:
            raise ShapeError(
                f"{self._where}: inputs must agree on every axis but {self.axis}. "
                f"Expected matching shapes, received {shapes}."
            )
        out = list(shapes[0])
        out[ax - 1] = sum(s[ax - 1] for s in shapes)
        return tuple(out)

    def forward(self, x, training=False):
        xs = self.check_inputs(x)
        self.x_shapes = [a.shape for a in xs]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, dout, param_grads=True):
        expected = None
        if self.x_shapes is not None:
            expected = (self.x_shapes[0][0], *self.output_shape)
        dout = self.check_dout(dout, expected)
        sizes = [s[self.axis] for s in self.x_shapes]
        return [part.copy() for part in np.split(dout, np.cumsum(sizes)[:-1], axis=self.axis)]

    def get_config(self):
        return {"axis": self.axis, "name": self.name}
