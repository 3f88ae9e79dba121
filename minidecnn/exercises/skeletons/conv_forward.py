"""Exercise ``conv_forward``: a convolution's forward pass as im2col followed by one GEMM.

Write the three functions below, then grade them::

    minidecnn check conv_forward this_file.py

Shapes (minidecnn's vocabulary; images are channels-last, NHWC)::

    x  (N, H, W, C)        a batch of images
    W  (KH, KW, C, F)      F filters of KH x KW x C
    b  (F,)
    y  (N, H_out, W_out, F)

1. ``window_geometry`` -- the output size and the padding of one axis, as in
   TensorFlow/Keras::

       "valid":  out = floor((size - kernel) / stride) + 1,  before = after = 0
       "same":   out = ceil(size / stride)
                 total = max((out - 1) * stride + kernel - size, 0)
                 before = total // 2,  after = total - before

   With an odd total the extra row (column) goes after: at the bottom (right).

2. ``im2col`` -- copy every window into one row of a matrix. With ``x_pad`` the
   image with ``before``/``after`` rows and columns of zeros around it::

       cols[(n*H_out + i)*W_out + j, (u*KW + v)*C + c] = x_pad[n, i*stride + u, j*stride + v, c]

   Rows run over (n, i, j), columns over (u, v, c) with c fastest: the order of
   ``W.reshape(KH*KW*C, F)``.

3. ``conv_forward`` -- the convolution (a cross-correlation: the kernel is not
   flipped)::

       y[n, i, j, f] = b[f] + sum_{u, v, c} W[u, v, c, f] * x_pad[n, i*stride + u, j*stride + v, c]
                     = (im2col(x) @ W.reshape(KH*KW*C, F) + b)[(n, i, j), f]

A tiny case to check by hand: the 2x2 windows of ``x = np.arange(9.0).reshape(1, 3, 3, 1)``
with stride 1 and ``"valid"`` padding are the rows ``[0, 1, 3, 4]``, ``[1, 2, 4, 5]``,
``[3, 4, 6, 7]`` and ``[4, 5, 7, 8]``.
"""

import numpy as np

from minidecnn.exercises import Unfinished


def window_geometry(size, kernel, stride, padding):
    """Output length and zero padding of one spatial axis.

    Parameters
    ----------
    size : int
        ``H`` (or ``W``).
    kernel : int
        ``KH`` (or ``KW``).
    stride : int
    padding : {"valid", "same"}

    Returns
    -------
    (out, before, after) : tuple of int
        ``H_out`` and the zero rows added on top (``before``) and at the bottom
        (``after``).
    """
    raise Unfinished("window_geometry")


def im2col(x, KH, KW, stride, padding):
    """The windows of ``x``, one per row.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    KH, KW : int
        Window height and width.
    stride : int
        The same step along both axes.
    padding : {"valid", "same"}

    Returns
    -------
    cols : ndarray of shape (N*H_out*W_out, KH*KW*C)
    """
    N, H, W, C = x.shape
    raise Unfinished("im2col")


def conv_forward(x, W, b, stride, padding):
    """The convolution of ``x`` with ``W`` plus ``b``.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    W : ndarray of shape (KH, KW, C, F)
    b : ndarray of shape (F,)
    stride : int
    padding : {"valid", "same"}

    Returns
    -------
    y : ndarray of shape (N, H_out, W_out, F)
    """
    KH, KW, C, F = W.shape
    raise Unfinished("conv_forward")


if __name__ == "__main__":
    # Try your functions here; the grader only imports this file.
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    print(im2col(x, 2, 2, 1, "valid"))
