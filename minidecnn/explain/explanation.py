"""``Explanation``: raw attribution maps that are a plain array for maths and can describe
themselves for people.

Every method of :mod:`minidecnn.explain` returns an :class:`Explanation`. It is an
``ndarray`` subclass: arithmetic, reductions and ``np.testing`` treat it exactly as the
array of numbers it holds (and ufuncs return plain arrays, so a derived array never
claims to be the method's output). What it adds is a record of how it was made:

``maps.info``
    a dict with the method, its formula, the ReLU rule, the target (logit or
    probability, layer, class/channel/unit/mask), every parameter (SmoothGrad's
    effective sigma included) and the equivalent calls in Captum and iNNvestigate;
``maps.describe()``
    the same facts as text, so a student can reproduce the map in another library;
``maps.aux``
    auxiliary arrays some methods keep (Grad-CAM's low-resolution map and channel
    weights, occlusion's score grid).

>>> import numpy as np
>>> e = Explanation(np.ones((1, 2, 2, 1)), {"method": "gradient", "title": "Gradient"})
>>> float((2 * e).sum()), type(2 * e).__name__
(8.0, 'ndarray')
>>> e.info["method"]
'gradient'
"""

from __future__ import annotations

import numpy as np


class Explanation(np.ndarray):
    """Attribution maps of shape ``(N, H, W, C)`` (``(N, H, W)`` for Grad-CAM) plus metadata.

    Parameters
    ----------
    maps : array_like
        The raw numbers.
    info : dict
        The facts :meth:`describe` prints (see :mod:`minidecnn.explain.recipes`).
    aux : dict of str to ndarray, optional
        Auxiliary arrays (for example ``"cam"``, ``"grid"``).

    Notes
    -----
    Slices and views keep ``info`` (``maps[0].describe()`` still names the method);
    the results of arithmetic and reductions are plain ``ndarray`` objects.
    """

    def __new__(cls, maps, info: dict, aux: dict | None = None):
        obj = np.asarray(maps).view(cls)
        obj.info = dict(info)
        obj.aux = dict(aux or {})
        return obj

    def __array_finalize__(self, obj):
        self.info = getattr(obj, "info", {})
        self.aux = getattr(obj, "aux", {})

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        # Compute on plain arrays: a derived array is numbers, not "the method's output".
        args = [a.view(np.ndarray) if isinstance(a, Explanation) else a for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(
                o.view(np.ndarray) if isinstance(o, Explanation) else o for o in out
            )
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result

    def __reduce__(self):  # keep info/aux through pickling (multiprocessing, np.save)
        array_state = super().__reduce__()
        return (*array_state[:2], (array_state[2], self.info, self.aux))

    def __setstate__(self, state):
        array_state, self.info, self.aux = state
        super().__setstate__(array_state)

    @property
    def raw(self) -> np.ndarray:
        """The numbers as a plain ``ndarray`` (a view, no copy)."""
        return self.view(np.ndarray)

    def describe(self) -> str:
        """A text card: method, formula, ReLU rule, target, parameters, equivalent calls."""
        from .recipes import render_card

        return render_card(self.info, self.shape, self.dtype)

    def _repr_pretty_(self, p, cycle):  # IPython: show the card above the numbers
        p.text(self.describe() + "\n" + np.array_repr(self.raw))
