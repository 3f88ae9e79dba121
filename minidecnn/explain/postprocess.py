"""Turning raw maps into pictures (display only; the methods return raw numbers).

=========================  =====================================================  =========
function                   what it computes                                       from
=========================  =====================================================  =========
``channel_max_abs``        ``max_c |m|``: Simonyan's saliency picture             Simonyan
``abs_sum``                ``sum_c |m|``                                          PAIR
``normalize_percentile``   ``sum_c |m|``, clipped at the 99th percentile, [0, 1]  PAIR
``normalize_diverging``    ``sum_c m``, divided by the 99th percentile of |.|,    --
                           in [-1, 1] with 0 kept at 0
``normalize_minmax``       ``(m - min) / (max - min)`` per image: a signed RGB    Nie et
                           map (guided, deconv) shown as a picture                al.
``overlay``                a heat map blended over the image, as RGB              --
=========================  =====================================================  =========

Shapes: a batch of maps is ``(N, H, W, C)``; a batch of one-channel heat maps (what
the reductions and Grad-CAM return) is ``(N, H, W)``. The functions accept an
:class:`~minidecnn.explain.Explanation` or any array and return a plain array.
Percentile clipping is the main reason the same map looks different in different
tools; compare raw maps, not pictures.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import MinidecnnError, ShapeError
from ._resize import resize_bilinear


def _maps(maps, where, ranks=(3, 4)) -> np.ndarray:
    m = np.asarray(maps)
    if isinstance(m, np.ndarray) and type(m) is not np.ndarray:
        m = m.view(np.ndarray)
    if m.ndim not in ranks or m.dtype.kind not in "fiu":
        raise ShapeError(
            f"{where}: expected numeric maps of rank {' or '.join(map(str, ranks))}, "
            f"received dtype {m.dtype}, shape {m.shape}. For one image of shape (H, W, C) "
            f"pass maps[None]."
        )
    return m


def channel_max_abs(maps) -> np.ndarray:
    """Simonyan et al.'s saliency picture: ``max_c |maps[..., c]|``.

    Parameters
    ----------
    maps : ndarray of shape (N, H, W, C) or (H, W, C)

    Returns
    -------
    ndarray of shape (N, H, W) or (H, W), non-negative

    Examples
    --------
    >>> channel_max_abs(np.array([[[1.0, -3.0, 2.0]]]))
    array([[3.]])
    """
    return np.abs(_maps(maps, "channel_max_abs")).max(axis=-1)


def abs_sum(maps) -> np.ndarray:
    """``sum_c |maps[..., c]|`` (PAIR saliency's grayscale reduction).

    Parameters
    ----------
    maps : ndarray of shape (N, H, W, C) or (H, W, C)

    Returns
    -------
    ndarray of shape (N, H, W) or (H, W)

    Examples
    --------
    >>> abs_sum(np.array([[[1.0, -3.0, 2.0]]]))
    array([[6.]])
    """
    return np.abs(_maps(maps, "abs_sum")).sum(axis=-1)


def _check_percentile(percentile, where):
    ok = isinstance(percentile, numbers.Real) and not isinstance(percentile, bool)
    if not ok or not 0 < percentile <= 100:
        raise MinidecnnError(
            f"{where}: invalid percentile. Expected a number in (0, 100], received "
            f"percentile={percentile!r}."
        )


def _per_image(s, fn):
    """Apply ``fn`` to each (H, W) map of an (N, H, W) stack."""
    return np.stack([fn(img) for img in s]) if len(s) else s.astype(np.float64)


def normalize_percentile(maps, percentile=99) -> np.ndarray:
    """PAIR's ``VisualizeImageGrayscale``: magnitude, clipped at a percentile, in [0, 1].

    Parameters
    ----------
    maps : ndarray of shape (N, H, W, C) or (N, H, W)
        ``(N, H, W, C)`` maps are reduced with ``sum_c |.|``; ``(N, H, W)`` maps are
        taken as ``|.|``.
    percentile : float, default 99

    Returns
    -------
    ndarray of shape (N, H, W), values in [0, 1]

    Notes
    -----
    Per image: ``s = sum_c |m|``, ``vmax = percentile(s, 99)`` (NumPy's linear
    interpolation), ``vmin = min(s)``, ``out = clip((s - vmin) / (vmax - vmin), 0, 1)``.
    One huge outlier therefore saturates only itself instead of turning the rest of
    the picture black. A constant map gives zeros.

    Examples
    --------
    >>> s = np.array([[[0.0, 1.0, 2.0, 100.0]]])
    >>> normalize_percentile(s, percentile=50).round(3)
    array([[[0.   , 0.667, 1.   , 1.   ]]])
    """
    where = "normalize_percentile"
    m = _maps(maps, where)
    _check_percentile(percentile, where)
    s = np.abs(m).sum(axis=-1) if m.ndim == 4 else np.abs(m)

    def one(img):
        vmax, vmin = np.percentile(img, percentile), img.min()
        if vmax <= vmin:
            return np.zeros(img.shape)
        return np.clip((img - vmin) / (vmax - vmin), 0.0, 1.0)

    return _per_image(s.astype(np.float64), one)


def normalize_diverging(maps, percentile=99) -> np.ndarray:
    """Signed maps in [-1, 1], zero kept at zero, clipped at a percentile of ``|.|``.

    Parameters
    ----------
    maps : ndarray of shape (N, H, W, C) or (N, H, W)
        ``(N, H, W, C)`` maps are summed over channels (signed).
    percentile : float, default 99

    Returns
    -------
    ndarray of shape (N, H, W), values in [-1, 1]

    Notes
    -----
    Per image: ``s = sum_c m``, ``span = percentile(|s|, 99)``,
    ``out = clip(s / span, -1, 1)``; show it with a diverging colour map and
    ``vmin=-1, vmax=1``. (PAIR's ``VisualizeImageDiverging`` returns
    ``(s + span) / (2 span)`` with the span taken from the signed percentile.)

    Examples
    --------
    >>> normalize_diverging(np.array([[[-2.0, 0.0, 1.0, 2.0, 8.0]]]), percentile=50)
    array([[[-1. ,  0. ,  0.5,  1. ,  1. ]]])
    """
    where = "normalize_diverging"
    m = _maps(maps, where)
    _check_percentile(percentile, where)
    s = (m.sum(axis=-1) if m.ndim == 4 else m).astype(np.float64)

    def one(img):
        span = np.percentile(np.abs(img), percentile)
        return np.zeros(img.shape) if span <= 0 else np.clip(img / span, -1.0, 1.0)

    return _per_image(s, one)


def normalize_minmax(maps) -> np.ndarray:
    """Per-image ``(m - min) / (max - min)``: a signed RGB map shown as a picture.

    The usual way to show Guided Backprop and DeconvNet reconstructions in colour.

    Parameters
    ----------
    maps : ndarray of shape (N, H, W, C) or (N, H, W)

    Returns
    -------
    ndarray of the same shape, values in [0, 1] (a constant map gives 0.5)

    Examples
    --------
    >>> normalize_minmax(np.array([[[-1.0, 0.0, 3.0]]]))
    array([[[0.  , 0.25, 1.  ]]])
    """
    m = _maps(maps, "normalize_minmax").astype(np.float64)
    lo = m.reshape(len(m), -1).min(axis=1).reshape(-1, *([1] * (m.ndim - 1)))
    hi = m.reshape(len(m), -1).max(axis=1).reshape(-1, *([1] * (m.ndim - 1)))
    span = hi - lo
    return np.where(span > 0, (m - lo) / np.where(span > 0, span, 1), 0.5)


def overlay(image, heat, alpha=0.5, cmap="jet", vmin=None, vmax=None) -> np.ndarray:
    """Blend a heat map over an image and return RGB values in [0, 1].

    Parameters
    ----------
    image : ndarray of shape (H, W, C) or (N, H, W, C), C in {1, 3}
        Values already in [0, 1] are used as they are; any other range (a
        preprocessed network input) is min-max scaled per image for display.
    heat : ndarray of shape (h, w) or (N, h, w)
        Resized bilinearly to (H, W) when its size differs (Grad-CAM's low-resolution map).
    alpha : float in [0, 1], default 0.5
        Weight of the colour-mapped heat map.
    cmap : str, default "jet"
        A matplotlib colour-map name.
    vmin, vmax : float, optional
        The heat values mapped to the ends of the colour map. By default per image:
        ``[0, max |heat|]`` for non-negative heat and ``[-max |heat|, max |heat|]``
        for signed heat (so 0 sits in the middle of a diverging colour map).

    Returns
    -------
    ndarray of shape (H, W, 3) or (N, H, W, 3), float64 in [0, 1]
    """
    import matplotlib

    where = "overlay"
    img = np.asarray(image, np.float64)
    h = np.asarray(heat, np.float64)
    single = img.ndim == 3
    if single:
        img, h = img[None], h[None] if h.ndim == 2 else h
    if img.ndim != 4 or img.shape[-1] not in (1, 3) or h.ndim != 3 or len(h) != len(img):
        raise ShapeError(
            f"{where}: expected an image (H, W, C) with C in (1, 3) and a heat map (H, W), "
            f"or batches (N, H, W, C) and (N, H, W), received image {np.shape(image)} and "
            f"heat {np.shape(heat)}."
        )
    if not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise MinidecnnError(f"{where}: invalid alpha. Expected 0 <= alpha <= 1, got {alpha!r}.")
    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError:
        raise MinidecnnError(
            f"{where}: unknown colour map {cmap!r}. Expected a matplotlib name such as "
            f"'jet', 'viridis', 'inferno' or 'bwr', received cmap={cmap!r}."
        ) from None
    if h.shape[1:] != img.shape[1:3]:
        h = resize_bilinear(h, img.shape[1], img.shape[2])
    if img.min() < 0 or img.max() > 1:
        lo = img.min(axis=(1, 2, 3), keepdims=True)
        hi = img.max(axis=(1, 2, 3), keepdims=True)
        img = (img - lo) / np.where(hi > lo, hi - lo, 1)
    rgb = np.repeat(img, 3, axis=3) if img.shape[-1] == 1 else img
    out = np.empty(rgb.shape)
    for n in range(len(h)):
        top = np.abs(h[n]).max() or 1.0
        lo = vmin if vmin is not None else (0.0 if h[n].min() >= 0 else -top)
        hi = vmax if vmax is not None else top
        t = np.clip((h[n] - lo) / ((hi - lo) or 1.0), 0, 1)
        out[n] = (1 - alpha) * rgb[n] + alpha * colormap(t)[..., :3]
    return out[0] if single else out
