"""Pooling layers: MaxPool2D (with switches), AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..kernels import avgpool_backward, avgpool_forward, maxpool_forward, route_switches
from .base import Layer
from .conv import _Windowed


class _Pool2D(_Windowed):
    """Windowed pooling: ``strides`` defaults to ``pool_size`` as in Keras.

    ``H_out = floor((H - KH) / sh) + 1`` with ``"valid"`` and ``ceil(H / sh)`` with
    ``"same"`` (where ``KH = pool_size[0]``); the same for the width.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(pool_size, pool_size if strides is None else strides, padding, name, None)

    @property
    def pool_size(self):
        return self.kernel_size

    def compute_output_shape(self, input_shape):
        *_, H_out, W_out = self.geometry(input_shape)
        return (H_out, W_out, input_shape[-1])

    def get_config(self):
        return {
            "pool_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "name": self.name,
        }


class MaxPool2D(_Pool2D):
    """Max-pooling that stores its switches.

    Parameters
    ----------
    pool_size : int or (int, int), default 2
    strides : int or (int, int), optional
        Defaults to ``pool_size``.
    padding : {"valid", "same"}, default "valid"
        With ``"same"``, padded cells never win.

    Notes
    -----
    Forward::

        y[n, i, j, c] = max_{u, v} x_pad[n, i*sh + u, j*sw + v, c]
        switches[n, i, j, c] = h*W + w of the winner (first maximum in row-major order)

    Backward routes each signal to its switch (overlapping windows add)::

        dx[n, h, w, c] = sum_{(i, j): switches[n, i, j, c] = h*W + w} dout[n, i, j, c]

    Deconv is Zeiler & Fergus's *unpooling* with the same switches, which is the
    same operation: all three rules route through the switches.

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014.

    Examples
    --------
    The 4 wins its window and receives the whole signal:

    >>> pool = MaxPool2D(2)
    >>> x = np.array([[1.0, 2.0], [4.0, 3.0]], dtype=np.float32).reshape(1, 2, 2, 1)
    >>> pool.forward(x).ravel(), pool.backward(np.full((1, 1, 1, 1), 5.0, np.float32)).ravel()
    (array([4.], dtype=float32), array([0., 0., 5., 0.], dtype=float32))

    In a tie the first cell in row-major order wins:

    >>> _ = pool.forward(np.full((1, 2, 2, 1), 7.0, np.float32))
    >>> pool.deconv(np.full((1, 1, 1, 1), 5.0, np.float32)).ravel()
    array([5., 0., 0., 0.], dtype=float32)
    """

    keras_class = "MaxPooling2D"

    linearity = "piecewise_linear"
    cache_slots = ("x_shape", "switches")

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(pool_size, strides, padding, name)
        self.x_shape = None  # shape of the last input, (N, H, W, C)
        self.switches = None  # flat index h*W + w of each window's winner, (N, H_out, W_out, C)

    def forward(self, x, training=False):
        x = self.check_input(x)
        y, self.switches = maxpool_forward(x, *self.geometry(x.shape[1:]))
        self.x_shape = x.shape
        return y

    def backward(self, dout, param_grads=True):
        shape = None if self.x_shape is None else self.switches.shape
        dout = self.check_dout(dout, shape)
        _, H, W, _ = self.x_shape
        return route_switches(dout, self.switches, H, W)

    def unpool(self, dout):
        """Zeiler & Fergus unpooling through the stored switches (the same as ``deconv``)."""
        return self.deconv(dout)


class AvgPool2D(_Pool2D):
    """Average pooling; with ``"same"`` padding, padded cells are not counted.

    Notes
    -----
    Forward / backward, with ``S_ij`` the real (unpadded) cells of window ``(i, j)``::

        y[n, i, j, c]   = mean_{(h, w) in S_ij} x[n, h, w, c]
        dx[n, h, w, c]  = sum_{(i, j): (h, w) in S_ij} dout[n, i, j, c] / |S_ij|

    The layer is linear, so deconv and guided equal the gradient.

    Examples
    --------
    >>> pool = AvgPool2D(2)
    >>> x = np.array([[1.0, 2.0], [4.0, 5.0]], dtype=np.float32).reshape(1, 2, 2, 1)
    >>> pool.forward(x).ravel(), pool.backward(np.full((1, 1, 1, 1), 8.0, np.float32)).ravel()
    (array([3.], dtype=float32), array([2., 2., 2., 2.], dtype=float32))

    With ``"same"`` padding a border window averages only its real cells: ``(1 + 2) / 2``
    and ``4 / 1`` here, not ``/ 2`` for the padded zero:

    >>> row = np.array([1.0, 2.0, 4.0]).reshape(1, 1, 3, 1)      # one row of 3 pixels
    >>> AvgPool2D((1, 2), padding="same").forward(row)[0, 0, :, 0]
    array([1.5, 4. ])
    """

    keras_class = "AveragePooling2D"

    linearity = "linear"
    cache_slots = ("x_shape",)

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None):
        super().__init__(pool_size, strides, padding, name)
        self.x_shape = None  # shape of the last input

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x_shape = x.shape
        return avgpool_forward(x, *self.geometry(x.shape[1:]))

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x_shape))
        _, H, W, _ = self.x_shape
        KH, KW, sh, sw, pt, pl, _, _ = self.geometry(self.x_shape[1:])
        return avgpool_backward(dout, H, W, KH, KW, sh, sw, pt, pl)


