"""Grading of the ``maxpool`` exercise: forward with switches, backward (unpooling).

References: :func:`~minidecnn.kernels.maxpool_forward_naive` (first maximum in
row-major order wins; padded cells never win) and
:func:`~minidecnn.kernels.route_switches_naive`; centred differences from
:mod:`minidecnn.gradcheck` on inputs without ties.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import gradient_error, numerical_gradient
from ..kernels import maxpool_forward_naive, route_switches_naive
from ..kernels.geometry import window_geometry
from .grading import Grader, as_array, only_where

IMAGE_AXES = ("n", "h", "w", "c")
OUT_AXES = ("n", "i", "j", "c")


def _distinct(shape, seed):
    """Values without ties: a shuffled range, scaled (the hand-checkable case)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64)


def _ties(shape, seed):
    """Small integers: most windows hold ties."""
    return np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)


def _negative(shape, seed):
    """All values below zero: a zero from the padding would win every border window."""
    return -1.0 - np.random.default_rng(seed).random(shape)


#: (label, x, pool, stride, padding)
CASES = [
    ("4x4 image, 2x2 pool, stride 2, distinct values", _distinct((1, 4, 4, 1), 1), 2, 2, "valid"),
    ("ties: two 6x6 images of 0/1/2 values, 2x2 pool, stride 2", _ties((2, 6, 6, 2), 2), 2, 2,
     "valid"),
    ("overlapping 3x3 pool, stride 2, with ties (Zeiler & Fergus's pooling)",
     _ties((1, 7, 7, 2), 3), 3, 2, "valid"),
    ("'same' padding on an all-negative 5x5 image, 2x2 pool, stride 2 (padded cells never win)",
     _negative((2, 5, 5, 2), 4), 2, 2, "same"),
    ("'same' padding, overlapping 3x3 pool, stride 1, non-square 5x4 image, negative values",
     _negative((1, 5, 4, 3), 5), 3, 1, "same"),
]  # fmt: skip


def geometry(x, pool, stride, padding):
    _, H, W, _ = x.shape
    rows = window_geometry(H, pool, stride, padding)
    cols = window_geometry(W, pool, stride, padding)
    return pool, pool, stride, stride, rows[1], cols[1], rows[0], cols[0]


def _pool_variant(x, geom, tie="first", pad_wins=False, padded_coords=False):
    """Max-pooling with a known mistake, to recognise it in a wrong answer."""
    KH, KW, sh, sw, pt, pl, H_out, W_out = geom
    N, H, W, C = x.shape
    Wp = W + 2 * pl + 2  # generous padded width, only used for the padded-coordinates mistake
    y = np.empty((N, H_out, W_out, C))
    s = np.empty((N, H_out, W_out, C), np.int64)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    best, where = -np.inf, -1
                    for u in range(KH):
                        for v in range(KW):
                            h, w = i * sh - pt + u, j * sw - pl + v
                            inside = 0 <= h < H and 0 <= w < W
                            if not inside and not pad_wins:
                                continue
                            value = x[n, h, w, c] if inside else 0.0
                            better = value >= best if tie == "last" else value > best
                            if better:
                                best = value
                                where = (h + pt) * Wp + (w + pl) if padded_coords else h * W + w
                    y[n, i, j, c], s[n, i, j, c] = best, where
    return y, s


def _unpack_two(g, case, got):
    if not isinstance(got, tuple | list) or len(got) != 2:
        g.fail(
            "maxpool_forward",
            case,
            f"maxpool_forward returned a {type(got).__name__}. Expected a tuple (y, switches).",
        )
        return None
    return got


TIE_HINT = (
    "Ties: the FIRST maximum in row-major window order wins (scan u, then v, and replace only "
    "on a strictly larger value, as np.argmax does). Yours takes the last one."
)
PAD_HINT = (
    "A padded cell won a window. Padded cells must never win: with all-negative inputs a zero "
    "from the padding would. Skip positions outside the image (or pad with -inf)."
)


