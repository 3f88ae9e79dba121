"""Bilinear resizing of heat maps (Grad-CAM's upsampling, overlays), written as two matrices."""

from __future__ import annotations

import numpy as np


def interpolation_matrix(n_out: int, n_in: int) -> np.ndarray:
    """``R`` of shape (n_out, n_in) with ``resized = R @ signal`` (linear, half-pixel centres).

    Output sample ``i`` sits at input coordinate ``(i + 0.5) * n_in / n_out - 0.5``
    (clamped to ``[0, n_in - 1]``) and mixes its two neighbours linearly: the
    convention of PyTorch's ``align_corners=False``, TensorFlow 2's ``tf.image.resize``
    and OpenCV.

    >>> interpolation_matrix(4, 2)
    array([[1.  , 0.  ],
           [0.75, 0.25],
           [0.25, 0.75],
           [0.  , 1.  ]])
    """
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = src - i0
    R = np.zeros((n_out, n_in))
    np.add.at(R, (np.arange(n_out), i0), 1 - w1)
    np.add.at(R, (np.arange(n_out), i1), w1)
    return R


def resize_bilinear(maps: np.ndarray, H: int, W: int) -> np.ndarray:
    """Resize ``(N, h, w)`` maps to ``(N, H, W)``: ``out[n] = R_H @ maps[n] @ R_W.T``."""
    R_h = interpolation_matrix(H, maps.shape[1]).astype(maps.dtype)
    R_w = interpolation_matrix(W, maps.shape[2]).astype(maps.dtype)
    return np.einsum("Hh,nhw,Ww->nHW", R_h, maps, R_w, optimize=True)
