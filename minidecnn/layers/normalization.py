"""BatchNormalization over the channel (last) axis, in inference and training modes."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import Layer


class BatchNormalization(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015) with Keras' arguments and semantics.

    Parameters
    ----------
    epsilon : float, default 1e-3
        Added to the variance (Keras' default, not PyTorch's 1e-5).
    momentum : float, default 0.99
        ``moving = momentum * moving + (1 - momentum) * batch_statistic``.
    center, scale : bool, default True
        Whether ``beta`` / ``gamma`` exist; when absent they act as 0 / 1.
    name : str, optional
    axis : int, default -1
        The channel axis. Only the last axis is supported (NHWC); Keras' ``axis=3``
        for images is the same axis and is accepted.

    Notes
    -----
    Shapes: ``x (N, ..., C)``; ``gamma, beta, moving_mean, moving_variance (C,)``.
    ``gamma``/``beta`` are trainable ``params``; the moving statistics are ``buffers``.

    Inference (``training=False``), an affine map per channel::

        x_hat = (x - moving_mean) / sqrt(moving_variance + epsilon)
        y     = gamma * x_hat + beta
        dx    = dout * gamma / sqrt(moving_variance + epsilon)

    Training uses the batch mean ``mu`` and (biased) variance ``var`` over every
    axis but the last, updates the moving statistics, and back-propagates through
    the statistics too (``M`` = number of values per channel)::

        dx_hat = dout * gamma
        dx = (M * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)) / (M * sqrt(var + eps))

    In both modes ``dgamma = sum(dout * x_hat)`` and ``dbeta = sum(dout)`` (sums over
    every axis but the last). Deconv and guided use the input gradient of the mode
    the forward ran in.

    Training also updates the moving statistics, as Keras 3 does (with the biased
    batch variance)::

        moving_mean     = momentum * moving_mean     + (1 - momentum) * mu
        moving_variance = momentum * moving_variance + (1 - momentum) * var

    References
    ----------
    S. Ioffe, C. Szegedy. Batch Normalization. ICML 2015.

    Examples
    --------
    At inference with ``moving_mean = 1``, ``moving_variance = 4`` and ``epsilon = 0``
    (to keep the numbers round; Keras' default is 1e-3), ``x = 5`` becomes
    ``(5 - 1) / 2 = 2``:

    >>> bn = BatchNormalization(epsilon=1e-30)
    >>> bn.build((1,)); bn.buffers["moving_mean"][:] = 1.0; bn.buffers["moving_variance"][:] = 4.0
    >>> bn.forward(np.array([[5.0], [1.0]]))
    array([[2.],
           [0.]])

    In training the batch ``(1, 3)`` has mean 2 and variance 1, so it becomes
    ``(-1, 1)``, and the moving mean moves 1% of the way from 1 to 2:

    >>> bn.forward(np.array([[1.0], [3.0]]), training=True)
    array([[-1.],
           [ 1.]])
    >>> bn.buffers["moving_mean"]
    array([1.01], dtype=float32)
    """

    cache_slots = ("x_hat", "inv_std", "training")

    def __init__(
        self,
        epsilon: float = 1e-3,
        momentum: float = 0.99,
        center: bool = True,
        scale: bool = True,
        name=None,
        axis=-1,
    ):
        super().__init__(name=name)
        if isinstance(axis, list | tuple) and len(axis) == 1:
            axis = axis[0]  # Keras 2 configs store [3]
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
            raise ValueError(
                f"BatchNormalization: unsupported axis. Expected the channel axis (-1), "
                f"received axis={axis!r}."
            )
        self.axis = int(axis)
        if not epsilon > 0:
            raise ValueError(
                f"BatchNormalization: invalid epsilon. Expected a positive float, received "
                f"epsilon={epsilon!r}."
            )
        if not 0 <= momentum <= 1:
            raise ValueError(
                f"BatchNormalization: invalid momentum. Expected a float in [0, 1], received "
                f"momentum={momentum!r}."
            )
        self.epsilon = float(epsilon)
        self.momentum = float(momentum)
        self.center = bool(center)
        self.scale = bool(scale)
        self.x_hat = None  # normalised input of the last forward, (N, ..., C)
        self.inv_std = None  # 1 / sqrt(variance + epsilon) used by the last forward, (C,)
        self.training = None  # whether the last forward used batch statistics

    @property
    def linearity(self):
        # Affine at inference; in training mode the batch statistics make it nonlinear.
        return "nonlinear" if self.training else "affine"

    def compute_output_shape(self, input_shape):
        rank = len(input_shape) + 1
        if self.axis not in (-1, rank - 1):
            raise ShapeError(
                f"{self._where}: unsupported axis. Expected the channel axis, the last one "
                f"(-1 or {rank - 1} for inputs of shape (N, "
                f"{', '.join(map(str, input_shape))})), received axis={self.axis}. "
                f"minidecnn is channels-last; channels-first Keras models are converted "
                f"by the Keras loader."
            )
        return tuple(input_shape)

    def init_params(self, input_shape, rng):
        C = input_shape[-1]
        if self.scale:
            self.params["gamma"] = np.ones(C, np.float32)
        if self.center:
            self.params["beta"] = np.zeros(C, np.float32)
        self.buffers["moving_mean"] = np.zeros(C, np.float32)
        self.buffers["moving_variance"] = np.ones(C, np.float32)

    def forward(self, x, training=False):
        x = self.check_input(x)
        dt = x.dtype
        if training:
            axes = tuple(range(x.ndim - 1))
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m = self.momentum
            for key, stat in (("moving_mean", mean), ("moving_variance", var)):
                buf = self.buffers[key]
                buf[...] = m * buf + (1 - m) * stat.astype(buf.dtype)
        else:
            mean, var = self.buffers["moving_mean"], self.buffers["moving_variance"]
        inv_std = (1.0 / np.sqrt(var.astype(np.float64) + self.epsilon)).astype(dt)
        x_hat = (x - mean.astype(dt)) * inv_std
        y = x_hat * self.params["gamma"].astype(dt) if self.scale else x_hat.copy()
        if self.center:
            y += self.params["beta"].astype(dt)
        self.x_hat, self.inv_std, self.training = x_hat, inv_std, bool(training)
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x_hat))
        x_hat, inv_std = self.x_hat, self.inv_std
        axes = tuple(range(dout.ndim - 1))
        gamma = self.params["gamma"].astype(dout.dtype) if self.scale else 1.0
        dx_hat = dout * gamma
        if self.training:
            M = dout.size // dout.shape[-1]
            dx = (M * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes)) * (
                inv_std / M
            )
        else:
            dx = dx_hat * inv_std
        if param_grads:
            if self.scale:
                self.grads["gamma"] = (dout * x_hat).sum(axis=axes)
            if self.center:
                self.grads["beta"] = dout.sum(axis=axes)
        return dx.astype(dout.dtype, copy=False)

    def get_config(self):
        return {
            "epsilon": self.epsilon,
            "momentum": self.momentum,
            "center": self.center,
            "scale": self.scale,
            "axis": self.axis,
            "name": self.name,
        }
