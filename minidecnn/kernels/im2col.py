"""im2col and col2im: convolution as one matrix product.

A convolution with kernel ``W`` of shape ``(KH, KW, C, F)`` slides a
``KH x KW x C`` window over the zero-padded input. *im2col* copies every window
into one row of a matrix, so the whole convolution becomes one GEMM::

    cols[(n, i, j), (u, v, c)] = x_pad[n, i*sh + u, j*sw + v, c]
    y = cols @ W.reshape(KH*KW*C, F)                      # (N*H_out*W_out, F)

*col2im* is its adjoint: it scatter-adds every row back to the window it came
from (overlapping windows **sum**) and drops the padding::

    dx_pad[n, i*sh + u, j*sw + v, c] += dcols[(n, i, j), (u, v, c)]

so ``<im2col(x), D> == <x, col2im(D)>`` for every ``x`` and ``D``.

Both kernels take the padding explicitly as ``(pad_top, pad_left, H_out, W_out)``:
rows and columns outside the input read as zero, which is the same as padding
first, without the copy. ``pad_bottom``/``pad_right`` follow from ``H_out``/``W_out``.

Every function exists twice: ``*_naive`` is the equation above written as plain
loops over every index (the specification; slow); the un-suffixed twin is the
Numba kernel the layers use. Tests hold them equal.

Examples
--------
The 2x2 windows of a 3x3 image, one per row:

>>> x = np.arange(9.0).reshape(1, 3, 3, 1)
>>> im2col_naive(x, 2, 2, 1, 1, 0, 0, 2, 2)
array([[0., 1., 3., 4.],
       [1., 2., 4., 5.],
       [3., 4., 6., 7.],
       [4., 5., 7., 8.]])

col2im counts how many windows cover each pixel when every entry is 1:

>>> col2im_naive(np.ones((4, 4)), 1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2)[0, :, :, 0]
array([[1., 2., 1.],
       [2., 4., 2.],
       [1., 2., 1.]])
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ----------------------------------------------------------------------------- naive


def im2col_naive(x, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):
    """Copy every ``KH x KW x C`` window of ``x`` into a row of a matrix.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    KH, KW : int
        Window height and width.
    sh, sw : int
        Strides.
    pad_top, pad_left : int
        Zero rows above and zero columns left of ``x``.
    H_out, W_out : int
        Number of window positions; padding on the bottom/right is whatever makes
        these fit.

    Returns
    -------
    cols : ndarray of shape (N*H_out*W_out, KH*KW*C)
        Row ``(n*H_out + i)*W_out + j`` is the window at output position ``(i, j)``
        of image ``n``, flattened in ``(u, v, c)`` order, the order of
        ``W.reshape(KH*KW*C, F)``.

    Examples
    --------
    With ``pad_top=pad_left=1`` the first window hangs over the corner and reads zeros:

    >>> im2col_naive(np.ones((1, 2, 2, 1)), 2, 2, 1, 1, 1, 1, 3, 3)[0]
    array([0., 0., 0., 1.])
    """
    N, H, W, C = x.shape
    cols = np.zeros((N * H_out * W_out, KH * KW * C), dtype=x.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                row = (n * H_out + i) * W_out + j
                for u in range(KH):
                    for v in range(KW):
                        h = i * sh - pad_top + u  # row in the unpadded image
                        w = j * sw - pad_left + v
                        if 0 <= h < H and 0 <= w < W:  # padded cells stay zero
                            for c in range(C):
                                cols[row, (u * KW + v) * C + c] = x[n, h, w, c]
    return cols


def col2im_naive(cols, N, H, W, C, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):
    """Scatter-add the rows of ``cols`` back onto the image they came from.

    The adjoint of :func:`im2col_naive`: where windows overlap, contributions add;
    entries that fall on the padding are dropped.

    Parameters
    ----------
    cols : ndarray of shape (N*H_out*W_out, KH*KW*C)
    N, H, W, C : int
        Shape of the image to rebuild (without padding).
    KH, KW, sh, sw, pad_top, pad_left, H_out, W_out : int
        As in :func:`im2col_naive`.

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)
    """
    dx = np.zeros((N, H, W, C), dtype=cols.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                row = (n * H_out + i) * W_out + j
                for u in range(KH):
                    for v in range(KW):
                        h = i * sh - pad_top + u
                        w = j * sw - pad_left + v
                        if 0 <= h < H and 0 <= w < W:
                            for c in range(C):
                                dx[n, h, w, c] += cols[row, (u * KW + v) * C + c]
    return dx


# ----------------------------------------------------------------------------- fast


# im2col and col2im run on one thread on purpose. The layers call them on bands of
# a few MB (see minidecnn.layers.conv.row_blocks), each followed by a multi-threaded
# BLAS GEMM: a second pool of threads here would fight BLAS's idle workers, which
# keep spinning for a while after each GEMM, and on a band that fits in cache the
# copy is a small part of the time anyway.


@njit(cache=True)
def im2col(x, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):  # pragma: no cover - numba
    """Fast twin of :func:`im2col_naive` (Numba).

    The innermost loop copies the ``C`` channels of one pixel, which are
    contiguous in both ``x`` and ``cols`` (NHWC), so it compiles to a vector copy.
    """
    N, H, W, C = x.shape
    cols = np.empty((N * H_out * W_out, KH * KW * C), dtype=x.dtype)
    for r in range(N * H_out):  # r = n*H_out + i: one row of output positions
        n = r // H_out
        i = r % H_out
        for j in range(W_out):
            row = cols[r * W_out + j]
            for u in range(KH):
                h = i * sh - pad_top + u
                for v in range(KW):
                    w = j * sw - pad_left + v
                    k = (u * KW + v) * C
                    if 0 <= h < H and 0 <= w < W:
                        for c in range(C):
                            row[k + c] = x[n, h, w, c]
                    else:
                        for c in range(C):
                            row[k + c] = 0
    return cols


@njit(cache=True)
def col2im(cols, N, H, W, C, KH, KW, sh, sw, pad_top, pad_left, H_out, W_out):  # pragma: no cover
    """Fast twin of :func:`col2im_naive` (Numba).

    The same scatter-add as the naive loops, in the same order, so the sums round
    exactly alike: it reads ``cols`` once, row after row, in memory order, and adds
    each pixel's ``C`` channels (contiguous in NHWC) as one vector. (A *gather*,
    each pixel summing the windows that cover it, could run in parallel without
    races, but it jumps between rows of ``cols`` and measured 6-8x slower.)
    """
    dx = np.zeros((N, H, W, C), dtype=cols.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                row = cols[(n * H_out + i) * W_out + j]
                for u in range(KH):
                    h = i * sh - pad_top + u
                    if h < 0 or h >= H:
                        continue
                    for v in range(KW):
                        w = j * sw - pad_left + v
                        if w < 0 or w >= W:
                            continue
                        out = dx[n, h, w]
                        k = (u * KW + v) * C
                        for c in range(C):
                            out[c] += row[k + c]
    return dx
