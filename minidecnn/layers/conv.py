"""Convolution layers: Conv2D, DepthwiseConv2D, SeparableConv2D (NHWC, Keras semantics).

All three compute a cross-correlation (no kernel flip), as every deep-learning
framework does. The backward pass with respect to the input is the *transposed*
convolution, which is also Zeiler & Fergus's "filtering" step of the DeconvNet:
convolving with the filters flipped vertically and horizontally.
"""

from __future__ import annotations

import numpy as np

from ..kernels import col2im, im2col
from ..kernels.geometry import PADDINGS, as_pair, window_geometry
from .base import Layer

#: im2col matrices larger than this are built a few images at a time, so memory stays
#: bounded when a whole batch (for example SmoothGrad's noisy copies) goes through VGG16.
COLS_BYTES_LIMIT = 256 * 2**20


def glorot_uniform(shape, fan_in, fan_out, rng):
    """Keras' default kernel initialiser: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    limit = np.float32(np.sqrt(6.0 / (fan_in + fan_out)))
    # drawn directly in float32: 10x faster and half the memory for VGG16's fc1 (103M values)
    w = rng.random(size=shape, dtype=np.float32)  # U[0, 1)
    w *= 2 * limit
    w -= limit
    return w


class _Windowed(Layer):
    """Shared plumbing of layers that slide a ``KH x KW`` window with strides and padding."""

    def __init__(self, kernel_size, strides, padding, name, seed):
        super().__init__(name=name, seed=seed)
        self.kernel_size = as_pair(kernel_size, "kernel_size", type(self).__name__)
        self.strides = as_pair(strides, "strides", type(self).__name__)
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in PADDINGS:
            raise ValueError(
                f"{type(self).__name__}: invalid padding. Expected 'valid' or 'same', "
                f"received padding={padding!r}."
            )
        self.padding = padding

    def geometry(self, input_shape):
        """``(KH, KW, sh, sw, pad_top, pad_left, H_out, W_out)`` for an (H, W, C) input."""
        if len(input_shape) != 3:
            raise ValueError(
                f"{self._where}: expected inputs of shape (N, H, W, C), received a layer "
                f"input of shape (N, {', '.join(map(str, input_shape))})."
            )
        H, W = input_shape[0], input_shape[1]
        (KH, KW), (sh, sw) = self.kernel_size, self.strides
        H_out, pad_top, _ = window_geometry(H, KH, sh, self.padding)
        W_out, pad_left, _ = window_geometry(W, KW, sw, self.padding)
        if H_out < 1 or W_out < 1:
            raise ValueError(
                f"{self._where}: the {KH}x{KW} window does not fit the {H}x{W} input "
                f"with padding='{self.padding}'. Expected an input at least {KH}x{KW} "
                f"(after padding), received {H}x{W}. Use padding='same', a smaller "
                f"kernel, or a larger input."
            )
        return KH, KW, sh, sw, pad_top, pad_left, H_out, W_out

    def _chunks(self, n_images, row_bytes):
        """Slices of the batch whose im2col matrix stays under ``COLS_BYTES_LIMIT``."""
        per_chunk = max(1, COLS_BYTES_LIMIT // max(row_bytes, 1))
        return [slice(i, min(i + per_chunk, n_images)) for i in range(0, n_images, per_chunk)]

    def get_config(self):
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "name": self.name,
        }


class Conv2D(_Windowed):
    """2-D convolution (cross-correlation) computed as im2col followed by one GEMM.

    Parameters
    ----------
    filters : int
        Number of output channels ``F``.
    kernel_size : int or (int, int)
        ``(KH, KW)``.
    strides : int or (int, int), default 1
    padding : {"valid", "same"}, default "valid"
        TensorFlow padding; with ``"same"`` an odd total puts the extra row/column
        bottom/right.
    use_bias : bool, default True
    name : str, optional
    seed : int, optional
        Seed of the Glorot-uniform kernel initialiser (biases start at zero).

    Notes
    -----
    Shapes: ``x (N, H, W, C)``, ``W (KH, KW, C, F)``, ``b (F,)``, ``y (N, H_out, W_out, F)``
    with ``H_out = floor((H + pad_top + pad_bottom - KH) / sh) + 1``.

    Forward::

        y[n, i, j, f] = b[f] + sum_{u, v, c} W[u, v, c, f] * x_pad[n, i*sh + u, j*sw + v, c]
                      = (im2col(x) @ W.reshape(KH*KW*C, F))[(n, i, j), f] + b[f]

    Backward (with ``D = dout.reshape(N*H_out*W_out, F)``)::

        dx = col2im(D @ W_mat.T)        # the transposed convolution
        dW = (im2col(x).T @ D).reshape(KH, KW, C, F)
        db = D.sum(axis=0)

    Deconv (Zeiler & Fergus's filtering step) is the same transposed convolution
    as ``dx``; for stride 1 it equals a full convolution with the filters flipped
    vertically and horizontally. Biases take no part in any backward map.

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014.

    Examples
    --------
    A 2x2 kernel of ones sums each 2x2 window:

    >>> conv = Conv2D(1, 2, use_bias=False)
    >>> conv.build((3, 3, 1)); conv.params["W"][:] = 1.0
    >>> conv.forward(np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1))[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)
    """

    linearity = "affine"
    cache_slots = ("x",)

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        use_bias: bool = True,
        name: str | None = None,
        seed=None,
    ):
        super().__init__(kernel_size, strides, padding, name, seed)
        if isinstance(filters, bool) or not isinstance(filters, int | np.integer) or filters < 1:
            raise ValueError(
                f"Conv2D: invalid value for argument `filters`. Expected a strictly "
                f"positive int, received filters={filters!r}."
            )
        self.filters = int(filters)
        self.use_bias = bool(use_bias)
        self.x = None  # input of the last forward, (N, H, W, C)

    def compute_output_shape(self, input_shape):
        *_, H_out, W_out = self.geometry(input_shape)
        return (H_out, W_out, self.filters)

    def init_params(self, input_shape, rng):
        KH, KW = self.kernel_size
        C, F = input_shape[-1], self.filters
        self.params["W"] = glorot_uniform((KH, KW, C, F), KH * KW * C, KH * KW * F, rng)
        if self.use_bias:
            self.params["b"] = np.zeros(F, np.float32)

    def forward(self, x, training=False):
        x = self.check_input(x)
        KH, KW, sh, sw, pt, pl, H_out, W_out = geom = self.geometry(x.shape[1:])
        N, C, F = x.shape[0], x.shape[3], self.filters
        W_mat = self.params["W"].reshape(KH * KW * C, F)
        y = np.empty((N, H_out, W_out, F), np.result_type(x, W_mat))
        for part in self._chunks(N, H_out * W_out * KH * KW * C * x.itemsize):
            cols = im2col(x[part], *geom)
            y[part] = (cols @ W_mat).reshape(-1, H_out, W_out, F)
        if self.use_bias:
            y += self.params["b"]
        self.x = x
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x))
        x = self.x
        KH, KW, sh, sw, pt, pl, H_out, W_out = geom = self.geometry(x.shape[1:])
        N, H, W, C = x.shape
        F = self.filters
        W_mat = self.params["W"].reshape(KH * KW * C, F)
        dx = np.empty(x.shape, np.result_type(dout, W_mat))
        dW = np.zeros_like(W_mat) if param_grads else None
        for part in self._chunks(N, H_out * W_out * KH * KW * C * x.itemsize):
            D = dout[part].reshape(-1, F)
            n = D.shape[0] // (H_out * W_out)
            dx[part] = col2im(D @ W_mat.T, n, H, W, C, *geom)
            if param_grads:
                dW += im2col(x[part], *geom).T @ D
        if param_grads:
            self.grads["W"] = dW.reshape(self.params["W"].shape)
            if self.use_bias:
                self.grads["b"] = dout.reshape(-1, F).sum(axis=0)
        return dx

    def get_config(self):
        return {"filters": self.filters, **super().get_config(), "use_bias": self.use_bias}


def _depthwise_forward(x, W, geom):
    """``y[n,i,j,c*M+m] = sum_{u,v} W[u,v,c,m] * x_pad[n, i*sh+u, j*sw+v, c]``."""
    KH, KW, sh, sw, pt, pl, H_out, W_out = geom
    N, C, M = x.shape[0], x.shape[3], W.shape[3]
    cols = im2col(x, *geom).reshape(-1, KH * KW, C)  # (R, KH*KW, C), R = N*H_out*W_out
    y = np.einsum("rkc,kcm->rcm", cols, W.reshape(KH * KW, C, M), optimize=True)
    return y.reshape(N, H_out, W_out, C * M)


def _depthwise_backward(dout, x, W, geom, param_grads):
    """Input gradient (and kernel gradient when asked) of :func:`_depthwise_forward`."""
    KH, KW, sh, sw, pt, pl, H_out, W_out = geom
    N, H, Wd, C = x.shape
    M = W.shape[3]
    D = dout.reshape(-1, C, M)
    W3 = W.reshape(KH * KW, C, M)
    dcols = np.einsum("rcm,kcm->rkc", D, W3, optimize=True).reshape(-1, KH * KW * C)
    dx = col2im(dcols, N, H, Wd, C, *geom)
    dW = None
    if param_grads:
        cols = im2col(x, *geom).reshape(-1, KH * KW, C)
        dW = np.einsum("rkc,rcm->kcm", cols, D, optimize=True).reshape(W.shape)
    return dx, dW


class DepthwiseConv2D(_Windowed):
    """Depthwise convolution: each input channel gets its own ``depth_multiplier`` filters.

    Parameters
    ----------
    kernel_size : int or (int, int)
    strides : int or (int, int), default 1
    padding : {"valid", "same"}, default "valid"
    depth_multiplier : int, default 1
        ``M``: output channels per input channel.
    use_bias : bool, default True
    name, seed : optional

    Notes
    -----
    Shapes: ``x (N, H, W, C)``, ``W (KH, KW, C, M)``, ``b (C*M,)``,
    ``y (N, H_out, W_out, C*M)``; output channel ``c*M + m`` comes from input channel
    ``c`` and multiplier ``m`` (Keras' order).

    Forward::

        y[n, i, j, c*M + m] = b[c*M + m]
                              + sum_{u, v} W[u, v, c, m] * x_pad[n, i*sh + u, j*sw + v, c]

    Backward::

        dx_pad[n, i*sh + u, j*sw + v, c] += sum_m W[u, v, c, m] * dout[n, i, j, c*M + m]
        dW[u, v, c, m] = sum_{n, i, j} x_pad[n, i*sh + u, j*sw + v, c] * dout[n, i, j, c*M + m]

    Deconv and guided use the input gradient (the layer is linear).
    """

    linearity = "affine"
    cache_slots = ("x",)

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier: int = 1,
        use_bias: bool = True,
        name=None,
        seed=None,
    ):
        super().__init__(kernel_size, strides, padding, name, seed)
        if (
            isinstance(depth_multiplier, bool)
            or int(depth_multiplier) != depth_multiplier
            or (depth_multiplier < 1)
        ):
            raise ValueError(
                f"DepthwiseConv2D: invalid depth_multiplier. Expected a positive int, "
                f"received depth_multiplier={depth_multiplier!r}."
            )
        self.depth_multiplier = int(depth_multiplier)
        self.use_bias = bool(use_bias)
        self.x = None  # input of the last forward, (N, H, W, C)

    def compute_output_shape(self, input_shape):
        *_, H_out, W_out = self.geometry(input_shape)
        return (H_out, W_out, input_shape[-1] * self.depth_multiplier)

    def init_params(self, input_shape, rng):
        KH, KW = self.kernel_size
        C, M = input_shape[-1], self.depth_multiplier
        self.params["W"] = glorot_uniform((KH, KW, C, M), KH * KW * M, KH * KW * M, rng)
        if self.use_bias:
            self.params["b"] = np.zeros(C * M, np.float32)

    def forward(self, x, training=False):
        x = self.check_input(x)
        y = _depthwise_forward(x, self.params["W"], self.geometry(x.shape[1:]))
        if self.use_bias:
            y += self.params["b"]
        self.x = x
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x))
        geom = self.geometry(self.x.shape[1:])
        dx, dW = _depthwise_backward(dout, self.x, self.params["W"], geom, param_grads)
        if param_grads:
            self.grads["W"] = dW
            if self.use_bias:
                self.grads["b"] = dout.reshape(-1, dout.shape[-1]).sum(axis=0)
        return dx

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "use_bias": self.use_bias,
        }


class SeparableConv2D(_Windowed):
    """Depthwise convolution followed by a pointwise (1x1) convolution.

    Parameters
    ----------
    filters : int
        ``F``, output channels of the pointwise step.
    kernel_size, strides, padding, depth_multiplier : as in :class:`DepthwiseConv2D`
    use_bias : bool, default True
        One bias of shape ``(F,)`` after the pointwise step (Keras has none in between).

    Notes
    -----
    Shapes: ``depthwise_W (KH, KW, C, M)``, ``pointwise_W (1, 1, C*M, F)``, ``b (F,)``.

    Forward::

        h = depthwise(x; depthwise_W)                       # (N, H_out, W_out, C*M)
        y = h @ pointwise_W.reshape(C*M, F) + b            # (N, H_out, W_out, F)

    Backward applies the two adjoints in reverse order::

        dh = dout @ pointwise_W.reshape(C*M, F).T
        dx = depthwise^T(dh)
        d pointwise_W = h^T dout,   d depthwise_W as in DepthwiseConv2D with dh
    """

    linearity = "affine"
    cache_slots = ("x", "h")

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier: int = 1,
        use_bias: bool = True,
        name=None,
        seed=None,
    ):
        super().__init__(kernel_size, strides, padding, name, seed)
        if isinstance(filters, bool) or not isinstance(filters, int | np.integer) or filters < 1:
            raise ValueError(
                f"SeparableConv2D: invalid value for argument `filters`. Expected a strictly "
                f"positive int, received filters={filters!r}."
            )
        self.filters = int(filters)
        self.depth_multiplier = int(depth_multiplier)
        self.use_bias = bool(use_bias)
        self.x = None  # input of the last forward, (N, H, W, C)
        self.h = None  # depthwise output of the last forward, (N, H_out, W_out, C*M)

    def compute_output_shape(self, input_shape):
        *_, H_out, W_out = self.geometry(input_shape)
        return (H_out, W_out, self.filters)

    def init_params(self, input_shape, rng):
        KH, KW = self.kernel_size
        C, M, F = input_shape[-1], self.depth_multiplier, self.filters
        self.params["depthwise_W"] = glorot_uniform((KH, KW, C, M), KH * KW * M, KH * KW * M, rng)
        self.params["pointwise_W"] = glorot_uniform((1, 1, C * M, F), C * M, F, rng)
        if self.use_bias:
            self.params["b"] = np.zeros(F, np.float32)

    def forward(self, x, training=False):
        x = self.check_input(x)
        h = _depthwise_forward(x, self.params["depthwise_W"], self.geometry(x.shape[1:]))
        P = self.params["pointwise_W"].reshape(-1, self.filters)
        y = h @ P
        if self.use_bias:
            y += self.params["b"]
        self.x, self.h = x, h
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x))
        F = self.filters
        P = self.params["pointwise_W"].reshape(-1, F)
        dh = dout @ P.T
        geom = self.geometry(self.x.shape[1:])
        dx, dDW = _depthwise_backward(dh, self.x, self.params["depthwise_W"], geom, param_grads)
        if param_grads:
            D = dout.reshape(-1, F)
            self.grads["depthwise_W"] = dDW
            self.grads["pointwise_W"] = (self.h.reshape(-1, P.shape[0]).T @ D).reshape(
                self.params["pointwise_W"].shape
            )
            if self.use_bias:
                self.grads["b"] = D.sum(axis=0)
        return dx

    def get_config(self):
        return {
            "filters": self.filters,
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "use_bias": self.use_bias,
        }
