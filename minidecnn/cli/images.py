"""Reading a person's image for ``minidecnn explain``: file -> RGB in [0, 1] -> model input.

Images are read with matplotlib (PNG natively, JPEG and others through Pillow, which
matplotlib depends on), turned into floats in ``[0, 1]`` with three colour channels,
and resized to the model's input with separable resampling matrices:

* shrinking averages the input pixels under each output pixel, weighted by their
  overlap (area resampling), so a photograph brought down to 32x32 is not aliased;
* enlarging interpolates bilinearly (half-pixel centres, as TensorFlow and PyTorch).

>>> img = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
>>> resize(img, 2, 2)[..., 0]
array([[ 2.5,  4.5],
       [10.5, 12.5]], dtype=float32)
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataFileError, ShapeError
from ..explain._resize import interpolation_matrix

#: luminance weights (ITU-R BT.601) for models with one input channel
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

#: input scalings for ``--preprocess``: name -> (description, function of RGB in [0, 1])
PREPROCESS = {
    "unit": ("pixel values in [0, 1] (the demo model)", lambda x: x),
    "255": ("pixel values in [0, 255]", lambda x: 255.0 * x),
    "signed": ("pixel values in [-1, 1]", lambda x: 2.0 * x - 1.0),
    "caffe": ("Keras 'caffe' mode: BGR, ImageNet means subtracted (VGG16/19, ResNet50)", None),
}


def read_image(path, where: str = "minidecnn explain") -> np.ndarray:
    """Read a PNG/JPEG file as RGB floats in [0, 1].

    Returns
    -------
    ndarray of shape (H, W, 3), float32
        Grey images get three equal channels; a transparent image is laid on white.

    Raises
    ------
    DataFileError
        For a missing file, a folder, or a file that is not an image.
    """
    from matplotlib import image as mpimg

    name = os.fspath(path)
    if not os.path.exists(name):
        raise DataFileError(
            f"{where}: no image at {name!r}. Expected the path of a PNG or JPEG file, "
            f"received a path that does not exist. Check the spelling and the folder."
        )
    if os.path.isdir(name):
        raise DataFileError(
            f"{where}: {name!r} is a folder. Expected the path of a PNG or JPEG file."
        )
    try:
        img = mpimg.imread(name)
    except Exception as exc:  # Pillow and matplotlib raise many types for broken files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFileError(
            f"{where}: cannot read {name!r} as an image ({reason}). Expected a PNG or JPEG "
            f"file. Convert it to PNG and try again."
        ) from None
    img = np.asarray(img)
    if img.dtype.kind in "ui":  # JPEG: uint8; 16-bit PNG read by Pillow: uint16
        img = img.astype(np.float32) / np.iinfo(img.dtype).max
    img = img.astype(np.float32, copy=False)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[-1] not in (1, 2, 3, 4) or min(img.shape[:2]) < 1:
        raise DataFileError(
            f"{where}: {name!r} has an unusual layout {img.shape}. Expected a grey, RGB or "
            f"RGBA image. Convert it to an RGB PNG and try again."
        )
    if img.shape[-1] in (2, 4):  # grey/colour + alpha: lay the image on white
        alpha = img[..., -1:]
        img = img[..., :-1] * alpha + (1.0 - alpha)
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return np.clip(img, 0.0, 1.0)


def resample_matrix(n_out: int, n_in: int) -> np.ndarray:
    """``R`` of shape (n_out, n_in): area averaging when shrinking, bilinear when enlarging.

    >>> resample_matrix(2, 4)
    array([[0.5, 0.5, 0. , 0. ],
           [0. , 0. , 0.5, 0.5]])
    """
    if n_out >= n_in:
        return interpolation_matrix(n_out, n_in)
    scale = n_in / n_out
    edges = np.arange(n_in + 1, dtype=np.float64)
    R = np.empty((n_out, n_in))
    for i in range(n_out):  # overlap of output cell [i s, (i+1) s) with input pixel [j, j+1)
        lo, hi = i * scale, (i + 1) * scale
        R[i] = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None) / scale
    return R


def resize(img: np.ndarray, H: int, W: int) -> np.ndarray:
    """Resize an ``(h, w, C)`` image to ``(H, W, C)`` (see the module notes)."""
    if img.shape[:2] == (H, W):
        return img
    R_h = resample_matrix(H, img.shape[0]).astype(img.dtype)
    R_w = resample_matrix(W, img.shape[1]).astype(img.dtype)
    return np.einsum("Hh,hwc,Ww->HWc", R_h, img, R_w, optimize=True)


def to_model_input(rgb: np.ndarray, input_shape, preprocess: str = "unit", where="explain"):
    """Resize an RGB image to the model's ``(H, W, C)`` and scale it as the model expects.

    Returns
    -------
    shown : ndarray of shape (H, W, 3)
        The resized RGB image in [0, 1], for display.
    x : ndarray of shape (1, H, W, C), float32
        The network input.
    """
    if len(input_shape) != 3:
        raise ShapeError(
            f"{where}: the model's input has shape {tuple(input_shape)}. Expected an image "
            f"model with inputs (H, W, C); explain images with a convolutional network."
        )
    H, W, C = input_shape
    if C not in (1, 3):
        raise ShapeError(
            f"{where}: the model expects {C} input channels. Expected a model with 1 (grey) "
            f"or 3 (RGB) channels, received input shape {tuple(input_shape)}."
        )
    if C == 1 and preprocess == "caffe":
        raise ShapeError(
            f"{where}: 'caffe' preprocessing needs an RGB model. Expected 3 input channels, "
            f"received input shape {tuple(input_shape)}. Choose another --preprocess."
        )
    shown = np.clip(resize(rgb, H, W), 0.0, 1.0).astype(np.float32)
    pixels = shown if C == 3 else (shown @ LUMA)[..., None]
    if preprocess == "caffe":
        from ..zoo import preprocess_input

        x = preprocess_input(255.0 * pixels)
    else:
        x = PREPROCESS[preprocess][1](pixels)
    return shown, np.asarray(x, np.float32)[None]
