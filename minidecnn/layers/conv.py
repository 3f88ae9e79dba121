"""Convolution layers: Conv2D, DepthwiseConv2D, SeparableConv2D (NHWC, Keras semantics).

All three compute a cross-correlation (no kernel flip), as every deep-learning
framework does. The backward pass with respect to the input is the *transposed*
convolution, which is also Zeiler & Fergus's "filtering" step of the DeconvNet:
convolving with the filters flipped vertically and horizontally.

The im2col matrix of a large image is big (VGG16's second layer: 224*224 rows of
3*3*64 numbers, 115 MB in float32), so the layers build it a block of output rows
at a time (see :func:`row_blocks`) and multiply each block while it is still in
the processor's cache. The maths is the same as with one big matrix.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_positive_int
from ..errors import ShapeError
from ..kernels import col2im, im2col
from ..kernels.geometry import PADDINGS, as_pair, window_geometry
from .base import Layer

#: Target size in bytes of one block of the im2col matrix. Blocks of this size are
#: reused from the allocator's pool (no fresh pages to fault in, unlike one 115 MB
#: matrix) and mostly stay in the last-level cache between im2col and the GEMM.
#: Much smaller blocks make the GEMMs thin, which multi-threaded BLAS runs badly
#: (each GEMM ends in a barrier across its threads).
COLS_BLOCK_BYTES = 16 * 2**20

#: Whole images are grouped into blocks of at most this many bytes of im2col (an image
#: larger than this is a block of its own). Small images in a batch prefer smaller blocks
#: than bands of one large image: a training step of the 32x32 demo CNN at batch 64 ran in
#: 43-45 ms with 2-4 MB blocks against 64-72 ms with 16 MB ones, whose im2col matrix falls
#: out of the processor's cache between im2col, the GEMM and the kernel gradient's GEMM.
GROUP_BLOCK_BYTES = 4 * 2**20


def glorot_uniform(shape, fan_in, fan_out, rng):
    """Keras' default kernel initialiser: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    limit = np.float32(np.sqrt(6.0 / (fan_in + fan_out)))
    # drawn directly in float32: 10x faster and half the memory for VGG16's fc1 (103M values)
    w = rng.random(size=shape, dtype=np.float32)  # U[0, 1)
    w *= 2 * limit
    w -= limit
    return w


