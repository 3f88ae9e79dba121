"""Loss functions: each returns the mean loss over the batch *and* its gradient.

A loss here is a function ``loss(out, y) -> (value, dout)``: ``value`` is a Python
float, ``dout`` has the shape of ``out`` and is the signal a model's ``backward``
starts from. Returning both from one function keeps the derivative right next to
the computation it differentiates.

``softmax_cross_entropy`` takes **logits**: the softmax is fused into the loss,
which is both cheaper and numerically stable (the log of a probability that
underflowed to 0 would be ``-inf``). ``fit`` therefore applies it at
``model.logits``, skipping a final ``Softmax`` layer.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_finite
from ..errors import DTypeError, ShapeError


def log_softmax(z):
    """``log p = z - logsumexp(z)`` along the last axis, computed stably.

    Subtracting the row maximum ``m`` first leaves the result unchanged
    (``logsumexp(z) = m + log sum exp(z - m)``) and makes every exponent ``<= 0``,
    so nothing overflows.

    Parameters
    ----------
    z : ndarray of shape (N, K)

    Returns
    -------
    ndarray of shape (N, K)

    Examples
    --------
    >>> log_softmax(np.array([[1000.0, 1000.0]]))
    array([[-0.69314718, -0.69314718]])
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _class_targets(y, N, K, where):
    """Turn integer labels ``(N,)`` or label distributions ``(N, K)`` into ``(N, K)`` floats."""
    y = np.asarray(y)
    if y.dtype.kind in "iu":
        if y.shape != (N,):
            raise ShapeError(
                f"{where}: integer labels must have shape (N,). Expected ({N},), received "
                f"{y.shape}. For one-hot labels pass a float array of shape ({N}, {K})."
            )
        bad = (y < 0) | (y >= K)
        if bad.any():
            raise ShapeError(
                f"{where}: label out of range. Expected integers in [0, {K}) for {K} "
                f"classes, received {int(y[bad][0])} (at index {int(np.argmax(bad))})."
            )
        t = np.zeros((N, K))
        t[np.arange(N), y] = 1.0
        return t
    if y.dtype.kind != "f":
        raise DTypeError(
            f"{where}: labels have dtype {y.dtype}. Expected integer class labels of shape "
            f"(N,) or float one-hot rows of shape (N, K), received dtype {y.dtype}."
        )
    if y.shape != (N, K):
        raise ShapeError(
            f"{where}: one-hot labels must have the shape of the logits. Expected "
            f"({N}, {K}), received {y.shape}."
        )
    check_finite(y, where, "labels")
    return y


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of ``softmax(logits)`` against labels, and its gradient.

    Parameters
    ----------
    logits : ndarray of shape (N, K)
        Unnormalised class scores ``z`` (the input of a softmax).
    y : ndarray of shape (N,) with int dtype, or of shape (N, K) with float dtype
        Class indices in ``[0, K)``, or one-hot (or any label-distribution) rows.

    Returns
    -------
    loss : float
        ``L = -(1/N) sum_n sum_k y[n, k] log p[n, k]``.
    dlogits : ndarray of shape (N, K), dtype of ``logits``
        ``dL/dz = (p - y) / N``.

    Raises
    ------
    ShapeError, DTypeError, NotFiniteError
        Labels of the wrong shape, range or dtype; NaN/inf logits.

    Notes
    -----
    With ``p = softmax(z)`` and ``log p_k = z_k - logsumexp(z)``::

        L_n     = logsumexp(z_n) - sum_k y[n, k] z[n, k]      (rows of y sum to 1)
        dL_n/dz = p_n - y_n

    The softmax Jacobian ``p_c (delta_ck - p_k)`` and the ``-y/p`` of the logarithm
    cancel to this simple difference, which is why the two are fused.

    Examples
    --------
    Two classes with equal scores: the loss is ``log 2`` and the gradient pushes
    the true class up and the other one down:

    >>> loss, d = softmax_cross_entropy(np.zeros((1, 2)), np.array([0]))
    >>> round(loss, 6), d
    (0.693147, array([[-0.5,  0.5]]))
    """
    where = "softmax_cross_entropy"
    z = as_float_array(logits, where, "logits")
    if z.ndim != 2:
        raise ShapeError(
            f"{where}: logits must be a matrix. Expected shape (N, K), received {z.shape}. "
            f"Flatten the model output or add a Dense layer with one unit per class."
        )
    check_finite(z, where, "logits")
    N, K = z.shape
    t = _class_targets(y, N, K, where)
    log_p = log_softmax(z.astype(np.float64))
    loss = float(-(t * log_p).sum() / N)
    dlogits = (np.exp(log_p) - t) / N
    return loss, dlogits.astype(z.dtype, copy=False)


def mean_squared_error(out, y):
    """Mean of the squared differences over every element, and its gradient.

    Parameters
    ----------
    out : ndarray of shape (N, ...)
        Model outputs.
    y : ndarray of the same shape
        Targets.

    Returns
    -------
    loss : float
        ``L = (1/M) sum_i (out_i - y_i)^2`` with ``M = out.size``.
    dout : ndarray shaped like ``out``
        ``dL/dout = 2 (out - y) / M``.

    Examples
    --------
    >>> loss, d = mean_squared_error(np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]]))
    >>> loss, d
    (2.0, array([[0., 2.]]))
    """
    where = "mean_squared_error"
    out = as_float_array(out, where, "output")
    y = np.asarray(y)
    if y.dtype.kind in "iub":  # integer regression targets are fine here
        y = y.astype(out.dtype)
    y = as_float_array(y, where, "targets")
    if y.shape != out.shape:
        raise ShapeError(
            f"{where}: targets must have the shape of the outputs. Expected {out.shape}, "
            f"received {y.shape}."
        )
    check_finite(out, where, "output")
    check_finite(y, where, "targets")
    diff = out.astype(np.float64) - y
    loss = float((diff**2).mean())
    return loss, (2.0 * diff / diff.size).astype(out.dtype, copy=False)


#: names accepted by ``fit(loss=...)``
LOSSES = {
    "crossentropy": softmax_cross_entropy,
    "categorical_crossentropy": softmax_cross_entropy,
    "sparse_categorical_crossentropy": softmax_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
}


def get_loss(loss):
    """The loss function called ``loss`` (see ``LOSSES``), or ``loss`` itself if callable.

    A custom loss is a function ``(out, y) -> (value, dout)``.
    """
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]
    from ..errors import did_you_mean

    raise ValueError(
        f"fit: unknown loss {loss!r}.{did_you_mean(str(loss), LOSSES)} Expected one of "
        f"{sorted(LOSSES)} or a function (out, y) -> (loss, dout)."
    )