def grade_maxpool_forward(g: Grader) -> None:
    for label, x, pool, stride, padding in CASES:
        ok, got = g.call("maxpool_forward", label, x, pool, stride, padding)
        if not ok or (got := _unpack_two(g, label, got)) is None:
            continue
        geom = geometry(x, pool, stride, padding)
        y_ref, s_ref = maxpool_forward_naive(x, *geom)
        _, s_last = _pool_variant(x, geom, tie="last")
        y_pad, s_pad = _pool_variant(x, geom, pad_wins=True)
        g.compare(
            "maxpool_forward",
            f"{label}: y",
            y_ref,
            got[0],
            "y",
            mistakes=[(y_pad, PAD_HINT)],
            index_names=OUT_AXES,
        )
        _, s_coords = _pool_variant(x, geom, padded_coords=True)
        coords_hint = (
            "The switches must be flat indices h*W + w in the UNPADDED image (the coordinates "
            "of x itself), so that unpooling can write into an array shaped like x."
        )
        s_got = as_array(got[1])
        if s_got is not None and s_got.dtype.kind == "f" and np.array_equal(s_got, s_ref):
            s_got = s_got.astype(np.int64)  # right values, float dtype: accept
        g.compare(
            "maxpool_forward",
            f"{label}: switches",
            s_ref,
            s_got if s_got is not None else got[1],
            "switches",
            exact=True,
            mistakes=[(s_last, TIE_HINT), (s_pad, PAD_HINT), (s_coords, coords_hint)],
            index_names=OUT_AXES,
        )


def _shared_winners(switches, H, W):
    """Cells that won more than one window."""
    return route_switches_naive(np.ones(switches.shape), switches, H, W) > 1


def grade_maxpool_backward(g: Grader) -> None:
    for k, (label, x, pool, stride, padding) in enumerate(CASES):
        geom = geometry(x, pool, stride, padding)
        _, switches = maxpool_forward_naive(x, *geom)
        dout = np.random.default_rng(40 + k).standard_normal(switches.shape)
        ok, got = g.call("maxpool_backward", label, dout, switches, x.shape)
        if not ok:
            continue
        expected = route_switches_naive(dout, switches, x.shape[1], x.shape[2])
        g.compare(
            "maxpool_backward",
            label,
            expected,
            got,
            "dx",
            mistakes=[
                (
                    only_where(_shared_winners(switches, x.shape[1], x.shape[2]), expected),
                    "Where overlapping windows share a winner, their signals must ADD "
                    "(dx[...] += dout[...]): the signal is conserved, sum(dx) == sum(dout).",
                )
            ],
            index_names=IMAGE_AXES,
        )
    _gradient_check(g)


def _gradient_check(g: Grader) -> None:
    """Backward through the switches is the gradient: compare with centred differences."""
    label = "centred differences of <maxpool(x), dout> (distinct values, 3x3 pool, stride 2)"
    x = _distinct((1, 7, 7, 2), 9) / 10.0
    geom = geometry(x, 3, 2, "valid")
    _, switches = maxpool_forward_naive(x, *geom)
    dout = np.random.default_rng(90).standard_normal(switches.shape)

    def objective(v):
        return float(np.vdot(maxpool_forward_naive(v, *geom)[0], dout))

    num = numerical_gradient(objective, x.copy())
    ok, got = g.call("maxpool_backward", label, dout, switches, x.shape)
    if not ok:
        return
    arr = as_array(got)
    if arr is None or arr.shape != x.shape:
        g.fail(
            "maxpool_backward",
            label,
            f"dx has shape {getattr(arr, 'shape', None)}, not {x.shape}.",
        )
        return
    err = gradient_error(arr, num)
    if err < 1e-6:
        g.ok("maxpool_backward", label)
    else:
        g.fail(
            "maxpool_backward",
            label,
            f"dx disagrees with the numerical gradient: relative error {err:.2e} "
            f"(tolerance 1e-6).",
        )


def grade(g: Grader) -> None:
    grade_maxpool_forward(g)
    grade_maxpool_backward(g)
