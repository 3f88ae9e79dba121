"""ReLU's three rules (the only place they differ) and the other nonlinearities."""

import re

import numpy as np
import pytest
from layer_helpers import assert_gradcheck, away_from_zero

from minidecnn.errors import ShapeError
from minidecnn.layers import (
    ELU,
    GELU,
    SELU,
    Exponential,
    HardSigmoid,
    HardSiLU,
    HardSwish,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Swish,
    Tanh,
)

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
    "ELU": ELU,
    "ELU(alpha=0.5)": lambda: ELU(0.5),
    "SELU": SELU,
    "GELU": GELU,
    "GELU(approximate=True)": lambda: GELU(approximate=True),
    "Swish": Swish,
    "Softplus": Softplus,
    "Softsign": Softsign,
    "HardSigmoid": HardSigmoid,
    "HardSigmoid(slope=0.2)": lambda: HardSigmoid(slope=0.2),
    "HardSiLU": HardSiLU,
    "Exponential": Exponential,
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


# ----------------------------------------------------------------- the newer activations

#: where each piecewise layer has a kink: ELU/SELU at 0, the hard sigmoids where their
#: output goes flat (Keras 3: +-3, tf.keras' slope 0.2: +-2.5), capped ReLU at 0 and 1.5
KINKS = (-3.0, -2.5, 0.0, 1.5, 2.5, 3.0)


def away_from_kinks(rng, shape, margin=0.1):
    """Values spread over [-4.5, 4.5] (both flat parts of the hard sigmoids and the slope
    between), each at least ``margin`` from every kink, so a 1e-5 step never crosses one."""
    z = rng.uniform(-4.5, 4.5, shape)
    for k in KINKS:
        near = np.abs(z - k) < margin
        z[near] = k + margin * np.where(z[near] >= k, 1, -1)
    return z


@pytest.mark.parametrize("make", NONLINEAR.values(), ids=NONLINEAR.keys())
def test_gradcheck_over_the_whole_range(make):
    """float64, GRAD_TOL = 1e-6 (layer_helpers: centred differences agree to ~1e-8 with a
    correct backward). The inputs cover the saturated/flat parts and stay 0.1 away from
    every kink, where the derivative jumps and a difference quotient means nothing."""
    x = away_from_kinks(np.random.default_rng(4), (2, 3, 4, 2))
    assert_gradcheck(make(), x)


def test_capped_relu_rules_and_gradcheck():
    """Gradient zero above the cap; DeconvNet ignores z (so the cap too); guided is the
    gradient with negative signals removed."""
    relu = ReLU(max_value=1.5)
    z = np.array([[-1.0, 0.5, 1.5, 2.0, 2.0]])
    g = np.array([[3.0, -3.0, 3.0, 3.0, -3.0]])
    np.testing.assert_array_equal(relu.forward(z), [[0, 0.5, 1.5, 1.5, 1.5]])
    np.testing.assert_array_equal(relu.backward(g), [[0, -3, 0, 0, 0]])  # z == cap: off
    np.testing.assert_array_equal(relu.deconv(g), [[3, 0, 3, 3, 0]])
    np.testing.assert_array_equal(relu.guided(g), [[0, 0, 0, 0, 0]])
    assert relu.linearity == "nonlinear" and ReLU().linearity == "piecewise_linear"
    assert relu.get_config() == {"max_value": 1.5, "name": relu.name}
    assert_gradcheck(ReLU(max_value=1.5), away_from_kinks(np.random.default_rng(5), (3, 7)))
    for bad in (0, -1.0, float("inf"), True, "6"):
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"ReLU: invalid max_value. Expected None or a finite number > 0, received {bad!r}."
            ),
        ):
            ReLU(max_value=bad)


@pytest.mark.parametrize("make", NONLINEAR.values(), ids=NONLINEAR.keys())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_rule_keeps_the_dtype(make, dtype):
    layer = make()
    x = away_from_kinks(np.random.default_rng(6), (2, 5)).astype(dtype)
    assert layer.forward(x).dtype == dtype
    for method in (layer.backward, layer.deconv, layer.guided):
        assert method(np.ones((2, 5), dtype)).dtype == dtype


@pytest.mark.parametrize("make", NONLINEAR.values(), ids=NONLINEAR.keys())
def test_float32_agrees_with_float64(make):
    x = away_from_kinks(np.random.default_rng(7), (3, 6))
    d = np.random.default_rng(8).standard_normal((3, 6))
    a, b = make(), make()
    y64, y32 = a.forward(x), b.forward(x.astype(np.float32))
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        b.backward(d.astype(np.float32)), a.backward(d), rtol=1e-5, atol=1e-6
    )


def test_elu_and_selu_by_hand():
    elu = ELU(alpha=2.0)
    z = np.array([[-np.log(2.0), 0.0, 3.0]])  # exp(-log 2) = 1/2
    np.testing.assert_allclose(elu.forward(z), [[2 * (0.5 - 1), 0, 3]])
    # slope alpha * exp(z) = 1 at z = -log 2, alpha = 2 at z = 0 (the left branch), 1 right
    np.testing.assert_allclose(elu.backward(np.ones((1, 3))), [[1.0, 2.0, 1.0]])
    selu = SELU()
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    np.testing.assert_allclose(selu.forward(z), [[lam * alpha * (0.5 - 1), 0, 3 * lam]])
    np.testing.assert_allclose(
        selu.backward(np.ones((1, 3))), [[lam * alpha * 0.5, lam * alpha, lam]]
    )


