"""Gradient checking for students: numerical gradients, relative error, a layer's contract.

The centred difference ``f'(x) ~ (f(x + h) - f(x - h)) / (2h)`` has truncation
error ``O(h^2)`` and round-off error ``~ eps * |f| / h``; in float64 with ``h = 1e-5``
both are around 1e-10 for values of order 1, which is why checks run in float64
(in float32 the best one can hope for is about 1e-3).

>>> import numpy as np
>>> from minidecnn.layers import Dense
>>> report = check_layer(Dense(3, seed=0), np.random.default_rng(0).standard_normal((2, 4)),
...                      verbose=False)
>>> report.passed
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray
        Float64 is strongly advised.
    h : float, default 1e-5

    Returns
    -------
    ndarray shaped like ``x``.

    Examples
    --------
    >>> g = numerical_gradient(lambda v: float((v**2).sum()), np.array([1.0, -2.0]))
    >>> np.round(g, 6)
    array([ 2., -4.])
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b, floor: float = 1e-8) -> float:
    """Largest element-wise relative error ``|a - b| / max(floor, |a| + |b|)`` (CS231n).

    Both-zero entries count as 0. Rules of thumb in float64: < 1e-7 good; 1e-4 to
    1e-2 suspicious for a smooth function; > 1e-2 probably a bug.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, received {a.shape} and {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))


@dataclass
class Check:
    """One line of a :class:`GradCheckReport`."""

    name: str
    error: float
    tol: float
    passed: bool
    detail: str = ""


@dataclass
class GradCheckReport:
    """Result of :func:`check_layer`: one :class:`Check` per part of the contract."""

    layer: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __str__(self):
        lines = [f"check_layer({self.layer}): {'PASSED' if self.passed else 'FAILED'}"]
        for c in self.checks:
            mark = "ok  " if c.passed else "FAIL"
            lines.append(f"  [{mark}] {c.name:<34} error {c.error:.2e}  (tolerance {c.tol:.0e})")
            if c.detail and not c.passed:
                lines += ["         " + d for d in c.detail.splitlines()]
        return "\n".join(lines)


def gradient_error(analytic, numeric, scale: float | None = None) -> float:
    """The error :func:`check_layer` judges: :func:`rel_error` with a floor at 1e-4 of the scale.

    Entries far smaller than the largest gradients are compared against
    ``1e-4 * scale`` instead of their own size: there the centred difference's
    round-off (about ``eps * |f| / h``) is as large as the entry itself, so a pure
    element-wise ratio would fail correct code. ``scale`` defaults to
    ``max|a| + max|b|`` of this array; :func:`check_layer` passes the largest such
    value over all the gradients it checks, so that a parameter whose true gradient
    is exactly zero (the bias of a convolution followed by batch normalisation in
    training mode) is judged against the size of the others.

    Examples
    --------
    The second entry is round-off: :func:`rel_error` (floor 1e-8) makes it the
    worst entry at 2e-4; against the scale it is 5e-9, like the first:

    >>> a, n = np.array([2.0, 1e-12]), np.array([2.0 + 2e-9, 3e-12])
    >>> float(f"{gradient_error(a, n):.1e}"), float(f"{rel_error(a, n):.1e}")
    (5e-09, 0.0002)
    """
    a, b = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.size == 0:
        return 0.0
    if scale is None:
        scale = np.abs(a).max() + np.abs(b).max()
    return rel_error(a, b, floor=max(1e-8, 1e-4 * scale))


def _both_sides(analytic, numeric, n=5) -> str:
    """The worst entries side by side, so a student sees where the two disagree."""
    a, b = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    err = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    worst = np.argsort(err, axis=None)[::-1][:n]
    rows = ["index              analytic         numerical"]
    for flat in worst:
        idx = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        rows.append(f"{idx!s:<18} {a[idx]: .8e} {b[idx]: .8e}")
    return "\n".join(rows)


def _named_params(layer) -> list[tuple[str, np.ndarray, callable]]:
    """``(name, live parameter array, gradient getter)`` for a layer or a whole model."""
    if all(isinstance(v, np.ndarray) for v in layer.params.values()):
        return [(k, p, lambda k=k: layer.grads[k]) for k, p in layer.params.items()]
    return [  # a model: {layer name: {key: array}}
        (f"{lname}.{k}", p, lambda lname=lname, k=k: layer.grads[lname][k])
        for lname, group in layer.params.items()
        for k, p in group.items()
    ]


def _as_list(y):
    return list(y) if isinstance(y, list | tuple) else [y]


def _inner(ys, ds) -> float:
    """``sum_k <ys[k], ds[k]>`` for lists of arrays."""
    return sum(float(np.vdot(a, b)) for a, b in zip(_as_list(ys), _as_list(ds)))


