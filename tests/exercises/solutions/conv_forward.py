"""A correct answer to the conv_forward exercise (for the grader's tests)."""

import numpy as np


def window_geometry(size, kernel, stride, padding):
    if padding == "valid":
        return (size - kernel) // stride + 1, 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def im2col(x, KH, KW, stride, padding):
    N, H, W, C = x.shape
    H_out, top, bottom = window_geometry(H, KH, stride, padding)
    W_out, left, right = window_geometry(W, KW, stride, padding)
    x_pad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    cols = np.empty((N, H_out, W_out, KH, KW, C), x.dtype)
    for u in range(KH):
        for v in range(KW):
            rows = slice(u, u + stride * (H_out - 1) + 1, stride)
            columns = slice(v, v + stride * (W_out - 1) + 1, stride)
            cols[:, :, :, u, v, :] = x_pad[:, rows, columns, :]
    return cols.reshape(N * H_out * W_out, KH * KW * C)


def conv_forward(x, W, b, stride, padding):
    KH, KW, C, F = W.shape
    N, H, Wd, _ = x.shape
    H_out = window_geometry(H, KH, stride, padding)[0]
    W_out = window_geometry(Wd, KW, stride, padding)[0]
    y = im2col(x, KH, KW, stride, padding) @ W.reshape(KH * KW * C, F) + b
    return y.reshape(N, H_out, W_out, F)
