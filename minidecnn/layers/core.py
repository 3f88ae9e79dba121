"""Dense, Flatten, ZeroPadding2D, Dropout and Rescaling: the linear plumbing of a CNN.

For all of them ``deconv`` and ``guided`` equal the input gradient, because each
is linear (or affine) in its input.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_positive_int
from ..errors import ShapeError
from .base import Layer
from .conv import glorot_uniform

#: Batches of at most this many rows go through :func:`few_rows_matmul` (attribution
#: batches); training batches keep the plain ``x @ W``, so the demo model's training
#: recipe still reproduces its shipped weights bit for bit.
FEW_ROWS = 16


def few_rows_matmul(a, B):
    """``a @ B`` for a 2-D ``a`` with few rows, computed as ``(B.T @ a.T).T``.

    The same products and sums, with the large matrix as BLAS's first operand.
    OpenBLAS repacks the second operand of every GEMM; for VGG16's fc1
    (``B`` of 25088 x 4096, 400 MB) and 2-16 rows that made ``a @ B`` 2-6x slower
    than this order (both are a single GEMV for one row).

    Examples
    --------
    >>> a, B = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    >>> bool(np.array_equal(few_rows_matmul(a, B), a @ B))
    True
    """
    return np.ascontiguousarray((B.T @ a.T).T)


class Dense(Layer):
    """Fully connected layer on the last axis.

    Parameters
    ----------
    units : int
        ``D_out``.
    use_bias : bool, default True
    name, seed : optional

    Notes
    -----
    Shapes: ``x (N, D_in)`` (or ``(N, ..., D_in)``, as in Keras), ``W (D_in, D_out)``,
    ``b (D_out,)``, ``y (N, D_out)``.

    Forward / backward::

        y[n, k]  = b[k] + sum_d x[n, d] * W[d, k]          y  = x @ W + b
        dx = dout @ W.T
        dW = x.T @ dout,   db = dout.sum(axis=0)

    Deconv and guided are the input gradient ``dout @ W.T`` (the layer is linear
    in ``x``); the bias takes no part in any backward map.

    Examples
    --------
    ``y = 1*2 + 1*3 = 5``, and backward sends ``dout = 1`` back along the weights:

    >>> d = Dense(1, use_bias=False); d.build((2,)); d.params["W"][:] = [[2.0], [3.0]]
    >>> d.forward(np.array([[1.0, 1.0]], dtype=np.float32))
    array([[5.]], dtype=float32)
    >>> d.backward(np.array([[1.0]], dtype=np.float32))
    array([[2., 3.]], dtype=float32)
    >>> d.grads["W"].ravel()
    array([1., 1.], dtype=float32)
    """

    linearity = "affine"
    cache_slots = ("x",)

    def __init__(self, units: int, use_bias: bool = True, name=None, seed=None):
        super().__init__(name=name, seed=seed)
        self.units = check_positive_int(units, "units", "Dense")
        self.use_bias = bool(use_bias)
        self.x = None  # input of the last forward, (N, ..., D_in)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def init_params(self, input_shape, rng):
        D_in = input_shape[-1]
        self.params["W"] = glorot_uniform((D_in, self.units), D_in, self.units, rng)
        if self.use_bias:
            self.params["b"] = np.zeros(self.units, np.float32)

    def forward(self, x, training=False):
        x = self.check_input(x)
        W = self.params["W"]
        y = few_rows_matmul(x, W) if x.ndim == 2 and len(x) <= FEW_ROWS else x @ W
        if self.use_bias:
            y += self.params["b"]
        self.x = x
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x))
        W = self.params["W"]
        if param_grads:
            x2, d2 = self.x.reshape(-1, W.shape[0]), dout.reshape(-1, W.shape[1])
            self.grads["W"] = x2.T @ d2
            if self.use_bias:
                self.grads["b"] = d2.sum(axis=0)
        if dout.ndim == 2 and len(dout) <= FEW_ROWS:
            return few_rows_matmul(dout, W.T)
        return dout @ W.T

    def get_config(self):
        return {"units": self.units, "use_bias": self.use_bias, "name": self.name}


class Flatten(Layer):
    """Reshape ``(N, H, W, C)`` to ``(N, H*W*C)`` in C order, as Keras does for NHWC.

    Notes
    -----
    Forward ``y[n, (h*W + w)*C + c] = x[n, h, w, c]``; backward (and deconv, guided)
    reshapes back: ``dx = dout.reshape(N, H, W, C)``. Because the order is NHWC's,
    a Dense layer after Flatten uses Keras' weights without any permutation.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)      # x[0, h, w, c] = 4h + 2w + c
    >>> Flatten().forward(x)
    array([[0., 1., 2., 3., 4., 5., 6., 7.]])
    """

    linearity = "linear"
    cache_slots = ("x_shape",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.x_shape = None  # shape of the last input

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dout, param_grads=True):
        shape = None if self.x_shape is None else (self.x_shape[0], *self.output_shape)
        dout = self.check_dout(dout, shape)
        return dout.reshape(self.x_shape)


class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around each image.

    Parameters
    ----------
    padding : int, (int, int) or ((int, int), (int, int)), default 1
        ``p`` on all sides; ``(ph, pw)`` symmetric; or ``((top, bottom), (left, right))``.

    Notes
    -----
    Shapes: ``x (N, H, W, C)``, ``y (N, top + H + bottom, left + W + right, C)``.
    Forward ``y[n, top + h, left + w, c] = x[n, h, w, c]``, zeros elsewhere; backward
    (and deconv, guided) crops: ``dx = dout[:, top:top+H, left:left+W, :]``.

    Examples
    --------
    >>> ZeroPadding2D(((0, 1), (1, 0))).forward(np.ones((1, 1, 2, 1)))[0, :, :, 0]
    array([[0., 1., 1.],
           [0., 0., 0.]])
    """

    linearity = "linear"
    cache_slots = ("x_shape",)

    def __init__(self, padding=1, name=None):
        super().__init__(name=name)
        self.padding = self._parse(padding)
        self.x_shape = None  # shape of the last input

    @staticmethod
    def _parse(padding):
        def ok(v):
            return isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 0

        if ok(padding):
            p = int(padding)
            return ((p, p), (p, p))
        try:
            a, b = padding
            if ok(a) and ok(b):
                return ((int(a), int(a)), (int(b), int(b)))
            (t, bo), (le, r) = a, b
            if all(ok(v) for v in (t, bo, le, r)):
                return ((int(t), int(bo)), (int(le), int(r)))
        except (TypeError, ValueError):
            pass
        raise ValueError(
            "ZeroPadding2D: invalid padding. Expected an int >= 0, a pair (ph, pw) or "
            f"((top, bottom), (left, right)), received padding={padding!r}."
        )

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(
                f"{self._where}: wrong input rank. Expected images of shape (N, H, W, C), "
                f"received inputs of shape (N, {', '.join(map(str, input_shape))})."
            )
        (t, b), (le, r) = self.padding
        H, W, C = input_shape
        return (H + t + b, W + le + r, C)

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x_shape = x.shape
        return np.pad(x, ((0, 0), *self.padding, (0, 0)))

    def backward(self, dout, param_grads=True):
        shape = None if self.x_shape is None else (self.x_shape[0], *self.output_shape)
        dout = self.check_dout(dout, shape)
        (t, _), (le, _) = self.padding
        _, H, W, _ = self.x_shape
        return dout[:, t : t + H, le : le + W, :]

    def get_config(self):
        return {"padding": self.padding, "name": self.name}


