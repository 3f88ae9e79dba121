"""Occlusion sensitivity (Zeiler & Fergus 2014, section 4.2).

Slide a square of a constant ``fill`` value over the image and record how much the
explained score drops::

    S(i, j) = F(x) - F(x with the window at (i, j) set to fill)

Zeiler & Fergus covered the image with a grey square (grey is the dataset mean, so
``fill = 0`` after mean subtraction) and watched the probability of the correct
class fall when the object was hidden. The map returned here gives each pixel the
mean of ``S`` over the windows that cover it (Captum's convention); the grid of ``S``
itself is kept in ``aux["grid"]``. Windows start at 0 and step by ``stride`` until the
image is covered; the last one in a direction may be cut off by the border.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import TargetError
from ._common import (
    auto_batch_size,
    check_batch_size,
    check_model_and_input,
    chunks,
    fresh_forward,
)
from .explanation import Explanation
from .recipes import make_info
from .targets import resolve_target


def _pair(value, name, where) -> tuple[int, int]:
    pair = value if isinstance(value, tuple | list) else (value, value)
    ok = len(pair) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in pair
    )
    if not ok:
        raise TargetError(
            f"{where}: invalid {name}. Expected a positive int or a pair of them, received "
            f"{name}={value!r}."
        )
    return int(pair[0]), int(pair[1])


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Start indices along one axis: 0, stride, 2 stride, ... until ``size`` is covered.

    >>> window_starts(10, 4, 4)   # the last window [8, 12) is cut to [8, 10)
    [0, 4, 8]
    >>> window_starts(32, 8, 4)
    [0, 4, 8, 12, 16, 20, 24]
    """
    n = -(-(size - patch) // stride) + 1 if size > patch else 1
    return [k * stride for k in range(n)]


def occlusion(
    model,
    x,
    target=None,
    *,
    patch=8,
    stride=4,
    fill=0.0,
    probability=False,
    batch_size=None,
) -> Explanation:
    """Occlusion sensitivity map: the score drop when a window of the image is covered.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, H, W, C)
    target : None, int, list of int or float array
        A class target at the logits (see :mod:`minidecnn.explain.targets`).
    patch : int or (int, int), default 8
        Window size ``(ph, pw)``.
    stride : int or (int, int), default 4
    fill : float or ndarray, default 0.0
        The value put in the window: a number, a ``(C,)`` colour or an ``(H, W, C)``
        image (for example a blurred copy). 0 is the mean (grey) after mean subtraction.
    probability : bool, default False
        Score the softmax probability (as Zeiler & Fergus did) instead of the logit.
    batch_size : int, optional
        Occluded copies per forward pass; by default as many as fit in
        ``ACTIVATION_BUDGET`` bytes of activations.

    Returns
    -------
    Explanation of shape (N, H, W, C)
        The per-pixel mean of ``S`` over the windows covering it, repeated over the
        channels (the window covers all of them). ``aux["grid"]`` is the ``(N, n_i,
        n_j)`` grid of ``S`` per window position; ``aux["starts"]`` the window starts.

    Notes
    -----
    ``S(i, j) = F(x) - F(x_occ(i, j))``. For a linear score ``F = sum w * x`` and
    ``fill = 0``, ``S`` is exactly the sum of ``w * x`` over the window.

    References
    ----------
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014, section 4.2 and Fig. 7.
    """
    where = "explain.occlusion"
    x = check_model_and_input(model, x, where)
    if x.ndim != 4:
        raise TargetError(
            f"{where}: occlusion slides a window over images. Expected x of shape "
            f"(N, H, W, C), received {x.shape}."
        )
    N, H, W, C = x.shape
    ph, pw = _pair(patch, "patch", where)
    sh, sw = _pair(stride, "stride", where)
    if ph > H or pw > W:
        raise TargetError(
            f"{where}: the patch is larger than the image. Expected patch <= ({H}, {W}), "
            f"received patch={patch!r}."
        )
    try:
        fill_img = np.broadcast_to(np.asarray(fill, dtype=x.dtype), x.shape[1:])
    except (ValueError, TypeError):
        raise TargetError(
            f"{where}: invalid fill. Expected a number, a ({C},) colour or an {x.shape[1:]} "
            f"image, received {getattr(fill, 'shape', fill)!r}."
        ) from None
    if not np.isfinite(fill_img).all():
        raise TargetError(f"{where}: the fill contains NaN or infinite values.")
    batch_size = check_batch_size(batch_size, where)

    model.forward(x)
    top = resolve_target(model, target, None, probability, where)
    f_x = top.score(model.activations[top.node], np.arange(N))
    starts_i, starts_j = window_starts(H, ph, sh), window_starts(W, pw, sw)
    windows = [(i, j) for i in starts_i for j in starts_j]
    n_win = len(windows)
    size = auto_batch_size(model, N * n_win, batch_size)

    grid = np.empty((N, n_win), np.result_type(f_x, np.float64))
    for part in chunks(N * n_win, size):
        r = np.arange(part.start, part.stop)
        owner, k = r // n_win, r % n_win  # row r = (image owner, window k)
        xb = x[owner]  # a copy (fancy indexing)
        for b, kk in enumerate(k):
            i, j = windows[kk]
            xb[b, i : i + ph, j : j + pw] = fill_img[i : i + ph, j : j + pw]
        fresh_forward(model, xb)
        grid[owner, k] = f_x[owner] - top.score(model.activations[top.node], owner)

    total = np.zeros((N, H, W))
    count = np.zeros((H, W))
    for kk, (i, j) in enumerate(windows):
        total[:, i : i + ph, j : j + pw] += grid[:, kk, None, None]
        count[i : i + ph, j : j + pw] += 1
    per_pixel = (total / count).astype(np.result_type(x, model.dtype))
    maps = np.repeat(per_pixel[..., None], C, axis=3)

    fill_text = repr(float(fill)) if np.ndim(fill) == 0 else f"array of shape {np.shape(fill)}"
    params = {
        "patch": (ph, pw),
        "stride": (sh, sw),
        "fill": fill_text,
        "windows": f"{len(starts_i)} x {len(starts_j)}",
        "batch_size": size,
    }
    recipe = {**params, "channels": C}
    info = make_info("occlusion", model, top, params, "shaped like x", recipe=recipe)
    aux = {"grid": grid.reshape(N, len(starts_i), len(starts_j)), "starts": (starts_i, starts_j)}
    return Explanation(maps, info, aux=aux)
