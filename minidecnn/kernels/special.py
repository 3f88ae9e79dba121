"""Special functions element by element: the complementary error function.

``erfc(t) = 1 - erf(t) = (2 / sqrt(pi)) * integral from t to infinity of exp(-s**2) ds``

GELU's exact form needs the standard normal CDF ``Phi(z) = erfc(-z / sqrt 2) / 2``.
NumPy has no ``erf``; the C library's (``math.erfc``) is exact to float64, and
Numba compiles it, so the fast twin is the same function in a compiled loop.
Both take and return float64 arrays of any shape.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


def erfc_naive(t: np.ndarray) -> np.ndarray:
    """``math.erfc`` of every element, in a Python loop (the specification).

    Parameters
    ----------
    t : ndarray of float64, any shape

    Returns
    -------
    ndarray of float64, shaped like ``t``
    """
    out = np.empty(t.shape, dtype=np.float64)
    for index in np.ndindex(t.shape):
        out[index] = math.erfc(t[index])
    return out


def erfc(t: np.ndarray) -> np.ndarray:
    """The fast twin of :func:`erfc_naive` (the same ``erfc``, compiled by Numba).

    Examples
    --------
    >>> erfc(np.array([0.0, 1.0]))
    array([1.        , 0.15729921])
    """
    t = np.ascontiguousarray(t, dtype=np.float64)
    return _erfc_flat(t.reshape(-1)).reshape(t.shape)


@njit(cache=True)
def _erfc_flat(t):
    out = np.empty_like(t)
    for k in range(t.size):
        out[k] = math.erfc(t[k])
    return out
