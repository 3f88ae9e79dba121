"""The gradient checker itself: it must pass correct layers and catch wrong ones."""

import numpy as np
import pytest

from minidecnn.gradcheck import check_layer, gradient_error, numerical_gradient, rel_error
from minidecnn.layers import Dense, ReLU


def test_numerical_gradient_of_known_functions():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(
        numerical_gradient(lambda v: float((v**3).sum()), x), 3 * x**2, rtol=1e-9
    )
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored after perturbing


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([0.0], [0.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"rel_error: shapes differ, received \(2,\) and \(3,\)"):
        rel_error(np.ones(2), np.ones(3))


def test_gradient_error_floor_uses_the_given_scale():
    a, n = np.zeros(3), np.full(3, 1e-11)  # a zero gradient measured with round-off
    assert gradient_error(a, n) > 1e-4  # on its own scale: fails any sensible tolerance
    assert gradient_error(a, n, scale=1.0) < 1e-6  # against the other gradients: fine


class WrongDense(Dense):
    """Dense whose weight gradient forgets a transpose (a classic bug)."""

    def backward(self, dout, param_grads=True):
        dx = super().backward(dout, param_grads)
        if param_grads:
            self.grads["W"] = (dout.T @ self.x).T[::-1].copy()
        return dx


class LeakyGradReLU(ReLU):
    """ReLU whose gradient leaks 10% through negative inputs (forward unchanged)."""

    def backward(self, dout, param_grads=True):
        return dout * np.where(self.z > 0, 1.0, 0.1)


def test_check_layer_passes_correct_layers_and_restores_dtype():
    layer = Dense(3, seed=0)
    report = check_layer(layer, np.random.default_rng(0).standard_normal((2, 4)), verbose=False)
    assert report.passed
    assert layer.dtype == np.float32 and layer.params["W"].dtype == np.float32


def test_check_layer_catches_a_wrong_weight_gradient(capsys):
    report = check_layer(WrongDense(3, seed=0), np.random.default_rng(1).standard_normal((2, 4)))
    assert not report.passed
    failed = [c.name for c in report.checks if not c.passed]
    assert failed == ["dW vs centred differences"]
    out = capsys.readouterr().out  # verbose: the report with both sides of the worst entries
    assert "FAILED" in out and "[FAIL] dW vs centred differences" in out
    assert "analytic         numerical" in out


def test_check_layer_catches_a_wrong_input_gradient():
    x = np.random.default_rng(2).standard_normal((3, 5))
    x = np.sign(x) * (0.1 + np.abs(x))
    report = check_layer(LeakyGradReLU(), x, verbose=False)
    failed = {c.name for c in report.checks if not c.passed}
    # wrong dx, and no longer the adjoint of the (unchanged) forward
    assert failed == {"dx vs centred differences", "adjoint <f(x), y> = <x, f^T(y)>"}
    assert "FAIL" in str(report)