def row_blocks(x_shape, geom, row_bytes, block_bytes=None):
    """Split a convolution into blocks whose im2col matrix is about ``block_bytes``.

    Small images are grouped whole, several per block; a large image is cut into
    bands of output rows. For a band of output rows ``i0 <= i < i1`` the windows read
    input rows ``i0*sh - pad_top`` to ``(i1 - 1)*sh - pad_top + KH`` (clipped to the
    image); rows cut off at the top become the band's own ``pad_top``, so running
    the kernels on the band gives exactly the rows of the whole-image result.

    Parameters
    ----------
    x_shape : tuple
        ``(N, H, W, C)``.
    geom : tuple
        ``(KH, KW, sh, sw, pad_top, pad_left, H_out, W_out)``.
    row_bytes : int
        Bytes of im2col output for one output row (``W_out * KH*KW*C * itemsize``).
    block_bytes : int, optional
        Defaults to :data:`COLS_BLOCK_BYTES` for bands of one image and
        :data:`GROUP_BLOCK_BYTES` for groups of whole images.

    Yields
    ------
    images : slice
        Images of the batch in this block.
    out_rows : slice
        Output rows ``i0:i1`` computed by this block.
    in_rows : slice
        Input rows the block reads.
    pad_top : int
        Zero rows above ``in_rows`` (non-zero only for the first band).

    Examples
    --------
    A 3x3 "same" convolution of one 8-row image, two output rows per band:

    >>> geom = (3, 3, 1, 1, 1, 1, 8, 8)
    >>> for b in row_blocks((1, 8, 8, 1), geom, row_bytes=100, block_bytes=200):
    ...     print(b[1], b[2], b[3])
    slice(0, 2, None) slice(0, 3, None) 1
    slice(2, 4, None) slice(1, 5, None) 0
    slice(4, 6, None) slice(3, 7, None) 0
    slice(6, 8, None) slice(5, 8, None) 0
    """
    N, H = x_shape[0], x_shape[1]
    KH, _, sh, _, pad_top, _, H_out, _ = geom
    budget = COLS_BLOCK_BYTES if block_bytes is None else block_bytes
    group = GROUP_BLOCK_BYTES if block_bytes is None else block_bytes
    per_image = H_out * row_bytes
    if per_image <= budget:
        k = max(1, group // max(per_image, 1))
        for n0 in range(0, N, k):
            yield slice(n0, min(n0 + k, N)), slice(0, H_out), slice(0, H), pad_top
        return
    rows = max(1, budget // max(row_bytes, 1))
    for n in range(N):
        for i0 in range(0, H_out, rows):
            i1 = min(i0 + rows, H_out)
            lo, hi = i0 * sh - pad_top, (i1 - 1) * sh - pad_top + KH
            yield slice(n, n + 1), slice(i0, i1), slice(max(lo, 0), min(hi, H)), max(-lo, 0)


def _span(s: slice) -> int:
    return s.stop - s.start


def band_im2col(x, block, geom):
    """im2col of one block from :func:`row_blocks`: rows of ``im2col(x, *geom)``."""
    images, rows, in_rows, top = block
    KH, KW, sh, sw, _, pad_left, _, W_out = geom
    return im2col(x[images, in_rows], KH, KW, sh, sw, top, pad_left, _span(rows), W_out)


def band_col2im(dcols, block, x_shape, geom):
    """col2im of one block: its contribution to ``dx[images, in_rows]``."""
    images, rows, in_rows, top = block
    KH, KW, sh, sw, _, pad_left, _, W_out = geom
    _, _, W, C = x_shape
    band = (_span(images), _span(in_rows), W, C, KH, KW, sh, sw, top, pad_left)
    return col2im(dcols, *band, _span(rows), W_out)


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
        """``(KH, KW, sh, sw, pad_top, pad_left, H_out, W_out)`` for an ``(H, W, C)`` input.

        Raises
        ------
        ShapeError
            If the input is not an image or the window does not fit in the padded input.
        """
        if len(input_shape) != 3:
            raise ShapeError(
                f"{self._where}: wrong input rank. Expected images of shape (N, H, W, C), "
                f"received inputs of shape (N, {', '.join(map(str, input_shape))}). For "
                f"grayscale images without a channel axis pass x[..., None]."
            )
        H, W = input_shape[0], input_shape[1]
        (KH, KW), (sh, sw) = self.kernel_size, self.strides
        H_out, pad_top, pad_bottom = window_geometry(H, KH, sh, self.padding)
        W_out, pad_left, pad_right = window_geometry(W, KW, sw, self.padding)
        if H_out < 1 or W_out < 1:
            raise ShapeError(
                f"{self._where}: the {KH}x{KW} window is larger than its padded input. "
                f"Expected an input of at least {KH}x{KW} (H x W, after padding="
                f"'{self.padding}'), received {H}x{W} (padded: "
                f"{H + pad_top + pad_bottom}x{W + pad_left + pad_right}). Use "
                f"padding='same', a smaller kernel/pool size, or a larger input."
            )
        return KH, KW, sh, sw, pad_top, pad_left, H_out, W_out

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
        ``(sh, sw)``.
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
    with ``H_out = floor((H + pad_top + pad_bottom - KH) / sh) + 1`` (``ceil(H / sh)``
    for ``"same"``).

    Forward::

        y[n, i, j, f] = b[f] + sum_{u, v, c} W[u, v, c, f] * x_pad[n, i*sh + u, j*sw + v, c]
                      = (im2col(x) @ W.reshape(KH*KW*C, F))[(n, i, j), f] + b[f]

    Backward (with ``D = dout.reshape(N*H_out*W_out, F)``)::

        dx = col2im(D @ W.reshape(KH*KW*C, F).T)        # the transposed convolution
        dW = (im2col(x).T @ D).reshape(KH, KW, C, F)
        db = D.sum(axis=0)

    Deconv (Zeiler & Fergus's filtering step) and guided are the same transposed
    convolution as ``dx``; for stride 1 and no padding it equals a *full*
    convolution of ``dout`` with the filters flipped vertically and horizontally.
    Biases take no part in any backward map.

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014.

    Examples
    --------
    A 2x2 kernel of ones sums each 2x2 window (``0+1+3+4 = 8`` top left):

    >>> conv = Conv2D(1, 2, use_bias=False)
    >>> conv.build((3, 3, 1)); conv.params["W"][:] = 1.0
    >>> conv.forward(np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1))[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]], dtype=float32)

    Backward sends each output signal to the four pixels of its window, so the centre
    pixel, in all four windows, collects all four signals:

    >>> conv.backward(np.ones((1, 2, 2, 1), np.float32))[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]], dtype=float32)
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
        self.filters = check_positive_int(filters, "filters", "Conv2D")
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
        x = np.ascontiguousarray(self.check_input(x))
        KH, KW, sh, sw, _, pad_left, H_out, W_out = geom = self.geometry(x.shape[1:])
        N, C, F = x.shape[0], x.shape[3], self.filters
        W_mat = self.params["W"].reshape(KH * KW * C, F)
        y = np.empty((N, H_out, W_out, F), np.result_type(x, W_mat))
        row_bytes = W_out * KH * KW * C * x.itemsize
        for block in row_blocks(x.shape, geom, row_bytes):
            images, rows, _, _ = block
            y_block = y[images, rows].reshape(-1, F)  # a view: the GEMM writes into y
            np.matmul(band_im2col(x, block, geom), W_mat, out=y_block)
            if self.use_bias:
                y_block += self.params["b"]
        self.x = x
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x))
        x = self.x
        KH, KW, sh, sw, _, pad_left, H_out, W_out = geom = self.geometry(x.shape[1:])
        N, H, W, C = x.shape
        F = self.filters
        W_mat = self.params["W"].reshape(KH * KW * C, F)
        dW = np.zeros_like(W_mat) if param_grads else None
        row_bytes = W_out * KH * KW * C * x.itemsize
        blocks = list(row_blocks(x.shape, geom, row_bytes))
        # Blocks of whole images fill disjoint parts of dx, so each is stored as it is;
        # bands of one image overlap by the window's halo rows, so their parts add.
        whole = all(block[1] == slice(0, H_out) for block in blocks)
        dx = (np.empty if whole else np.zeros)(x.shape, np.result_type(dout, W_mat))
        for block in blocks:
            images, rows, in_rows, _ = block
            D = dout[images, rows].reshape(-1, F)
            part = band_col2im(D @ W_mat.T, block, x.shape, geom)
            if whole:
                dx[images] = part
            else:
                dx[images, in_rows] += part
            if param_grads:
                dW += band_im2col(x, block, geom).T @ D
        if param_grads:
            self.grads["W"] = dW.reshape(self.params["W"].shape)
            if self.use_bias:
                self.grads["b"] = dout.reshape(-1, F).sum(axis=0)
        return dx

    def get_config(self):
        return {"filters": self.filters, **super().get_config(), "use_bias": self.use_bias}


