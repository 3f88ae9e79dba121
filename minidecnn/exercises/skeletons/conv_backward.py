"""Exercise ``conv_backward``: the backward pass of a convolution, through col2im.

Write ``col2im`` and ``conv_backward``, then grade them::

    minidecnn check conv_backward this_file.py

Shapes: ``x (N, H, W, C)``, ``W (KH, KW, C, F)``, ``dout (N, H_out, W_out, F)`` -- the
signal arriving from above, shaped like the forward output.

The forward pass was ``y = im2col(x) @ Wm + b`` with ``Wm = W.reshape(KH*KW*C, F)``
(``im2col`` and ``window_geometry`` are given below; they are the subject of the
``conv_forward`` exercise). Its backward pass, with ``D = dout.reshape(N*H_out*W_out, F)``::

    dcols = D @ Wm.T                            # (N*H_out*W_out, KH*KW*C)
    dx    = col2im(dcols)                       # the transposed convolution
    dW    = (im2col(x).T @ D).reshape(KH, KW, C, F)
    db    = D.sum(axis=0)

1. ``col2im`` is the adjoint of im2col: it scatter-adds each row back onto the window
   it came from. Where windows overlap the contributions **add**; what lands on the
   padding is dropped::

       dx_pad[n, i*stride + u, j*stride + v, c] += dcols[(n*H_out + i)*W_out + j, (u*KW + v)*C + c]
       dx = dx_pad without its before/after rows and columns

2. ``conv_backward`` returns ``(dx, dW, db)``. The bias takes no part in ``dx``.

``dx`` is Zeiler & Fergus's "filtering" step of the DeconvNet: for stride 1 and no
padding it is a *full* convolution of ``dout`` with the filters flipped vertically and
horizontally. The grader also checks ``dx`` and ``dW`` against centred differences and
the identity ``<conv(x), y> = <x, dx(y)>``.
"""

import numpy as np

from minidecnn.exercises import Unfinished
from minidecnn.kernels import im2col_naive
from minidecnn.kernels.geometry import window_geometry


def im2col(x, KH, KW, stride, padding):
    """Given: the windows of ``x``, one per row, shape (N*H_out*W_out, KH*KW*C)."""
    N, H, W, C = x.shape
    H_out, top, _ = window_geometry(H, KH, stride, padding)
    W_out, left, _ = window_geometry(W, KW, stride, padding)
    return im2col_naive(x, KH, KW, stride, stride, top, left, H_out, W_out)


def col2im(dcols, x_shape, KH, KW, stride, padding):
    """Scatter-add the rows of ``dcols`` back onto an image of shape ``x_shape``.

    Parameters
    ----------
    dcols : ndarray of shape (N*H_out*W_out, KH*KW*C)
    x_shape : tuple (N, H, W, C)
    KH, KW, stride : int
    padding : {"valid", "same"}

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)
    """
    N, H, W, C = x_shape
    raise Unfinished("col2im")


def conv_backward(dout, x, W, stride, padding):
    """Gradients of a convolution with respect to its input, kernel and bias.

    Parameters
    ----------
    dout : ndarray of shape (N, H_out, W_out, F)
    x : ndarray of shape (N, H, W, C)
        The input of the forward pass.
    W : ndarray of shape (KH, KW, C, F)
    stride : int
    padding : {"valid", "same"}

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)
    dW : ndarray of shape (KH, KW, C, F)
    db : ndarray of shape (F,)
    """
    KH, KW, C, F = W.shape
    raise Unfinished("conv_backward")


if __name__ == "__main__":
    # A 2x2 kernel of ones over a 3x3 image: each output pixel sends its signal to the
    # four pixels of its window, so the centre collects all four (try col2im on ones).
    print(col2im(np.ones((4, 4)), (1, 3, 3, 1), 2, 2, 1, "valid")[0, :, :, 0])
