"""A correct answer to the maxpool exercise (for the grader's tests)."""

import numpy as np

from minidecnn.kernels.geometry import window_geometry


def maxpool_forward(x, pool, stride, padding):
    N, H, W, C = x.shape
    H_out, pad_top, _ = window_geometry(H, pool, stride, padding)
    W_out, pad_left, _ = window_geometry(W, pool, stride, padding)
    y = np.empty((N, H_out, W_out, C), x.dtype)
    switches = np.empty((N, H_out, W_out, C), np.int64)
    for i in range(H_out):
        for j in range(W_out):
            h0, w0 = i * stride - pad_top, j * stride - pad_left
            rows = range(max(h0, 0), min(h0 + pool, H))
            cols = range(max(w0, 0), min(w0 + pool, W))
            window = x[:, rows.start : rows.stop, cols.start : cols.stop, :]
            flat = window.reshape(N, -1, C)
            k = flat.argmax(axis=1)  # the first maximum in row-major order
            y[:, i, j, :] = np.take_along_axis(flat, k[:, None, :], axis=1)[:, 0, :]
            h, w = np.divmod(k, len(cols))
            switches[:, i, j, :] = (h + rows.start) * W + (w + cols.start)
    return y, switches


def maxpool_backward(dout, switches, x_shape):
    N, H, W, C = x_shape
    dx = np.zeros((N, H * W, C), dout.dtype)
    n, _, _, c = np.indices(switches.shape)
    np.add.at(dx, (n.ravel(), switches.ravel(), c.ravel()), dout.ravel())
    return dx.reshape(x_shape)
