"""Integrated Gradients (Sundararajan, Taly & Yan 2017).

The attribution of pixel ``i`` is the gradient integrated along the straight path
from a baseline ``x'`` to the image ``x``, times the distance travelled::

    IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x'))/dx_i da
            ~ (x_i - x'_i) / m * sum_{k=1..m} dF(x' + a_k (x - x'))/dx_i,   a_k = (k - 1/2) / m

(the midpoint rule). *Completeness*: ``sum_i IG_i = F(x) - F(x')`` as ``m`` grows;
the returned ``info["completeness"]`` reports how close the sum is, as the paper
advises checking (within about 5 %, more steps otherwise).
"""

from __future__ import annotations

import numpy as np

from ..errors import TargetError
from ._common import (
    auto_batch_size,
    check_batch_size,
    check_int,
    check_model_and_input,
    chunks,
    forward_and_reverse,
)
from .explanation import Explanation
from .recipes import make_info
from .targets import resolve_target


def check_baseline(baseline, x: np.ndarray, where: str) -> np.ndarray:
    """The baseline as an array broadcast to ``x.shape``."""
    try:
        b = np.asarray(baseline, dtype=x.dtype)
        b = np.broadcast_to(b, x.shape)
    except (ValueError, TypeError):
        shape = getattr(baseline, "shape", type(baseline).__name__)
        raise TargetError(
            f"{where}: the baseline does not fit the input. Expected a number or an array "
            f"broadcastable to {x.shape} (for example shape {x.shape[1:]}), received {shape}."
        ) from None
    if not np.isfinite(b).all():
        raise TargetError(
            f"{where}: the baseline contains NaN or infinite values. Expected finite numbers."
        )
    return b


def path_gradients(model, xs, bs, top, rows, steps, batch_size) -> np.ndarray:
    """``sum_k dF(b + a_k (x - b))/dx`` for each row of ``xs``, batched over path points.

    Parameters
    ----------
    xs, bs : ndarray of shape (M, H, W, C)
        Inputs and their baselines.
    rows : ndarray of int, shape (M,)
        The image (of the target) each input belongs to.
    steps : int
        ``m``, the number of midpoints.
    batch_size : int
        Inputs per forward pass.
    """
    alphas = (np.arange(steps, dtype=np.float64) + 0.5) / steps
    total = np.zeros(xs.shape, np.result_type(xs, model.dtype))
    n_rows = len(xs) * steps  # row r = (input r // steps, point r % steps)
    for part in chunks(n_rows, batch_size):
        r = np.arange(part.start, part.stop)
        owner, k = r // steps, r % steps
        a = alphas[k].astype(xs.dtype).reshape(-1, *([1] * (xs.ndim - 1)))
        xb = bs[owner] + a * (xs[owner] - bs[owner])
        g = forward_and_reverse(model, xb, top, rows[owner], "gradient")
        for i in np.unique(owner):
            total[i] += g[owner == i].sum(axis=0)
    return total


def integrated_gradients(
    model,
    x,
    target=None,
    layer=None,
    *,
    baseline=0.0,
    steps=50,
    batch_size=None,
    probability=False,
) -> Explanation:
    """Integrated Gradients from ``baseline`` to ``x`` (midpoint Riemann sum).

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, H, W, C)
    target, layer, probability
        As in :func:`~minidecnn.explain.gradient`; the class, channel position and
        value are chosen on ``x`` and kept along the path.
    baseline : float or ndarray, default 0.0
        ``x'``: a number, or an array broadcastable to ``x`` (``(C,)``, ``(H, W, C)``,
        ``(N, H, W, C)``). After mean subtraction a black image is *not* 0.
    steps : int, default 50
        ``m`` (Captum's default; the paper suggests 20 to 300).
    batch_size : int, optional
        Path points per forward pass; by default as many as fit in
        ``minidecnn.explain._common.ACTIVATION_BUDGET`` bytes of activations.

    Returns
    -------
    Explanation of shape (N, H, W, C)
        ``info["completeness"]`` holds ``sum(IG)``, ``F(x) - F(x')`` and their relative
        difference per image (absent for callable targets, which have no score).

    Notes
    -----
    ``IG = (x - x') * (1/m) sum_k dF(x' + a_k (x - x'))/dx`` with ``a_k = (k - 1/2)/m``.
    For a bias-free ReLU network and a zero baseline, every path point has the same
    gradient, so IG equals Gradient x Input exactly.

    References
    ----------
    M. Sundararajan, A. Taly, Q. Yan. Axiomatic Attribution for Deep Networks. ICML 2017.

    Examples
    --------
    The toy of the paper, ``F(t) = 1 - relu(1 - t)`` at ``t = 2``: the gradient is 0
    there, yet ``F(2) - F(0) = 1`` is attributed to ``t``:

    >>> import numpy as np, minidecnn as mdc
    >>> from minidecnn.layers import Dense, ReLU
    >>> d1, d2 = Dense(1, name="one_minus"), Dense(1, name="one_minus_again")
    >>> model = mdc.Sequential([mdc.Input((1,)), d1, ReLU(), d2]).astype(np.float64)
    >>> model.set_weights({"one_minus": {"W": [[-1.0]], "b": [1.0]},
    ...                    "one_minus_again": {"W": [[-1.0]], "b": [1.0]}})
    >>> x = np.array([[2.0]])
    >>> float(mdc.explain.gradient(model, x, target=0)[0, 0])
    0.0
    >>> float(integrated_gradients(model, x, target=0, steps=50)[0, 0])
    1.0
    """
    where = "explain.integrated_gradients"
    x = check_model_and_input(model, x, where)
    steps = check_int(steps, "steps", where)
    batch_size = check_batch_size(batch_size, where)
    b = check_baseline(baseline, x, where)
    model.forward(x)
    top = resolve_target(model, target, layer, probability, where)
    n = len(x)
    rows = np.arange(n)
    f_x = None if top.kind == "callable" else top.score(model.activations[top.node], rows)
    size = auto_batch_size(model, n * steps, batch_size)
    grads = path_gradients(model, x, b, top, rows, steps, size)
    maps = (x - b) * grads / steps

    params = {
        "baseline": _describe_baseline(baseline),
        "steps": steps,
        "rule": "midpoint",
        "batch_size": size,
    }
    info = make_info("integrated_gradients", model, top, params, "shaped like x")
    if f_x is not None:
        model.forward(b)
        f_b = top.score(model.activations[top.node], rows)
        total = maps.reshape(n, -1).sum(axis=1)
        delta = f_x - f_b
        rel = np.abs(total - delta) / np.maximum(np.abs(delta), 1e-12)
        info["completeness"] = {
            "sum_ig": total.tolist(),
            "f_x_minus_f_baseline": delta.tolist(),
            "relative_error": rel.tolist(),
        }
        if np.any(rel > 0.05):
            info["notes"].append(
                f"completeness: sum(IG) differs from F(x) - F(x') by up to "
                f"{100 * rel.max():.1f} % (more than the paper's 5 %); increase steps"
            )
    return Explanation(maps, info)


def _describe_baseline(baseline) -> str:
    arr = np.asarray(baseline)
    if arr.ndim == 0:
        return repr(float(arr))
    return f"array of shape {arr.shape}"
