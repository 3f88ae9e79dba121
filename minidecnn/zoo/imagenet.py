"""ImageNet pre- and post-processing as Keras does it for VGG16/VGG19, offline.

``preprocess_input`` turns RGB images in ``[0, 255]`` into what the VGG weights
were trained on ("caffe" mode); ``decode_predictions`` turns the 1000 class
scores into ``(WordNet id, label, score)`` triples using the class index shipped in
``minidecnn/zoo/data/imagenet_class_index.json`` (identical to the file Keras
downloads; its provenance is in that folder's README).

Examples
--------
>>> import numpy as np
>>> preprocess_input(np.array([[10.0, 20.0, 30.0]]))          # one RGB pixel
array([[ -73.939,  -96.779, -113.68 ]])
>>> scores = np.zeros((1, 1000)); scores[0, [1, 0]] = [0.7, 0.2]
>>> decode_predictions(scores, top=2)
[[('n01443537', 'goldfish', 0.7), ('n01440764', 'tench', 0.2)]]
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources

import numpy as np

from .._checks import as_float_array, check_finite
from ..errors import ModelFileError, ShapeError

#: Per-channel means of the ImageNet training images, in **BGR** order (caffe mode).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def preprocess_input(x) -> np.ndarray:
    """Keras' VGG16/VGG19 preprocessing ("caffe" mode): RGB -> BGR, then subtract the means.

    Parameters
    ----------
    x : array_like of shape (..., 3)
        RGB images with values in ``[0, 255]``, for example ``(N, H, W, 3)`` or one
        ``(H, W, 3)`` image; integer arrays (``uint8``) are accepted.

    Returns
    -------
    ndarray of shape (..., 3)
        A **new** array (float32, or float64 for float64 input); ``x`` is never
        modified. (Keras' NumPy version modifies a float input in place.)

    Raises
    ------
    ShapeError
        When the last axis does not have 3 channels.

    Notes
    -----
    With ``x = (R, G, B)`` per pixel, no scaling::

        y = (B - 103.939, G - 116.779, R - 123.68)

    The order matters: flip first, then subtract the BGR means (an early 2016
    version subtracted first and so swapped the red and blue means).
    """
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float32)
    arr = as_float_array(arr, "preprocess_input", "image")
    _check_rgb(arr, "preprocess_input")
    return arr[..., ::-1] - np.asarray(CAFFE_MEAN_BGR, dtype=arr.dtype)


def deprocess_input(x) -> np.ndarray:
    """Undo :func:`preprocess_input`: add the BGR means back, then BGR -> RGB.

    Returns a new float array in ``[0, 255]`` (up to what the model did to it), for
    showing a preprocessed image or a signal in input space.

    >>> import numpy as np
    >>> deprocess_input(preprocess_input(np.array([[10.0, 20.0, 30.0]])))
    array([[10., 20., 30.]])
    """
    arr = as_float_array(x, "deprocess_input", "image")
    _check_rgb(arr, "deprocess_input")
    return (arr + np.asarray(CAFFE_MEAN_BGR, dtype=arr.dtype))[..., ::-1]


def _check_rgb(arr, where):
    if arr.ndim >= 1 and arr.shape[-1] == 3:
        return
    hint = ""
    if arr.ndim == 4 and arr.shape[1] == 3:
        hint = " This looks like channels-first (N, 3, H, W): pass x.transpose(0, 2, 3, 1)."
    raise ShapeError(
        f"{where}: the last axis must hold the 3 colour channels. Expected an array of "
        f"shape (..., 3) such as (N, H, W, 3), received {arr.shape}.{hint}"
    )


# ---------------------------------------------------------------------------- labels


@functools.lru_cache(maxsize=1)
def _shipped_class_index() -> dict[int, tuple[str, str]]:
    text = resources.files("minidecnn.zoo").joinpath("data/imagenet_class_index.json").read_text()
    return _parse_class_index(json.loads(text), "the shipped imagenet_class_index.json")


def _parse_class_index(raw, where) -> dict[int, tuple[str, str]]:
    if not isinstance(raw, dict) or not raw:
        raise ModelFileError(
            f'{where}: not a class index. Expected a JSON object mapping "0", "1", ... to '
            f"[wnid, label], received {type(raw).__name__}."
        )
    n = len(raw)
    index = {}
    for i in range(n):
        entry = raw.get(str(i))
        ok = isinstance(entry, list | tuple) and len(entry) == 2
        if not ok or not all(isinstance(s, str) for s in entry):
            raise ModelFileError(
                f'{where}: entry {str(i)!r} is {entry!r}. Expected keys "0" ... "{n - 1}", '
                f'each mapped to [wnid, label] strings such as ["n01440764", "tench"].'
            )
        index[i] = (entry[0], entry[1])
    return index


def load_class_index(class_index=None) -> dict[int, tuple[str, str]]:
    """The class index as ``{class: (wnid, label)}``.

    Parameters
    ----------
    class_index : None, str, os.PathLike or dict, optional
        ``None``: the 1000 ImageNet classes shipped with minidecnn. A path: a JSON
        file in Keras' ``imagenet_class_index.json`` format (``{"0": [wnid, label],
        ...}``). A dict in that format is accepted too.

    >>> load_class_index()[0]
    ('n01440764', 'tench')
    """
    if class_index is None:
        return _shipped_class_index()
    if isinstance(class_index, dict):
        return _parse_class_index(class_index, "decode_predictions: class_index")
    if not isinstance(class_index, str | os.PathLike):
        raise TypeError(
            f"decode_predictions: class_index must be None, a path or a dict, received "
            f"{type(class_index).__name__}."
        )
    where = f"class index {os.fspath(class_index)!r}"
    try:
        with open(class_index, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise ModelFileError(
            f"{where}: no such file. Expected the path of an imagenet_class_index.json; "
            f"leave class_index=None to use the copy shipped with minidecnn."
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"{where}: cannot be read as JSON ({exc}). Expected Keras' "
            f'imagenet_class_index.json format {{"0": ["n01440764", "tench"], ...}}.'
        ) from None
    return _parse_class_index(raw, where)


def decode_predictions(preds, top: int = 5, class_index=None) -> list:
    """The ``top`` classes of each row of ``preds`` as ``(wnid, label, score)``, like Keras.

    Parameters
    ----------
    preds : array_like of shape (N, K)
        Class scores (probabilities or logits), ``K = 1000`` for ImageNet.
    top : int, default 5
        How many classes per row, ``1 <= top <= K``.
    class_index : None, path or dict, optional
        See :func:`load_class_index`; ``K`` must equal its number of classes.

    Returns
    -------
    list of N lists of ``top`` tuples ``(wnid, label, score)``
        Highest score first; equal scores keep the lower class index first.

    Raises
    ------
    ShapeError
        ``preds`` is not ``(N, K)``.
    ValueError
        ``top`` out of range.
    """
    index = load_class_index(class_index)
    K = len(index)
    where = "decode_predictions"
    arr = np.asarray(preds)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    arr = as_float_array(arr, where, "preds")
    if arr.ndim != 2 or arr.shape[1] != K:
        hint = ""
        if arr.shape == (K,):
            hint = " For the scores of one image pass preds[None]."
        raise ShapeError(
            f"{where}: wrong preds shape. Expected (N, {K}) (one row of {K} class scores "
            f"per image), received {arr.shape}.{hint}"
        )
    check_finite(arr, where, "preds")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or not 1 <= top <= K:
        raise ValueError(
            f"{where}: invalid top. Expected an int from 1 to {K}, received top={top!r}."
        )
    results = []
    for row in arr:
        best = np.argsort(-row, kind="stable")[:top]
        results.append([(*index[int(i)], float(row[i])) for i in best])
    return results
