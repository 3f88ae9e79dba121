"""A procedurally generated, labelled image set of shapes and textures.

Ten classes, chosen so that a small CNN must learn the three things Zeiler &
Fergus show in their projections: **edges** (stripes at three orientations),
**corners** (squares, triangles, crosses, frames against circles) and
**textures** (checkerboards and dots against solid shapes)::

    0 square        filled, slightly rotated
    1 circle        filled disc
    2 triangle      filled, pointing up
    3 cross         a plus sign
    4 frame         the outline of a square
    5 hstripes      horizontal stripes in a rectangular patch
    6 vstripes      vertical stripes in a patch
    7 dstripes      diagonal stripes (either diagonal) in a patch
    8 checkerboard  a checkerboard patch
    9 dots          a patch of dots on a grid

Every image gets its own random position, size, rotation jitter, period/phase
(textures), foreground and background colours (with a minimum difference in
luminance, so the class stays visible in grey) and Gaussian pixel noise.
Edges are anti-aliased by supersampling: each pixel is the mean of ``3 x 3``
sub-pixel samples of the shape's indicator function.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: class names, in label order
SHAPES_CLASSES = (
    "square",
    "circle",
    "triangle",
    "cross",
    "frame",
    "hstripes",
    "vstripes",
    "dstripes",
    "checkerboard",
    "dots",
)

_SUPERSAMPLE = 3  # sub-pixel samples per pixel and axis (anti-aliasing)
_MIN_CONTRAST = 0.25  # minimum |luminance(fg) - luminance(bg)|
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luminance weights


class ShapesData(NamedTuple):
    """What :func:`shapes` returns; unpacks as ``x, y, class_names``."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple


# ----------------------------------------------------------------------------- masks
# Each function takes rotated coordinates (u, v) relative to the shape's centre, in
# pixels (v grows downwards, as image rows do), a size r and the generator, and
# returns the boolean indicator of the shape on the sub-pixel grid.


def _square(u, v, r, rng):
    a = 0.8 * r  # half side
    return np.maximum(np.abs(u), np.abs(v)) <= a


def _circle(u, v, r, rng):
    return u**2 + v**2 <= r**2


def _triangle(u, v, r, rng):
    # Equilateral triangle with circumradius r pointing up: inside all three edges,
    # whose outward normals point down (90 deg) and up-left/up-right (210/330 deg)
    # and lie at the inradius r/2 from the centre.
    inside = np.ones(u.shape, bool)
    for phi in np.deg2rad([90.0, 210.0, 330.0]):
        inside &= u * np.cos(phi) + v * np.sin(phi) <= r / 2
    return inside


def _cross(u, v, r, rng):
    w = r * rng.uniform(0.22, 0.34)  # half width of each bar
    return ((np.abs(u) <= w) & (np.abs(v) <= r)) | ((np.abs(v) <= w) & (np.abs(u) <= r))


def _frame(u, v, r, rng):
    a = 0.85 * r
    t = max(1.5, a * rng.uniform(0.22, 0.32))  # line thickness in pixels
    m = np.maximum(np.abs(u), np.abs(v))
    return (m <= a) & (m >= a - t)


def _stripes(coord, rng):
    period = rng.uniform(4.0, 8.0)
    phase = rng.uniform(0, 2 * np.pi)
    return np.sin(2 * np.pi * coord / period + phase) > 0


def _hstripes(u, v, r, rng):
    return _stripes(v, rng)


def _vstripes(u, v, r, rng):
    return _stripes(u, rng)


def _dstripes(u, v, r, rng):
    sign = rng.choice([-1.0, 1.0])  # "\" or "/"
    return _stripes((u + sign * v) / np.sqrt(2), rng)


def _checkerboard(u, v, r, rng):
    p = rng.uniform(3.0, 6.0)
    ou, ov = rng.uniform(0, 2 * p, size=2)
    return (np.floor((u + ou) / p) + np.floor((v + ov) / p)) % 2 == 0


def _dots(u, v, r, rng):
    p = rng.uniform(5.0, 8.0)
    rho = p * rng.uniform(0.22, 0.32)
    ou, ov = rng.uniform(0, p, size=2)
    du = np.mod(u + ou, p) - p / 2
    dv = np.mod(v + ov, p) - p / 2
    return du**2 + dv**2 <= rho**2


_SHAPES = (_square, _circle, _triangle, _cross, _frame)
_TEXTURES = (_hstripes, _vstripes, _dstripes, _checkerboard, _dots)
_MAKERS = _SHAPES + _TEXTURES


