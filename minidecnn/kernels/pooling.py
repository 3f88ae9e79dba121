"""Pooling kernels: max-pooling with switches, routing through switches, average pooling.

Max-pooling keeps, for every output cell, the position of the winning input
cell: the **switch** (CS231n's word; Zeiler & Fergus's "switch variables")::

    y[n, i, j, c]        = max_{u<KH, v<KW} x_pad[n, i*sh + u, j*sw + v, c]
    switches[n, i, j, c] = h*W + w   of the winning cell, in unpadded coordinates

**Tie rule**: the first maximum in row-major window order wins (scan ``u`` then
``v`` and replace only on a strictly larger value), exactly like ``np.argmax``.
Padded cells (``"same"`` padding) never win.

*Routing through switches* sends each output signal back to its switch and is
both the gradient of max-pooling and Zeiler & Fergus's *unpooling*::

    dx[n, h, w, c] = sum of dout[n, i, j, c] over the (i, j) with switches[n, i, j, c] == h*W + w

Average pooling divides by the number of *real* cells in each window, so with
``"same"`` padding the border windows average fewer cells (as Keras does)::

    y[n, i, j, c] = (1 / |S_ij|) * sum_{(h, w) in S_ij} x[n, h, w, c]
    dx[n, h, w, c] = sum over windows (i, j) containing (h, w) of dout[n, i, j, c] / |S_ij|

All kernels take the window geometry as ``(KH, KW, sh, sw, pad_top, pad_left, H_out, W_out)``,
like :mod:`minidecnn.kernels.im2col`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ----------------------------------------------------------------------------- naive


def maxpool_forward_naive(x, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):
    """Max-pool ``x`` and record the switches.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    KH, KW, sh, sw, pad_top, pad_left, H_out, W_out : int
        Window geometry, see :mod:`minidecnn.kernels.geometry`.

    Returns
    -------
    y : ndarray of shape (N, H_out, W_out, C)
    switches : ndarray of int64, shape (N, H_out, W_out, C)
        Flat index ``h*W + w`` of the winning input cell.

    Examples
    --------
    Ties go to the first cell in row-major order:

    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> y, s = maxpool_forward_naive(x, 2, 2, 2, 2, 0, 0, 1, 1)
    >>> float(y[0, 0, 0, 0]), int(s[0, 0, 0, 0])
    (3.0, 1)
    """
    N, H, W, C = x.shape
    y = np.empty((N, H_out, W_out, C), dtype=x.dtype)
    switches = np.empty((N, H_out, W_out, C), dtype=np.int64)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    best, best_index = -np.inf, -1
                    for u in range(KH):
                        for v in range(KW):
                            h, w = i * sh - pad_top + u, j * sw - pad_left + v
                            if 0 <= h < H and 0 <= w < W and x[n, h, w, c] > best:
                                best, best_index = x[n, h, w, c], h * W + w
                    y[n, i, j, c] = best
                    switches[n, i, j, c] = best_index
    return y, switches


def route_switches_naive(dout, switches, H, W):
    """Send each output signal back to the input cell its switch points at.

    The backward pass of max-pooling and the *unpooling* of Zeiler & Fergus.

    Parameters
    ----------
    dout : ndarray of shape (N, H_out, W_out, C)
    switches : ndarray of int, shape (N, H_out, W_out, C)
        From :func:`maxpool_forward_naive`.
    H, W : int
        Spatial size of the pooled input.

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)
        Zero except at switch positions; overlapping windows that share a
        winner add their signals.
    """
    N, H_out, W_out, C = dout.shape
    dx = np.zeros((N, H, W, C), dtype=dout.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    h, w = divmod(int(switches[n, i, j, c]), W)
                    dx[n, h, w, c] += dout[n, i, j, c]
    return dx


def avgpool_forward_naive(x, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):
    """Average-pool ``x``, counting only real (unpadded) cells.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    KH, KW, sh, sw, pad_top, pad_left, H_out, W_out : int
        Window geometry, see :mod:`minidecnn.kernels.geometry`.

    Returns
    -------
    y : ndarray of shape (N, H_out, W_out, C)

    Examples
    --------
    With ``"same"`` padding the last window of a length-3 row holds one real cell:

    >>> x = np.array([1.0, 2.0, 4.0]).reshape(1, 1, 3, 1)
    >>> avgpool_forward_naive(x, 1, 2, 1, 2, 0, 0, 1, 2)[0, 0, :, 0]
    array([1.5, 4. ])
    """
    N, H, W, C = x.shape
    y = np.zeros((N, H_out, W_out, C), dtype=x.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    total, count = x.dtype.type(0), 0
                    for u in range(KH):
                        for v in range(KW):
                            h, w = i * sh - pad_top + u, j * sw - pad_left + v
                            if 0 <= h < H and 0 <= w < W:
                                total += x[n, h, w, c]
                                count += 1
                    y[n, i, j, c] = float(total) / count
    return y


def avgpool_backward_naive(dout, H, W, KH, KW, sh, sw, pad_top, pad_left):
    """Spread each output signal evenly over the real cells of its window.

    Parameters
    ----------
    dout : ndarray of shape (N, H_out, W_out, C)
    H, W : int
        Spatial size of the pooled input.
    KH, KW, sh, sw, pad_top, pad_left : int
        Window geometry, as in :func:`avgpool_forward_naive`.

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)

    Examples
    --------
    One 2x2 window: each of its four cells gets a quarter of the signal:

    >>> avgpool_backward_naive(np.full((1, 1, 1, 1), 8.0), 2, 2, 2, 2, 2, 2, 0, 0)[0, :, :, 0]
    array([[2., 2.],
           [2., 2.]])
    """
    N, H_out, W_out, C = dout.shape
    dx = np.zeros((N, H, W, C), dtype=dout.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                cells = [
                    (i * sh - pad_top + u, j * sw - pad_left + v)
                    for u in range(KH)
                    for v in range(KW)
                    if 0 <= i * sh - pad_top + u < H and 0 <= j * sw - pad_left + v < W
                ]
                for c in range(C):
                    share = float(dout[n, i, j, c]) / len(cells)
                    for h, w in cells:
                        dx[n, h, w, c] += share
    return dx


# ----------------------------------------------------------------------------- fast


@njit(parallel=True, cache=True)
def maxpool_forward(x, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):  # pragma: no cover
    """Fast twin of :func:`maxpool_forward_naive` (Numba, parallel over output rows)."""
    N, H, W, C = x.shape
    y = np.empty((N, H_out, W_out, C), dtype=x.dtype)
    switches = np.empty((N, H_out, W_out, C), dtype=np.int64)
    for r in prange(N * H_out):
        n = r // H_out
        i = r % H_out
        for j in range(W_out):
            for c in range(C):
                y[n, i, j, c] = -np.inf
                switches[n, i, j, c] = -1
            for u in range(KH):
                h = i * sh - pad_top + u
                if h < 0 or h >= H:
                    continue
                for v in range(KW):
                    w = j * sw - pad_left + v
                    if w < 0 or w >= W:
                        continue
                    for c in range(C):  # c innermost: contiguous in NHWC
                        if x[n, h, w, c] > y[n, i, j, c]:
                            y[n, i, j, c] = x[n, h, w, c]
                            switches[n, i, j, c] = h * W + w
    return y, switches


@njit(cache=True)
def _window_range(pos, pad, K, s, n_out):  # pragma: no cover - numba
    """First and last output index ``i`` whose window ``[i*s - pad, i*s - pad + K)``
    contains input position ``pos`` (``last < first`` when there is none)."""
    lo = pos + pad - K + 1
    first = 0 if lo <= 0 else (lo + s - 1) // s
    last = min((pos + pad) // s, n_out - 1)
    return first, last


@njit(parallel=True, cache=True)
def route_switches(dout, switches, H, W):  # pragma: no cover - numba
    """Fast twin of :func:`route_switches_naive`.

    Parallel over the images of the batch: two images never share a cell of ``dx``,
    and within an image the signals are added in window order, as in the naive
    scatter, so overlapping windows that share a winner round alike. The switch
    ``h*W + w`` indexes ``dx`` seen as ``(N, H*W, C)`` directly.
    """
    N, H_out, W_out, C = dout.shape
    dx = np.zeros((N, H * W, C), dtype=dout.dtype)
    for n in prange(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    dx[n, switches[n, i, j, c], c] += dout[n, i, j, c]
    return dx.reshape(N, H, W, C)


@njit(parallel=True, cache=True)
def avgpool_forward(x, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):  # pragma: no cover
    """Fast twin of :func:`avgpool_forward_naive` (parallel over output rows)."""
    N, H, W, C = x.shape
    y = np.zeros((N, H_out, W_out, C), dtype=x.dtype)
    for r in prange(N * H_out):
        n = r // H_out
        i = r % H_out
        h0 = max(i * sh - pad_top, 0)
        h1 = min(i * sh - pad_top + KH, H)
        for j in range(W_out):
            w0 = max(j * sw - pad_left, 0)
            w1 = min(j * sw - pad_left + KW, W)
            out = y[n, i, j]
            for h in range(h0, h1):
                for w in range(w0, w1):
                    for c in range(C):
                        out[c] += x[n, h, w, c]
            count = (h1 - h0) * (w1 - w0)
            for c in range(C):
                out[c] = out[c] / count
    return y


@njit(parallel=True, cache=True)
def avgpool_backward(dout, H, W, KH, KW, sh, sw, pad_top, pad_left):  # pragma: no cover
    """Fast twin of :func:`avgpool_backward_naive`, written as a gather over input rows."""
    N, H_out, W_out, C = dout.shape
    dx = np.zeros((N, H, W, C), dtype=dout.dtype)
    for r in prange(N * H):
        n = r // H
        h = r % H
        i0, i1 = _window_range(h, pad_top, KH, sh, H_out)
        for w in range(W):
            j0, j1 = _window_range(w, pad_left, KW, sw, W_out)
            out = dx[n, h, w]
            for i in range(i0, i1 + 1):
                rows = min(i * sh - pad_top + KH, H) - max(i * sh - pad_top, 0)
                for j in range(j0, j1 + 1):
                    cols = min(j * sw - pad_left + KW, W) - max(j * sw - pad_left, 0)
                    count = rows * cols
                    for c in range(C):
                        out[c] += dout[n, i, j, c] / count
    return dx
