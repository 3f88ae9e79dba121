"""Losses: values by hand, gradients against centred differences (float64), stability, errors."""

import numpy as np
import pytest

from minidecnn.errors import DTypeError, NotFiniteError, ShapeError
from minidecnn.gradcheck import numerical_gradient, rel_error
from minidecnn.train import get_loss, log_softmax, mean_squared_error, softmax_cross_entropy

# Centred differences with h = 1e-5 on smooth float64 functions of O(1) values have a
# truncation error ~h^2 = 1e-10 and a rounding error ~1e-16 / h = 1e-11 (absolute). Some
# softmax gradient entries are as small as 1e-5, where that is a relative error of
# ~1e-6, so 1e-5 is the bound; a wrong formula gives errors of order 1.
TOL = 1e-5


def test_cross_entropy_by_hand():
    z = np.array([[2.0, 1.0, 0.0]])
    p = np.exp(z) / np.exp(z).sum()
    loss, d = softmax_cross_entropy(z, np.array([1]))
    assert loss == pytest.approx(-np.log(p[0, 1]), rel=1e-12)
    np.testing.assert_allclose(d, p - [[0.0, 1.0, 0.0]], rtol=1e-12)


@pytest.mark.parametrize("labels", ["int", "onehot", "soft"])
def test_cross_entropy_gradient_matches_finite_differences(rng, labels):
    z = rng.normal(size=(5, 4)) * 3
    y = rng.integers(0, 4, size=5)
    if labels == "onehot":
        y = np.eye(4)[y]
    elif labels == "soft":
        y = rng.dirichlet(np.ones(4), size=5)
    _, d = softmax_cross_entropy(z, y)
    numeric = numerical_gradient(lambda v: softmax_cross_entropy(v, y)[0], z.copy())
    assert rel_error(d, numeric) < TOL


def test_cross_entropy_is_mean_over_batch_and_int_equals_onehot(rng):
    z = rng.normal(size=(6, 3))
    y = rng.integers(0, 3, size=6)
    loss_int, d_int = softmax_cross_entropy(z, y)
    loss_hot, d_hot = softmax_cross_entropy(z, np.eye(3)[y])
    per_example = [softmax_cross_entropy(z[i : i + 1], y[i : i + 1])[0] for i in range(6)]
    assert loss_int == pytest.approx(np.mean(per_example), rel=1e-12)
    assert loss_int == pytest.approx(loss_hot, rel=1e-12)
    np.testing.assert_allclose(d_int, d_hot, rtol=1e-12)
    np.testing.assert_allclose(d_int.sum(axis=1), 0, atol=1e-15)  # rows of p - y sum to 0


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]], dtype=np.float32)
    loss, d = softmax_cross_entropy(z, np.array([2, 0]))
    # true classes sit 2000 and 2e4 below the maximum: that is the loss, exactly
    assert loss == pytest.approx((2000.0 + 2e4) / 2, rel=1e-6)
    assert np.isfinite(d).all() and d.dtype == np.float32
    np.testing.assert_allclose(d, [[0.5, 0, -0.5], [-0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(log_softmax(np.array([[1e4, 1e4]])), np.log(0.5) * np.ones((1, 2)))


def test_cross_entropy_keeps_float32():
    loss, d = softmax_cross_entropy(np.zeros((2, 3), np.float32), np.array([0, 1]))
    assert isinstance(loss, float) and d.dtype == np.float32


def test_mse_by_hand_and_gradient(rng):
    loss, d = mean_squared_error(
        np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 0.0]])
    )
    assert loss == pytest.approx((4 + 16) / 4)
    np.testing.assert_allclose(d, [[0, 1.0], [0, 2.0]])
    out, y = rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 2, 2))
    _, d = mean_squared_error(out, y)
    numeric = numerical_gradient(lambda v: mean_squared_error(v, y)[0], out.copy())
    assert rel_error(d, numeric) < TOL


def test_mse_accepts_integer_targets():
    loss, _ = mean_squared_error(np.array([[1.0]]), np.array([[3]]))
    assert loss == 4.0


@pytest.mark.parametrize(
    ("z", "y", "error", "text"),
    [
        (
            np.zeros((2, 3)),
            np.array([0, 3]),
            ShapeError,
            "label out of range. Expected integers in [0, 3) for 3 classes, received 3",
        ),
        (np.zeros((2, 3)), np.array([0, -1]), ShapeError, "received -1 (at index 1)"),
        (
            np.zeros((2, 3)),
            np.array([[0], [1]]),
            ShapeError,
            "integer labels must have shape (N,). Expected (2,), received (2, 1)",
        ),
        (np.zeros((2, 3)), np.ones((2, 4)), ShapeError, "Expected (2, 3), received (2, 4)"),
        (np.zeros((2, 3)), np.array(["a", "b"]), DTypeError, "labels have dtype <U1"),
        (
            np.zeros((2, 3, 1)),
            np.array([0, 1]),
            ShapeError,
            "logits must be a matrix. Expected shape (N, K), received (2, 3, 1)",
        ),
        (np.array([[0.0, np.nan]]), np.array([0]), NotFiniteError, "the logits contains 1 NaN"),
        (np.zeros((2, 3), np.int64), np.array([0, 1]), DTypeError, "the logits has dtype int64"),
    ],
)
def test_cross_entropy_errors(z, y, error, text):
    with pytest.raises(error) as info:
        softmax_cross_entropy(z, y)
    assert text in str(info.value)
    assert str(info.value).startswith("softmax_cross_entropy: ")


def test_mse_shape_error():
    with pytest.raises(
        ShapeError,
        match=(
            r"mean_squared_error: targets must have the shape of the outputs. "
            r"Expected \(2, 1\), received \(2,\)"
        ),
    ):
        mean_squared_error(np.zeros((2, 1)), np.zeros(2))


def test_get_loss_names_and_errors():
    assert get_loss("crossentropy") is softmax_cross_entropy
    assert get_loss("MSE") is mean_squared_error
    assert get_loss(mean_squared_error) is mean_squared_error
    with pytest.raises(
        ValueError, match=r"fit: unknown loss 'crossentropi'. Did you mean 'crossentropy'"
    ):
        get_loss("crossentropi")