def _depthwise_forward(x, W, geom):
    """``y[n, i, j, c*M + m] = sum_{u, v} W[u, v, c, m] * x_pad[n, i*sh + u, j*sw + v, c]``."""
    KH, KW, sh, sw, _, pad_left, H_out, W_out = geom
    N, C, M = x.shape[0], x.shape[3], W.shape[3]
    W3 = W.reshape(KH * KW, C, M)
    y = np.empty((N, H_out, W_out, C * M), np.result_type(x, W))
    row_bytes = W_out * KH * KW * C * x.itemsize
    for block in row_blocks(x.shape, geom, row_bytes):
        images, rows, _, _ = block
        cols = band_im2col(x, block, geom).reshape(-1, KH * KW, C)  # R = output positions
        y_block = np.einsum("rkc,kcm->rcm", cols, W3)
        y[images, rows] = y_block.reshape(_span(images), _span(rows), W_out, C * M)
    return y


def _depthwise_backward(dout, x, W, geom, param_grads):
    """Input gradient (and kernel gradient when asked) of :func:`_depthwise_forward`."""
    KH, KW, sh, sw, _, pad_left, H_out, W_out = geom
    N, H, Wd, C = x.shape
    M = W.shape[3]
    W3 = W.reshape(KH * KW, C, M)
    dx = np.zeros(x.shape, np.result_type(dout, W))
    dW = np.zeros_like(W3) if param_grads else None
    row_bytes = W_out * KH * KW * C * x.itemsize
    for block in row_blocks(x.shape, geom, row_bytes):
        images, rows, in_rows, _ = block
        D = dout[images, rows].reshape(-1, C, M)
        dcols = np.einsum("rcm,kcm->rkc", D, W3).reshape(-1, KH * KW * C)
        dx[images, in_rows] += band_col2im(dcols, block, x.shape, geom)
        if param_grads:
            cols = band_im2col(x, block, geom).reshape(-1, KH * KW, C)
            dW += np.einsum("rkc,rcm->kcm", cols, D)
    return dx, (dW.reshape(W.shape) if param_grads else None)


