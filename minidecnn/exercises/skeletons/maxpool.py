"""Exercise ``maxpool``: max-pooling that records its switches, and its backward pass.

Write ``maxpool_forward`` and ``maxpool_backward``, then grade them::

    minidecnn check maxpool this_file.py

Shapes: ``x (N, H, W, C)``, ``y`` and ``switches (N, H_out, W_out, C)``. The window is
``pool x pool`` and moves by ``stride``; ``H_out`` and the padding follow TensorFlow
(``window_geometry`` below, given; see the ``conv_forward`` exercise).

1. ``maxpool_forward``::

       y[n, i, j, c]        = max_{u, v < pool} x_pad[n, i*stride + u, j*stride + v, c]
       switches[n, i, j, c] = h*W + w of the winning cell, in the coordinates of x

   * **Ties**: the first maximum in row-major window order wins (scan ``u`` then
     ``v`` and replace only on a strictly larger value -- what ``np.argmax`` does).
   * **Padding**: with ``"same"`` padding, padded cells never win (an image of
     negative values must not pool to 0).

2. ``maxpool_backward`` (the gradient, and Zeiler & Fergus's *unpooling*): each
   output signal goes back to the cell its switch points at, every other cell gets 0;
   overlapping windows that share a winner **add** their signals::

       dx[n, h, w, c] = sum of dout[n, i, j, c]
                        over the (i, j) with switches[n, i, j, c] == h*W + w

By hand: ``x = [[1, 2], [4, 3]]`` (one 2x2 window) pools to 4 with switch 2 (row 1,
column 0), and ``dout = 5`` unpools to ``[[0, 0], [5, 0]]``.
"""

import numpy as np

from minidecnn.exercises import Unfinished
from minidecnn.kernels.geometry import window_geometry


def maxpool_forward(x, pool, stride, padding):
    """Max-pool ``x`` and record where each maximum came from.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    pool : int
        Window size (``pool x pool``).
    stride : int
    padding : {"valid", "same"}

    Returns
    -------
    y : ndarray of shape (N, H_out, W_out, C)
    switches : ndarray of int, shape (N, H_out, W_out, C)
        Flat index ``h*W + w`` of each window's winner in ``x``.
    """
    N, H, W, C = x.shape
    H_out, pad_top, _ = window_geometry(H, pool, stride, padding)
    W_out, pad_left, _ = window_geometry(W, pool, stride, padding)
    raise Unfinished("maxpool_forward")


def maxpool_backward(dout, switches, x_shape):
    """Route each signal of ``dout`` to the cell its switch points at.

    Parameters
    ----------
    dout : ndarray of shape (N, H_out, W_out, C)
    switches : ndarray of int, shape (N, H_out, W_out, C)
        From ``maxpool_forward``.
    x_shape : tuple (N, H, W, C)

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)
    """
    N, H, W, C = x_shape
    raise Unfinished("maxpool_backward")


if __name__ == "__main__":
    x = np.array([[1.0, 2.0], [4.0, 3.0]]).reshape(1, 2, 2, 1)
    y, s = maxpool_forward(x, 2, 2, "valid")
    print(y.ravel(), s.ravel(), maxpool_backward(np.full((1, 1, 1, 1), 5.0), s, x.shape).ravel())