def check_layer(
    layer,
    x,
    training: bool = False,
    h: float = 1e-5,
    tol: float = 1e-6,
    seed: int = 12345,
    verbose: bool = True,
) -> GradCheckReport:
    """Check a layer's (or a whole model's) contract in float64; print both sides of any failure.

    1. ``forward`` returns ``(N, *layer.output_shape)``;
    2. ``backward`` matches centred differences of ``<forward(x), dout>`` for the
       input and for every parameter (``tol``, see :func:`gradient_error`); for a
       model, every parameter of every layer (a shared layer's gradient is the sum
       over its calls);
    3. for linear, affine and piecewise-linear layers, ``backward`` is the adjoint of
       the linear part: ``<f(x) - f(0), y> = <x, f^T(y)>`` (to 1e-10; without the
       ``f(0)`` term for linear and piecewise-linear layers, by Euler's theorem);
    4. ``deconv`` and ``guided`` return arrays shaped like the input.

    The layer is converted to float64 for the check and back to its dtype after;
    its buffers (BatchNormalization's moving statistics, which a training-mode
    forward updates) are restored. Draw ``x`` away from kinks (ReLU at 0, max-pool
    ties): there the numerical derivative is meaningless. Dropout in training mode
    draws a new mask at every forward, so check it at inference.

    Parameters
    ----------
    layer : Layer or Model
    x : ndarray, or list of ndarray for merge layers and multi-input models
    training : bool, default False
        Mode of ``forward`` (BatchNormalization's batch statistics).
    h, tol : float
        Step of the centred difference and the pass threshold.
    seed : int
        Seeds the random ``dout`` (pick one different from the seed of ``x``: with
        ``dout == x`` some layers have a nearly zero gradient, which checks little).
    verbose : bool, default True
        Print the report.

    Returns
    -------
    GradCheckReport
        ``report.passed`` and one line per check.
    """
    rng = np.random.default_rng(seed)
    multi = isinstance(x, list | tuple)
    xs = [np.array(a, dtype=np.float64) for a in (x if multi else [x])]
    dtype = layer.dtype
    if not layer.built:
        layer.build([a.shape[1:] for a in xs] if multi else xs[0].shape[1:])
    leaves = layer.leaf_layers()
    saved_buffers = [{k: v.copy() for k, v in leaf.buffers.items()} for leaf in leaves]
    layer.astype(np.float64)
    report = GradCheckReport(repr(layer))

    def run(inputs):
        return layer.forward(list(inputs) if multi else inputs[0], training=training)

    try:
        y = run(xs)
        ys = _as_list(y)
        shapes = _as_list(layer.output_shape) if isinstance(y, list) else [layer.output_shape]
        expected = [(len(xs[0]), *s) for s in shapes]
        got = [a.shape for a in ys]
        report.checks.append(
            Check(
                "output shape",
                0.0 if got == expected else 1.0,
                0.5,
                got == expected,
                f"expected {expected}, received {got}",
            )
        )
        dout = [rng.standard_normal(a.shape) for a in ys]
        dout = dout if isinstance(y, list) else dout[0]
        dxs = _as_list(layer.backward(dout))
        params = _named_params(layer)
        param_grads = {name: np.array(grad()) for name, _, grad in params}

        def objective(_):
            return _inner(run(xs), dout)

        pairs = []  # (name, analytic, numerical) for the input(s) and every parameter
        for i, (a, dx) in enumerate(zip(xs, dxs)):
            name = "dx" if not multi else f"dx[{i}]"
            pairs.append((name, dx, numerical_gradient(objective, a, h)))
        for name, p, _ in params:
            pairs.append((f"d{name}", param_grads[name], numerical_gradient(objective, p, h)))
        scale = max((np.abs(a).max() + np.abs(n).max() for _, a, n in pairs if a.size), default=0)
        for name, analytic, num in pairs:
            err = gradient_error(analytic, num, scale)
            report.checks.append(
                Check(
                    f"{name} vs centred differences",
                    err,
                    tol,
                    err < tol,
                    _both_sides(analytic, num),
                )
            )

        y = run(xs)  # restore the cache of the point x itself
        if layer.linearity in ("linear", "affine", "piecewise_linear"):
            probe = [rng.standard_normal(a.shape) for a in _as_list(y)]
            probe = probe if isinstance(y, list) else probe[0]
            back = _as_list(layer.backward(probe, param_grads=False))
            rhs = _inner(xs, back)
            lhs_y = _as_list(y)
            if layer.linearity == "affine":
                at_zero = _as_list(run([np.zeros_like(a) for a in xs]))
                lhs_y = [a - b for a, b in zip(lhs_y, at_zero)]
                run(xs)
            lhs = _inner(lhs_y, probe)
            err = abs(lhs - rhs) / max(abs(lhs) + abs(rhs), 1e-300)
            report.checks.append(
                Check(
                    "adjoint <f(x), y> = <x, f^T(y)>",
                    err,
                    1e-10,
                    err < 1e-10,
                    f"<f(x), y> = {lhs!r}\n<x, f^T y> = {rhs!r}",
                )
            )
        for rule in ("deconv", "guided"):
            probe = [rng.standard_normal(a.shape) for a in _as_list(y)]
            out = _as_list(getattr(layer, rule)(probe if isinstance(y, list) else probe[0]))
            ok = [o.shape for o in out] == [a.shape for a in xs]
            report.checks.append(
                Check(
                    f"{rule} shape",
                    0.0 if ok else 1.0,
                    0.5,
                    ok,
                    f"expected {[a.shape for a in xs]}, received {[o.shape for o in out]}",
                )
            )
    finally:
        layer.astype(dtype)
        for leaf, saved in zip(leaves, saved_buffers):
            for k, v in saved.items():
                leaf.buffers[k][...] = v
    if verbose:
        print(report)
    return report