class DepthwiseConv2D(_Windowed):
    """Depthwise convolution: each input channel gets its own ``depth_multiplier`` filters.

    Parameters
    ----------
    kernel_size : int or (int, int)
        ``(KH, KW)``.
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
    ``c`` and multiplier ``m`` (Keras' order). ``H_out`` as in :class:`Conv2D`.

    Forward::

        y[n, i, j, c*M + m] = b[c*M + m]
                              + sum_{u, v} W[u, v, c, m] * x_pad[n, i*sh + u, j*sw + v, c]

    Backward (the transposed depthwise convolution, then the kernel gradient)::

        dx_pad[n, i*sh + u, j*sw + v, c] += sum_m W[u, v, c, m] * dout[n, i, j, c*M + m]
        dW[u, v, c, m] = sum_{n, i, j} x_pad[n, i*sh + u, j*sw + v, c] * dout[n, i, j, c*M + m]
        db[c*M + m]    = sum_{n, i, j} dout[n, i, j, c*M + m]

    Deconv and guided are the input gradient (the layer is linear in ``x``).

    Examples
    --------
    Channel 0 is summed with weight 1, channel 1 with weight 0.5:

    >>> layer = DepthwiseConv2D(2, use_bias=False)
    >>> layer.build((2, 2, 2))
    >>> layer.params["W"][:, :, 0, 0] = 1.0; layer.params["W"][:, :, 1, 0] = 0.5
    >>> x = np.stack([[[1, 2], [3, 4]], [[10, 20], [30, 40]]], axis=-1)[None]
    >>> layer.forward(x.astype(np.float32)).ravel()
    array([10., 50.], dtype=float32)
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
        self.depth_multiplier = check_positive_int(
            depth_multiplier, "depth_multiplier", "DepthwiseConv2D"
        )
        self.use_bias = bool(use_bias)
        self.x = None  # input of the last forward, (N, H, W, C)

    def compute_output_shape(self, input_shape):
        *_, H_out, W_out = self.geometry(input_shape)
        return (H_out, W_out, input_shape[-1] * self.depth_multiplier)

    def init_params(self, input_shape, rng):
        KH, KW = self.kernel_size
        C, M = input_shape[-1], self.depth_multiplier
        # Keras' fans for a (KH, KW, C, M) kernel: KH*KW*C in, KH*KW*M out
        self.params["W"] = glorot_uniform((KH, KW, C, M), KH * KW * C, KH * KW * M, rng)
        if self.use_bias:
            self.params["b"] = np.zeros(C * M, np.float32)

    def forward(self, x, training=False):
        x = np.ascontiguousarray(self.check_input(x))
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
    name, seed : optional

    Notes
    -----
    Shapes: ``x (N, H, W, C)``, ``depthwise_W (KH, KW, C, M)``,
    ``pointwise_W (1, 1, C*M, F)``, ``b (F,)``, ``y (N, H_out, W_out, F)``.

    Forward, with ``P = pointwise_W.reshape(C*M, F)``::

        h = depthwise(x; depthwise_W)                      # (N, H_out, W_out, C*M)
        y = h @ P + b                                      # (N, H_out, W_out, F)

    Backward applies the two adjoints in reverse order::

        dh = dout @ P.T
        dx = depthwise^T(dh)                               # as in DepthwiseConv2D
        d pointwise_W = (h^T dout).reshape(1, 1, C*M, F)
        d depthwise_W = the DepthwiseConv2D kernel gradient for signal dh
        db = sum_{n, i, j} dout[n, i, j, :]

    Deconv and guided are the input gradient (the layer is linear in ``x``).

    Examples
    --------
    The depthwise step of the DepthwiseConv2D example (10 and 50), then a pointwise
    sum of the two channels:

    >>> layer = SeparableConv2D(1, 2, use_bias=False)
    >>> layer.build((2, 2, 2))
    >>> layer.params["depthwise_W"][:, :, 0, 0] = 1.0
    >>> layer.params["depthwise_W"][:, :, 1, 0] = 0.5
    >>> layer.params["pointwise_W"][:] = 1.0
    >>> x = np.stack([[[1, 2], [3, 4]], [[10, 20], [30, 40]]], axis=-1)[None]
    >>> layer.forward(x.astype(np.float32)).ravel()
    array([60.], dtype=float32)
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
        self.filters = check_positive_int(filters, "filters", "SeparableConv2D")
        self.depth_multiplier = check_positive_int(
            depth_multiplier, "depth_multiplier", "SeparableConv2D"
        )
        self.use_bias = bool(use_bias)
        self.x = None  # input of the last forward, (N, H, W, C)
        self.h = None  # depthwise output of the last forward, (N, H_out, W_out, C*M)

    def compute_output_shape(self, input_shape):
        *_, H_out, W_out = self.geometry(input_shape)
        return (H_out, W_out, self.filters)

    def init_params(self, input_shape, rng):
        KH, KW = self.kernel_size
        C, M, F = input_shape[-1], self.depth_multiplier, self.filters
        self.params["depthwise_W"] = glorot_uniform((KH, KW, C, M), KH * KW * C, KH * KW * M, rng)
        self.params["pointwise_W"] = glorot_uniform((1, 1, C * M, F), C * M, F, rng)
        if self.use_bias:
            self.params["b"] = np.zeros(F, np.float32)

    def forward(self, x, training=False):
        x = np.ascontiguousarray(self.check_input(x))
        h = _depthwise_forward(x, self.params["depthwise_W"], self.geometry(x.shape[1:]))
        y = h @ self.params["pointwise_W"].reshape(-1, self.filters)
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
            dP = self.h.reshape(-1, P.shape[0]).T @ D
            self.grads["pointwise_W"] = dP.reshape(self.params["pointwise_W"].shape)
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
