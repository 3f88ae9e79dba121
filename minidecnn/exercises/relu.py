"""Grading of the ``relu_rules`` exercise: the ReLU's forward pass and its three backward rules.

The reference is :class:`minidecnn.layers.ReLU` (``backward``, ``deconv``, ``guided``);
the gradient is also checked against centred differences away from the kink.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import gradient_error, numerical_gradient
from ..layers import ReLU
from .grading import Grader, as_array


def _inputs():
    """``z`` with exact zeros and ``dout`` with both signs and exact zeros, seeded."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal((2, 3, 4, 5))
    z[rng.random(z.shape) < 0.2] = 0.0  # exact zeros: the kink
    dout = rng.standard_normal(z.shape)
    dout[rng.random(z.shape) < 0.1] = 0.0
    return z, dout


def _by_hand():
    """A small case a student can check by hand (the docs' table)."""
    z = np.array([[-1.0, 0.0, 2.0, 3.0]])
    dout = np.array([[3.0, 3.0, -3.0, 3.0]])
    return z, dout


CASES = [
    ("by hand: z = [-1, 0, 2, 3], dout = [3, 3, -3, 3]", _by_hand),
    ("random (2, 3, 4, 5) batch with exact zeros in z and dout", _inputs),
]

# the wrong rules a student might write, each with what it is
VARIANTS = {
    "gradient": lambda d, z: d * (z > 0),
    "gradient_ge": lambda d, z: d * (z >= 0),
    "deconvnet": lambda d, z: np.maximum(d, 0),
    "guided": lambda d, z: np.maximum(d, 0) * (z > 0),
    "guided_ge": lambda d, z: np.maximum(d, 0) * (z >= 0),
    "mask_only": lambda d, z: (z > 0).astype(np.float64),
    "forward": lambda d, z: np.maximum(z, 0),
}

HINTS = {
    "relu_gradient": {
        "gradient_ge": "At z == 0 exactly the derivative is taken as 0 (a strict z > 0), "
        "as in PyTorch, TensorFlow and minidecnn.",
        "deconvnet": "That is the DeconvNet rule (max(dout, 0)). The gradient keeps dout's sign "
        "and uses the forward mask: dz = dout * 1[z > 0].",
        "guided": "That is the guided rule. The gradient does not rectify dout: "
        "dz = dout * 1[z > 0].",
        "mask_only": "Multiply the mask by the incoming signal: dz = dout * 1[z > 0].",
        "forward": "That is the forward pass of z. The backward pass sends dout down: "
        "dz = dout * 1[z > 0].",
    },
    "relu_deconvnet": {
        "gradient": "That is the gradient rule: you applied the forward mask 1[z > 0]. "
        "DeconvNet ignores z and rectifies the signal: dz = max(dout, 0).",
        "gradient_ge": "DeconvNet ignores z: dz = max(dout, 0).",
        "guided": "That is guided backpropagation. DeconvNet uses no forward mask: "
        "dz = max(dout, 0).",
        "guided_ge": "DeconvNet uses no forward mask: dz = max(dout, 0).",
        "forward": "That is max(z, 0), the forward pass. DeconvNet rectifies the signal coming "
        "down: dz = max(dout, 0).",
    },
    "relu_guided": {
        "gradient": "That is the plain gradient. Guided backprop also rectifies the signal: "
        "dz = max(dout, 0) * 1[z > 0].",
        "deconvnet": "That is the DeconvNet rule. Guided backprop also keeps the forward mask: "
        "dz = max(dout, 0) * 1[z > 0].",
        "guided_ge": "At z == 0 the unit is off: use the strict mask 1[z > 0].",
        "forward": "That is the forward pass; guided backprop sends dout down: "
        "dz = max(dout, 0) * 1[z > 0].",
    },
}


def _reference(z, dout):
    relu = ReLU(name="reference")
    y = relu.forward(z)
    return {
        "relu_forward": y,
        "relu_gradient": relu.backward(dout),
        "relu_deconvnet": relu.deconv(dout),
        "relu_guided": relu.guided(dout),
    }


def grade(g: Grader) -> None:
    for label, make in CASES:
        z, dout = make()
        ref = _reference(z, dout)
        ok, got = g.call("relu_forward", label, z)
        if ok:
            g.compare(
                "relu_forward",
                label,
                ref["relu_forward"],
                got,
                "max(z, 0)",
                mistakes=[(np.abs(z), "Negative inputs become 0, not their absolute value.")],
            )
        for fn in ("relu_gradient", "relu_deconvnet", "relu_guided"):
            ok, got = g.call(fn, label, dout, z)
            if not ok:
                continue
            mistakes = [(VARIANTS[name](dout, z), hint) for name, hint in HINTS[fn].items()]
            g.compare(fn, label, ref[fn], got, "dz", mistakes=mistakes)
    _gradient_check(g)


def _gradient_check(g: Grader) -> None:
    label = "relu_gradient against centred differences of <relu(z), dout> (|z| >= 0.1)"
    rng = np.random.default_rng(12)
    z = rng.standard_normal((3, 7))
    z = np.where(np.abs(z) < 0.1, 0.5, z)  # away from the kink, where the derivative exists
    dout = rng.standard_normal(z.shape)
    num = numerical_gradient(lambda v: float(np.vdot(np.maximum(v, 0), dout)), z.copy())
    ok, got = g.call("relu_gradient", label, dout, z)
    if not ok:
        return
    arr = as_array(got)
    if arr is None or arr.shape != z.shape:
        g.fail(
            "relu_gradient", label, f"dz has shape {getattr(arr, 'shape', None)}, not {z.shape}."
        )
        return
    err = gradient_error(arr, num)
    if err < 1e-6:
        g.ok("relu_gradient", label)
    else:
        g.fail(
            "relu_gradient",
            label,
            f"dz disagrees with the numerical gradient: relative error {err:.2e} "
            f"(tolerance 1e-6).",
            "Only the gradient rule is a derivative; DeconvNet and guided are not.",
        )
