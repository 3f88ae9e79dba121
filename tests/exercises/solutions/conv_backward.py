"""A correct answer to the conv_backward exercise (for the grader's tests)."""

import numpy as np

from minidecnn.kernels import im2col_naive
from minidecnn.kernels.geometry import window_geometry


def im2col(x, KH, KW, stride, padding):
    N, H, W, C = x.shape
    H_out, top, _ = window_geometry(H, KH, stride, padding)
    W_out, left, _ = window_geometry(W, KW, stride, padding)
    return im2col_naive(x, KH, KW, stride, stride, top, left, H_out, W_out)


def col2im(dcols, x_shape, KH, KW, stride, padding):
    N, H, W, C = x_shape
    H_out, top, bottom = window_geometry(H, KH, stride, padding)
    W_out, left, right = window_geometry(W, KW, stride, padding)
    dx_pad = np.zeros((N, H + top + bottom, W + left + right, C), dcols.dtype)
    d = dcols.reshape(N, H_out, W_out, KH, KW, C)
    for u in range(KH):
        for v in range(KW):
            rows = slice(u, u + stride * (H_out - 1) + 1, stride)
            columns = slice(v, v + stride * (W_out - 1) + 1, stride)
            dx_pad[:, rows, columns, :] += d[:, :, :, u, v, :]
    return dx_pad[:, top : top + H, left : left + W, :]


def conv_backward(dout, x, W, stride, padding):
    KH, KW, C, F = W.shape
    D = dout.reshape(-1, F)
    Wm = W.reshape(KH * KW * C, F)
    dx = col2im(D @ Wm.T, x.shape, KH, KW, stride, padding)
    dW = (im2col(x, KH, KW, stride, padding).T @ D).reshape(W.shape)
    return dx, dW, D.sum(axis=0)