class Dropout(Layer):
    """Inverted dropout: active only when ``training=True``, the identity otherwise.

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of units set to zero during training.
    seed : int, optional
        Seeds the layer's own random generator.

    Notes
    -----
    Training (``training=True``), with a fresh ``keep ~ Bernoulli(1 - rate)`` per entry::

        y  = x * keep / (1 - rate)
        dx = dout * keep / (1 - rate)          (the same mask as the forward)

    Inference (the default): ``y = x`` and ``dx = dout``, as in Keras. Deconv and
    guided are the input gradient of the mode the last forward ran in.

    Examples
    --------
    >>> drop = Dropout(0.5, seed=0)
    >>> x = np.ones((1, 6), np.float32)
    >>> drop.forward(x)                         # inference: the identity
    array([[1., 1., 1., 1., 1., 1.]], dtype=float32)
    >>> drop.forward(x, training=True)          # kept entries are scaled by 1 / (1 - 0.5)
    array([[0., 2., 2., 2., 0., 0.]], dtype=float32)
    >>> drop.backward(np.ones((1, 6), np.float32))  # the same mask
    array([[0., 2., 2., 2., 0., 0.]], dtype=float32)
    """

    linearity = "linear"
    cache_slots = ("mask", "x_shape")

    def __init__(self, rate: float, name=None, seed=None):
        super().__init__(name=name, seed=seed)
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(
                f"Dropout: invalid rate. Expected a float in [0, 1), received rate={rate!r}."
            )
        self.rate = float(rate)
        self.rng = np.random.default_rng(seed)
        self.mask = None  # scaled keep-mask of the last training forward; None at inference
        self.x_shape = None  # shape of the last input

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x_shape = x.shape
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = 1.0 - self.rate
        self.mask = (self.rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
        return x * self.mask

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self.x_shape)
        return dout if self.mask is None else dout * self.mask

    def get_config(self):
        return {"rate": self.rate, "name": self.name}