# ----------------------------------------------------------------------------- rendering


def _colours(rng):
    """Foreground and background RGB colours whose luminances differ enough."""
    while True:
        fg, bg = rng.uniform(0, 1, size=(2, 3))
        if abs((fg - bg) @ _LUMA) >= _MIN_CONTRAST:
            return fg, bg


def _coverage(label, size, rng):
    """Fraction of each pixel covered by the class's shape, shape (size, size)."""
    ss = _SUPERSAMPLE
    t = (np.arange(size * ss) + 0.5) / ss  # sub-pixel centres, in pixel units
    X, Y = np.meshgrid(t, t)  # X: column (x to the right), Y: row (y downwards)
    maker = _MAKERS[label]
    if maker in _SHAPES:
        r = size * rng.uniform(0.22, 0.4)
        cx, cy = rng.uniform(r, size - r, size=2)
        theta = np.deg2rad(rng.uniform(-15, 15))
        inside_box = True
    else:
        # a rectangular patch covering 55-100 % of each side, texture anchored at its centre
        w, h = size * rng.uniform(0.55, 1.0, size=2)
        x0, y0 = rng.uniform(0, size - w), rng.uniform(0, size - h)
        cx, cy, r = x0 + w / 2, y0 + h / 2, max(w, h) / 2
        theta = np.deg2rad(rng.uniform(-8, 8))
        inside_box = (X >= x0) & (X <= x0 + w) & (Y >= y0) & (Y <= y0 + h)
    c, s = np.cos(theta), np.sin(theta)
    u = c * (X - cx) + s * (Y - cy)
    v = -s * (X - cx) + c * (Y - cy)
    mask = maker(u, v, r, rng) & inside_box
    return mask.reshape(size, ss, size, ss).mean(axis=(1, 3))


def shapes(n: int, size: int = 32, seed=0) -> ShapesData:
    """Generate ``n`` labelled RGB images of shapes and textures.

    Parameters
    ----------
    n : int
        Number of images (``n >= 1``). Classes are balanced: each of the ten appears
        ``n // 10`` or ``n // 10 + 1`` times, in random order.
    size : int, default 32
        Height and width ``H = W`` in pixels (``size >= 16``).
    seed : int or numpy.random.Generator, default 0
        The same seed gives the same images; use different seeds for training and
        test splits.

    Returns
    -------
    x : ndarray of shape (n, size, size, 3), float32
        Pixel values in ``[0, 1]`` (NHWC, RGB).
    y : ndarray of shape (n,), int64
        Labels in ``[0, 10)``.
    class_names : tuple of str
        ``class_names[y[i]]`` names image ``i`` (see :data:`SHAPES_CLASSES`).

    Raises
    ------
    ValueError
        For a non-positive ``n`` or a ``size`` below 16.

    Notes
    -----
    Each image is ``x = clip(bg + alpha * (fg - bg) + noise, 0, 1)``, where
    ``alpha`` in ``[0, 1]`` is the anti-aliased coverage of the shape, ``fg`` and
    ``bg`` are random colours with a luminance difference of at least 0.25, and
    ``noise ~ N(0, sigma^2)`` with ``sigma ~ U(0, 0.08)`` per image.

    Examples
    --------
    >>> x, y, names = shapes(20, seed=1)
    >>> x.shape, x.dtype, y[:4], names[y[0]]
    ((20, 32, 32, 3), dtype('float32'), array([1, 0, 8, 6]), 'circle')
    >>> bool(x.min() >= 0 and x.max() <= 1)
    True
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(
            f"shapes: invalid value for argument `n`. Expected a positive int, received n={n!r}."
        )
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 16:
        raise ValueError(
            f"shapes: invalid value for argument `size`. Expected an int >= 16 (smaller "
            f"images cannot show the textures), received size={size!r}."
        )
    rng = np.random.default_rng(seed)
    K = len(SHAPES_CLASSES)
    y = rng.permutation(np.arange(n) % K).astype(np.int64)
    x = np.empty((n, size, size, 3), np.float32)
    for i, label in enumerate(y):
        fg, bg = _colours(rng)
        alpha = _coverage(int(label), int(size), rng)[:, :, None]
        sigma = rng.uniform(0, 0.08)
        img = bg + alpha * (fg - bg) + rng.normal(0, sigma, size=(size, size, 3))
        x[i] = np.clip(img, 0, 1)
    return ShapesData(x, y, SHAPES_CLASSES)