class _GlobalPool(Layer):
    """Pooling over all positions; ``keepdims=True`` keeps ``(N, 1, 1, C)``."""

    def __init__(self, keepdims=False, name=None):
        super().__init__(name=name)
        self.keepdims = bool(keepdims)
        self.x_shape = None  # shape of the last input, (N, H, W, C)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(
                f"{self._where}: wrong input rank. Expected images of shape (N, H, W, C), "
                f"received inputs of shape (N, {', '.join(map(str, input_shape))})."
            )
        C = input_shape[-1]
        return (1, 1, C) if self.keepdims else (C,)

    def get_config(self):
        return {"keepdims": self.keepdims, "name": self.name}


class GlobalAvgPool2D(_GlobalPool):
    """Mean over all positions.

    Notes
    -----
    Forward ``y[n, c] = (1 / (H*W)) * sum_{h, w} x[n, h, w, c]``; backward (and
    deconv, guided) spreads evenly: ``dx[n, h, w, c] = dout[n, c] / (H*W)``.

    Examples
    --------
    >>> gap = GlobalAvgPool2D()
    >>> gap.forward(np.array([1.0, 2.0, 3.0, 6.0]).reshape(1, 2, 2, 1))
    array([[3.]])
    >>> gap.backward(np.array([[4.0]])).ravel()
    array([1., 1., 1., 1.])
    """

    keras_class = "GlobalAveragePooling2D"

    linearity = "linear"
    cache_slots = ("x_shape",)

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x_shape = x.shape
        return x.mean(axis=(1, 2), keepdims=self.keepdims)

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x_shape))
        N, H, W, C = self.x_shape
        d = dout.reshape(N, 1, 1, C) / dout.dtype.type(H * W)
        return np.broadcast_to(d, self.x_shape).copy()


class GlobalMaxPool2D(_GlobalPool):
    """Maximum over all positions, with switches like :class:`MaxPool2D`.

    Notes
    -----
    Forward ``y[n, c] = max_{h, w} x[n, h, w, c]``, switch = ``h*W + w`` of the first
    maximum in row-major order; backward, deconv and guided all route ``dout[n, c]``
    to the switch: ``dx[n, h, w, c] = dout[n, c]`` there, 0 elsewhere.

    Examples
    --------
    >>> gmp = GlobalMaxPool2D()
    >>> gmp.forward(np.array([1.0, 6.0, 3.0, 6.0]).reshape(1, 2, 2, 1))
    array([[6.]])
    >>> gmp.backward(np.array([[4.0]])).ravel()      # the first 6 wins the tie
    array([0., 4., 0., 0.])
    """

    keras_class = "GlobalMaxPooling2D"

    linearity = "piecewise_linear"
    cache_slots = ("x_shape", "switches")

    def __init__(self, keepdims=False, name=None):
        super().__init__(keepdims, name)
        self.switches = None  # flat index h*W + w of each channel's maximum, (N, C)

    def forward(self, x, training=False):
        x = self.check_input(x)
        N, H, W, C = x.shape
        self.x_shape = x.shape
        self.switches = x.reshape(N, H * W, C).argmax(axis=1)  # first maximum wins
        y = np.take_along_axis(x.reshape(N, H * W, C), self.switches[:, None, :], axis=1)
        return y.reshape(N, 1, 1, C) if self.keepdims else y.reshape(N, C)

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x_shape))
        N, H, W, C = self.x_shape
        dx = np.zeros((N, H * W, C), dout.dtype)
        np.put_along_axis(dx, self.switches[:, None, :], dout.reshape(N, 1, C), axis=1)
        return dx.reshape(self.x_shape)


# Keras' longer names, so code written for Keras reads the same here.
MaxPooling2D = MaxPool2D
AveragePooling2D = AvgPool2D
GlobalAveragePooling2D = GlobalAvgPool2D
GlobalMaxPooling2D = GlobalMaxPool2D
