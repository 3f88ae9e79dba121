"""Plumbing shared by the methods: input checks, parameter checks, the reverse pass, batching."""

from __future__ import annotations

import numbers

import numpy as np

from .._checks import as_float_array, check_finite, check_shape
from ..errors import ShapeError, TargetError, did_you_mean
from ..layers.activations import GRADIENT_ONLY, ReLU, Softmax
from ..model import Model

#: bytes of activations one batch of a batched method (SmoothGrad, Integrated Gradients,
#: occlusion) may hold; ``batch_size=None`` picks the largest batch under this budget.
#: Larger batches do not make the convolutions faster (they already run as large GEMMs on
#: bands of output rows), but arrays above glibc's 32 MB mmap threshold are fresh pages on
#: every allocation: on VGG16 (110 MB of activations per image) batches of 4 made
#: SmoothGrad-50 10-25 % slower per sample than batches of 1, and used 0.3 GB more memory.
ACTIVATION_BUDGET = 128 * 2**20


def check_model_and_input(model, x, where: str) -> np.ndarray:
    """Validate the model (one input) and the batch ``x``; return ``x`` as a float array."""
    if not isinstance(model, Model):
        raise TypeError(
            f"{where}: expected a minidecnn Model (Sequential or functional), received "
            f"{type(model).__name__}. Wrap a single layer in Sequential([Input(shape), layer])."
        )
    if model.multi_input:
        raise TargetError(
            f"{where}: the model has {len(model.inputs)} inputs. Expected a model with one "
            f"input image, received inputs {[t.name for t in model.inputs]}."
        )
    x = as_float_array(x, where)
    if model.built:
        check_shape(x, model.input_shape, where)
    elif x.ndim < 2:
        raise ShapeError(
            f"{where}: wrong input rank. Expected a batch (N, ...), received shape {x.shape}."
        )
    if len(x) == 0:
        raise ShapeError(f"{where}: the batch is empty. Expected N >= 1 images, received N=0.")
    check_finite(x, where)
    return x


def check_int(value, name: str, where: str, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise TargetError(
            f"{where}: invalid {name}. Expected an int >= {minimum}, received {name}={value!r}."
        )
    return int(value)


def check_float(value, name: str, where: str, minimum: float = 0.0) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < minimum:
        raise TargetError(
            f"{where}: invalid {name}. Expected a finite number >= {minimum}, received "
            f"{name}={value!r}."
        )
    return float(value)


def check_choice(value, name: str, choices, where: str) -> str:
    if value not in choices:
        raise TargetError(
            f"{where}: unknown {name} {value!r}.{did_you_mean(str(value), choices)} Expected "
            f"one of {tuple(choices)}, received {name}={value!r}."
        )
    return value


def check_batch_size(batch_size, where: str) -> int | None:
    return None if batch_size is None else check_int(batch_size, "batch_size", where)


def auto_batch_size(model, n_rows: int, batch_size: int | None) -> int:
    """``batch_size``, or as many rows as keep one batch's activations under the budget.

    Measured on the activations of the last forward pass (per image).
    """
    if batch_size is not None:
        return min(batch_size, n_rows)
    acts = model.activations
    n = max(1, len(next(iter(acts.values()))))
    per_row = sum(a.nbytes for a in acts.values()) / n
    return int(max(1, min(n_rows, ACTIVATION_BUDGET // max(per_row, 1))))


def chunks(n_rows: int, size: int):
    """Consecutive slices of ``range(n_rows)`` of at most ``size`` rows."""
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def reverse_pass(model, top, rows, rule: str, stop: str | None = None) -> np.ndarray:
    """Backward pass from ``top`` after a forward pass of the rows ``rows``.

    Never computes weight gradients (``param_grads=False``).
    """
    out = model.activations[top.node]
    dout = top.signal(out, rows)
    return model.backward(dout, rule=rule, start=top.node, param_grads=False, stop=stop)


def fresh_forward(model, xb) -> None:
    """Forward a new batch after dropping the previous batch's caches.

    Without the clear, each layer would keep the last batch's cache until its own turn
    comes, so a batched method would briefly hold two batches of activations.
    """
    model.clear_cache()
    model.forward(xb)


def forward_and_reverse(model, xb, top, rows, rule: str) -> np.ndarray:
    """Forward the batch ``xb`` (row ``b`` belongs to image ``rows[b]``) and reverse it."""
    fresh_forward(model, xb)
    return reverse_pass(model, top, rows, rule)


def rule_notes(model, rule: str) -> list[str]:
    """Warnings worth printing with a map: non-ReLU nonlinearities under deconv/guided."""
    if rule == "gradient":
        return []
    others = [
        f"{type(layer).__name__} {layer.name!r}"
        for layer in model.leaf_layers()
        if isinstance(layer, GRADIENT_ONLY)
    ]
    final = model.outputs[0].node
    if final is not None and isinstance(final.layer, Softmax):
        others = [o for o in others if not o.endswith(f"{final.layer.name!r}")]
    notes = []
    if others:
        notes.append(
            "the modified rule applies at ReLU layers only; "
            + ", ".join(others)
            + " pass(es) the ordinary gradient (as in Captum; iNNvestigate refuses such nets)"
        )
    if not any(isinstance(layer, ReLU) for layer in model.leaf_layers()):
        notes.append("the model has no ReLU layer, so this map equals the gradient")
    return notes