def test_gelu_by_hand():
    """Phi(1) = 0.841344746, phi(1) = 0.241970725 (normal tables); tanh form:
    u = sqrt(2/pi) (1 + 0.044715) = 0.833626, (1 + tanh u) / 2 = 0.841192."""
    exact = GELU()
    np.testing.assert_allclose(
        exact.forward(np.array([[1.0, -1.0]])), [[0.841344746, -0.158655254]]
    )
    np.testing.assert_allclose(
        exact.backward(np.ones((1, 2))), [[0.841344746 + 0.241970725, 0.158655254 - 0.241970725]]
    )
    tanh = GELU(approximate=True)
    u = np.sqrt(2 / np.pi) * (1 + 0.044715)
    np.testing.assert_allclose(tanh.forward(np.array([[1.0]])), [[(1 + np.tanh(u)) / 2]])
    assert abs(tanh.forward(np.array([[1.0]]))[0, 0] - 0.841192) < 1e-6
    # far left the exact form keeps its tiny values in float32 (erfc, no cancellation)
    y = GELU().forward(np.array([[-8.0]], np.float32))
    np.testing.assert_allclose(y, [[-8.0 * 6.22096057e-16]], rtol=1e-5)
    with pytest.raises(
        ValueError,
        match=re.escape("GELU: invalid approximate. Expected True or False, received 'tanh'."),
    ):
        GELU(approximate="tanh")


def test_swish_softplus_softsign_by_hand():
    z = np.array([[np.log(3.0)]])  # sigmoid(log 3) = 3/4
    sw = Swish()
    np.testing.assert_allclose(sw.forward(z), [[0.75 * np.log(3.0)]])
    np.testing.assert_allclose(sw.backward(np.ones((1, 1))), [[0.75 * (1 + np.log(3.0) / 4)]])
    assert SiLU is Swish and Swish().name.startswith("swish")
    sp = Softplus()
    np.testing.assert_allclose(sp.forward(z), [[np.log(4.0)]])
    np.testing.assert_allclose(sp.backward(np.ones((1, 1))), [[0.75]])
    ss = Softsign()
    np.testing.assert_allclose(ss.forward(np.array([[-1.0, 4.0]])), [[-0.5, 0.8]])
    np.testing.assert_allclose(ss.backward(np.ones((1, 2))), [[0.25, 0.04]])


def test_hard_sigmoids_by_hand():
    z = np.array([[-3.5, -2.7, 1.5, 2.7, 3.5]])
    k3 = HardSigmoid()  # Keras 3: relu6(z + 3) / 6
    np.testing.assert_allclose(k3.forward(z), [[0, 0.05, 0.75, 0.95, 1]])
    np.testing.assert_allclose(k3.backward(np.ones((1, 5))), [[0, 1 / 6, 1 / 6, 1 / 6, 0]])
    k2 = HardSigmoid(slope=0.2, offset=0.5)  # Keras 1/2, tf.keras
    np.testing.assert_allclose(k2.forward(z), [[0, 0, 0.8, 1, 1]])
    np.testing.assert_allclose(k2.backward(np.ones((1, 5))), [[0, 0, 0.2, 0, 0]])
    hs = HardSiLU()  # z * relu6(z + 3) / 6
    np.testing.assert_allclose(hs.forward(z), [[0, -2.7 * 0.05, 1.5 * 0.75, 2.7 * 0.95, 3.5]])
    np.testing.assert_allclose(
        hs.backward(np.ones((1, 5))), [[0, -2.7 / 3 + 0.5, 1.0, 2.7 / 3 + 0.5, 1]]
    )
    assert HardSwish is HardSiLU and HardSiLU().name.startswith("hard_silu")
    with pytest.raises(
        ValueError,
        match=re.escape("HardSigmoid: invalid slope. Expected a finite number > 0, received 0."),
    ):
        HardSigmoid(slope=0)
    with pytest.raises(
        ValueError, match=re.escape("ELU: invalid alpha. Expected a finite number, received nan.")
    ):
        ELU(alpha=float("nan"))


def test_exponential_by_hand():
    e = Exponential()
    np.testing.assert_allclose(e.forward(np.array([[0.0, np.log(5.0)]])), [[1.0, 5.0]])
    np.testing.assert_allclose(e.backward(np.array([[3.0, 2.0]])), [[3.0, 10.0]])


@pytest.mark.parametrize("make", [ELU, SELU, GELU, Swish, Softplus, Softsign, HardSiLU])
def test_no_overflow_for_large_inputs(make):
    layer = make()
    z = np.array([[-1000.0, -50.0, 50.0, 1000.0]], np.float32)
    with np.errstate(over="raise", invalid="raise"):
        y = layer.forward(z)
        dz = layer.backward(np.ones_like(z))
    assert np.isfinite(y).all() and np.isfinite(dz).all()
