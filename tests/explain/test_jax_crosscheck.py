"""gradient, deconvnet and guided_backprop against an independent implementation in JAX.

The same network (convolutions, BatchNormalization at inference, a residual Add,
max-pooling, dense layers, a final softmax) is written in JAX with the weights copied
over. The gradient comes from JAX's own autodiff; DeconvNet and Guided Backprop from a
ReLU with a custom backward rule (``jax.custom_vjp``); max-pooling is
``lax.reduce_window``, whose gradient routes to the window's maximum -- the switches.
Inputs are continuous random numbers, so pooling windows have no ties.
"""

import numpy as np
import pytest
from conftest import optional_import

import minidecnn as mdc
from minidecnn import explain
from minidecnn.layers import (
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    Softmax,
)

RTOL = 1e-5


def residual_net(seed=0):
    inp = mdc.Input((12, 12, 3))
    h = ReLU(name="r1")(
        BatchNormalization(name="bn1")(Conv2D(6, 3, padding="same", name="c1")(inp))
    )
    y = BatchNormalization(name="bn2")(Conv2D(6, 3, padding="same", name="c2")(h))
    y = ReLU(name="r2")(Add(name="add")([y, h]))
    y = MaxPool2D(2, name="p1")(y)
    y = MaxPool2D(2, name="p2")(ReLU(name="r3")(Conv2D(8, 3, name="c3")(y)))
    y = ReLU(name="r4")(Dense(16, name="d1")(Flatten(name="flat")(y)))
    out = Softmax(name="softmax")(Dense(5, name="logits")(y))
    model = mdc.Model(inp, out).astype(np.float64)
    rng = np.random.default_rng(seed)
    for layer in model.leaf_layers():
        for key, value in {**layer.params, **layer.buffers}.items():
            if key == "moving_variance":
                value[...] = rng.uniform(0.5, 2.0, value.shape)
            elif key == "gamma":
                value[...] = rng.uniform(0.5, 1.5, value.shape)
            else:
                value[...] = rng.normal(0, 0.4 if key == "W" else 0.1, value.shape)
    return model


def jax_forward(jnp, lax, w, relu):
    """The same network in JAX; returns (logits, r2) for a batch."""

    def conv(x, name, padding):
        y = lax.conv_general_dilated(
            x, w[name]["W"], (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        return y + w[name]["b"]

    def bn(x, name, eps=1e-3):
        p = w[name]
        return (x - p["moving_mean"]) / jnp.sqrt(p["moving_variance"] + eps) * p["gamma"] + p[
            "beta"
        ]

    def pool(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def net(x):
        h = relu(bn(conv(x, "c1", "SAME"), "bn1"))
        r2 = relu(bn(conv(h, "c2", "SAME"), "bn2") + h)
        y = pool(relu(conv(pool(r2), "c3", "VALID")))
        y = relu(y.reshape(len(x), -1) @ w["d1"]["W"] + w["d1"]["b"])
        return y @ w["logits"]["W"] + w["logits"]["b"], r2

    return net


def jax_relus(jax, jnp):
    """The three ReLUs: autodiff's own for the gradient, custom backward rules for the others."""

    def rule(backward):
        @jax.custom_vjp
        def relu(z):
            return jnp.maximum(z, 0)

        relu.defvjp(lambda z: (jnp.maximum(z, 0), z), lambda z, g: (backward(z, g),))
        return relu

    return {
        "gradient": jax.nn.relu,
        "deconvnet": rule(lambda z, g: jnp.maximum(g, 0)),
        "guided": rule(lambda z, g: jnp.maximum(g, 0) * (z > 0)),
    }


METHODS = {
    "gradient": explain.gradient,
    "deconvnet": explain.deconvnet,
    "guided": explain.guided_backprop,
}


@pytest.fixture(scope="module")
def setup():
    jax = optional_import("jax")
    jax.config.update("jax_enable_x64", True)
    model = residual_net(seed=0)
    x = np.random.default_rng(1).standard_normal((3, 12, 12, 3))
    model.forward(x)
    for key in ("c1", "bn2", "add", "c3", "d1"):  # no ReLU input sits exactly at a kink
        assert np.abs(model.activations[key]).min() > 1e-6
    weights = {
        path: {k: jax.numpy.asarray(v) for k, v in w.items()}
        for path, w in model.get_weights().items()
    }
    return jax, model, x, weights


@pytest.mark.parametrize("rule", list(METHODS))
def test_maps_at_the_logits_match_jax(setup, rule):
    jax, model, x, weights = setup
    net = jax_forward(jax.numpy, jax.lax, weights, jax_relus(jax, jax.numpy)[rule])
    classes = [0, 3, 4]
    (logits, _), vjp = jax.vjp(net, jax.numpy.asarray(x))
    model.forward(x)
    np.testing.assert_allclose(logits, model.activations["logits"], rtol=1e-12)
    cot = np.zeros((3, 5))
    cot[np.arange(3), classes] = 1.0
    (expected,) = vjp((jax.numpy.asarray(cot), jax.numpy.zeros((3, 12, 12, 6))))
    ours = METHODS[rule](model, x, target=classes)
    expected = np.asarray(expected)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())


@pytest.mark.parametrize("rule", list(METHODS))
def test_maps_of_an_intermediate_channel_match_jax(setup, rule):
    # Zeiler & Fergus start at the residual block's output: channel 2 at its strongest
    # activation per image, kept with its value; the argmax is taken in JAX too.
    jax, model, x, weights = setup
    net = jax_forward(jax.numpy, jax.lax, weights, jax_relus(jax, jax.numpy)[rule])
    (logits, r2), vjp = jax.vjp(net, jax.numpy.asarray(x))
    a = np.asarray(r2)[..., 2].reshape(3, -1)
    idx = a.argmax(axis=1)
    cot = np.zeros((3, 12, 12, 6))
    cot[np.arange(3), idx // 12, idx % 12, 2] = a[np.arange(3), idx]
    (expected,) = vjp((jax.numpy.zeros((3, 5)), jax.numpy.asarray(cot)))
    ours = METHODS[rule](model, x, target=2, layer="r2")
    expected = np.asarray(expected)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())


def test_the_rules_differ_on_this_network(setup):
    # Guard: the comparisons above are between three genuinely different maps.
    _, model, x, _ = setup
    maps = [f(model, x, target=[0, 3, 4]).raw for f in METHODS.values()]
    assert not np.allclose(maps[0], maps[1]) and not np.allclose(maps[1], maps[2])
    assert not np.allclose(maps[0], maps[2])
