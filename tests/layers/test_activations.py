"""ReLU's three rules (the only place they differ) and the other nonlinearities."""

import re

import numpy as np
import pytest
from layer_helpers import assert_gradcheck, away_from_zero

from minidecnn.errors import ShapeError
from minidecnn.layers import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

Z = np.array([[-2.0, -0.5, 0.0, 0.0, 0.5, 2.0]])
G = np.array([[3.0, -3.0, 3.0, -3.0, 3.0, -3.0]])


def test_relu_rules_table():
    """gradient dout*1[z>0]; deconvnet max(dout, 0); guided max(dout, 0)*1[z>0];
    at z == 0 exactly the derivative is 0 (strict >), as in PyTorch and TensorFlow."""
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(Z), [[0, 0, 0, 0, 0.5, 2]])
    np.testing.assert_array_equal(relu.backward(G), [[0, 0, 0, 0, 3, -3]])
    np.testing.assert_array_equal(relu.deconv(G), [[3, 0, 3, 0, 3, 0]])  # ignores z
    np.testing.assert_array_equal(relu.guided(G), [[0, 0, 0, 0, 3, 0]])
    for rule, method in (
        ("gradient", relu.backward),
        ("deconvnet", relu.deconv),
        ("guided", relu.guided),
    ):
        np.testing.assert_array_equal(relu.reverse(G, rule), method(G))


def test_relu_rules_keep_dtype():
    relu = ReLU()
    relu.forward(Z.astype(np.float32))
    for out in (
        relu.backward(G.astype(np.float32)),
        relu.deconv(G.astype(np.float32)),
        relu.guided(G.astype(np.float32)),
    ):
        assert out.dtype == np.float32


def test_relu_gradcheck_away_from_the_kink():
    x = away_from_zero(np.random.default_rng(0), (3, 4, 5, 2))
    assert_gradcheck(ReLU(), x)


def test_unknown_rule():
    relu = ReLU(name="r")
    relu.forward(Z)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "ReLU 'r': unknown rule. Expected one of ('gradient', 'deconvnet', 'guided'), "
            "received rule='saliency'."
        ),
    ):
        relu.reverse(G, "saliency")


NONLINEAR = {
    "LeakyReLU": lambda: LeakyReLU(0.2),
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "Softmax": Softmax,
    "Softmax(axis=1)": lambda: Softmax(axis=1),
}


@pytest.mark.parametrize("make", NONLINEAR.values(), ids=NONLINEAR.keys())
def test_other_nonlinearities_gradcheck(make):
    x = away_from_zero(np.random.default_rng(1), (2, 3, 4))
    assert_gradcheck(make(), x)


@pytest.mark.parametrize("make", NONLINEAR.values(), ids=NONLINEAR.keys())
def test_deconv_and_guided_are_the_gradient_for_non_relu(make):
    """Documented choice (as in Captum and iNNvestigate): only ReLU has special rules."""
    rng = np.random.default_rng(2)
    layer = make()
    layer.forward(away_from_zero(rng, (2, 3, 4)))
    dout = rng.standard_normal((2, 3, 4))  # of both signs
    grad = layer.backward(dout)
    np.testing.assert_array_equal(layer.deconv(dout), grad)
    np.testing.assert_array_equal(layer.guided(dout), grad)


def test_leaky_relu_by_hand():
    leaky = LeakyReLU(negative_slope=0.1)
    np.testing.assert_allclose(leaky.forward(Z), [[-0.2, -0.05, 0, 0, 0.5, 2]])
    # at z == 0 the slope side is taken: z > 0 is false
    np.testing.assert_allclose(leaky.backward(G), [[0.3, -0.3, 0.3, -0.3, 3, -3]])
    assert LeakyReLU(alpha=0.05).negative_slope == 0.05  # Keras 2 name
    assert LeakyReLU().negative_slope == 0.3  # Keras default
    with pytest.raises(
        ValueError,
        match=re.escape("LeakyReLU: invalid negative_slope. Expected a float >= 0, received -1."),
    ):
        LeakyReLU(-1)


def test_sigmoid_and_tanh_by_hand():
    s = Sigmoid()
    np.testing.assert_allclose(s.forward(np.array([[0.0, np.log(3.0)]])), [[0.5, 0.75]])
    np.testing.assert_allclose(s.backward(np.array([[1.0, 1.0]])), [[0.25, 0.75 * 0.25]])
    t = Tanh()
    np.testing.assert_allclose(t.forward(np.array([[0.0, np.log(2.0)]])), [[0, 0.6]])
    np.testing.assert_allclose(t.backward(np.array([[2.0, 1.0]])), [[2.0, 1 - 0.36]])


def test_sigmoid_does_not_overflow():
    s = Sigmoid()
    with np.errstate(over="raise"):
        y = s.forward(np.array([[-1000.0, 1000.0]], np.float32))
    np.testing.assert_array_equal(y, [[0, 1]])


def test_softmax_by_hand_and_stable():
    soft = Softmax()
    p = soft.forward(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]]))
    np.testing.assert_allclose(p, [[0.25, 0.75], [0.5, 0.5]])
    # dz = p * (dout - <dout, p>): pulling class 0 up pushes class 1 down
    np.testing.assert_allclose(
        soft.backward(np.array([[1.0, 0.0], [0.0, 0.0]])), [[0.1875, -0.1875], [0, 0]]
    )


def test_softmax_bad_axis():
    with pytest.raises(
        ShapeError,
        match=re.escape(
            "Softmax 'sm': invalid axis. Expected a non-batch axis of inputs of shape (N, 3), "
            "received axis=0."
        ),
    ):
        Softmax(axis=0, name="sm").forward(np.zeros((2, 3)))