class Rescaling(Layer):
    """``y = x * scale + offset`` (Keras' Rescaling: for example ``scale=1/255``).

    Parameters
    ----------
    scale : float or array of shape (C,)
    offset : float or array of shape (C,), default 0.0
        Scalars, or per-channel values that broadcast against the last axis.
    name : str, optional

    Notes
    -----
    Forward ``y = x * scale + offset``; backward (and deconv, guided)
    ``dx = dout * scale``: the offset takes no part in any backward map.

    Examples
    --------
    Map ``[0, 4]`` to ``[-1, 1]``:

    >>> Rescaling(scale=0.5, offset=-1.0).forward(np.array([[0.0, 2.0, 4.0]], np.float32))
    array([[-1.,  0.,  1.]], dtype=float32)
    """

    linearity = "affine"
    cache_slots = ("x_shape",)

    def __init__(self, scale, offset=0.0, name=None):
        super().__init__(name=name)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.offset = np.asarray(offset, dtype=np.float64)
        for what, v in (("scale", self.scale), ("offset", self.offset)):
            if not np.all(np.isfinite(v)):
                raise ValueError(
                    f"Rescaling: invalid {what}. Expected finite numbers, received {v!r}."
                )
        self.x_shape = None  # shape of the last input

    def compute_output_shape(self, input_shape):
        for what, v in (("scale", self.scale), ("offset", self.offset)):
            try:
                fits = np.broadcast_shapes(v.shape, tuple(input_shape)) == tuple(input_shape)
            except ValueError:
                fits = False
            if not fits:
                raise ShapeError(
                    f"{self._where}: {what} of shape {v.shape} does not broadcast against "
                    f"inputs of shape (N, {', '.join(map(str, input_shape))}). Expected a "
                    f"scalar or one value per channel ({input_shape[-1]},)."
                )
        return tuple(input_shape)

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x_shape = x.shape
        return (x * self.scale.astype(x.dtype) + self.offset.astype(x.dtype)).astype(
            x.dtype, copy=False
        )

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self.x_shape)
        return (dout * self.scale.astype(dout.dtype)).astype(dout.dtype, copy=False)

    def get_config(self):
        return {"scale": self.scale.tolist(), "offset": self.offset.tolist(), "name": self.name}
