"""Functional models and Sequential: forward, backward (three rules), graph features."""

import re

import numpy as np
import pytest
from model_helpers import conv_block, residual_net

from minidecnn import Input, Model, Sequential
from minidecnn.errors import ShapeError, UnknownNameError
from minidecnn.gradcheck import check_layer
from minidecnn.layers import (
    Add,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)

# Whole-model gradient checks: float64, h = 1e-5, a dozen layers. Round-off grows
# with depth but stays near 1e-8; a wrong rule anywhere gives >= 1e-2. Random
# Gaussian inputs meet a ReLU kink or a max-pool tie within 1e-5 with negligible
# probability, and the seeds are fixed.
MODEL_TOL = 1e-6


def test_residual_net_graph():
    model = residual_net()
    assert [n.key for n in model.nodes] == [
        "conv1",
        "bn1",
        "relu1",
        "shared",
        "relu2",
        "shared:1",
        "residual",
        "side",
        "cat",
        "pool",
        "flat",
        "fc",
        "softmax",
    ]
    assert len(model.layers) == 12  # the shared layer once


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_whole_model_gradient_check(training):
    """Input and every parameter; the shared layer's gradient is summed over its calls."""
    model = residual_net()
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 2))
    report = check_layer(model, x, training=training, tol=MODEL_TOL, verbose=False)
    assert report.passed, str(report)
    names = [c.name for c in report.checks]
    for expected in (
        "dx vs centred differences",
        "dshared.W vs centred differences",
        "dbn1.gamma vs centred differences",
        "dfc.W vs centred differences",
    ):
        assert expected in names


def test_shared_layer_gradient_is_the_sum_over_calls():
    model = residual_net()
    x = np.random.default_rng(2).standard_normal((2, 6, 6, 2))
    y = model.forward(x)
    shared = model.get_layer("shared")
    per_call = []  # the gradient each call leaves behind, recorded as backward runs
    backward = shared.backward

    def recording_backward(dout, param_grads=True):
        dx = backward(dout, param_grads)
        per_call.append(shared.grads["W"].copy())
        return dx

    shared.backward = recording_backward
    try:  # not ones: the outputs of a softmax sum to 1, so <y, ones> has zero gradient
        model.backward(np.random.default_rng(3).standard_normal(y.shape))
    finally:
        del shared.backward
    assert len(per_call) == 2
    assert not np.allclose(per_call[0], per_call[1])
    np.testing.assert_allclose(model.grads["shared"]["W"], per_call[0] + per_call[1], rtol=1e-12)


def test_model_as_a_layer_called_twice():
    block = conv_block()
    x = Input((4, 4, 2), name="x")
    h = block(block(x))  # a shared nested model
    out = Dense(2, name="head", seed=6)(Flatten(name="fl")(h))
    model = Model(x, out, name="outer").astype(np.float64)
    xs = np.random.default_rng(3).standard_normal((2, 4, 4, 2))
    once = block.forward(xs)
    expected = model.get_layer("head").forward(block.forward(once).reshape(2, -1))
    np.testing.assert_allclose(model.forward(xs), expected, rtol=1e-12)
    assert model.get_layer("block_conv") is block.get_layer("block_conv")
    assert set(model.params) == {"block_conv", "head"}
    report = check_layer(model, xs, tol=MODEL_TOL, verbose=False)
    assert report.passed, str(report)


def test_one_tensor_feeding_several_layers_sums_signals():
    x = Input((3,), name="x")
    a, b = Dense(2, name="a", seed=1)(x), Dense(2, name="b", seed=2)(x)
    model = Model(x, Add(name="sum")([a, b])).astype(np.float64)
    xs = np.ones((1, 3))
    model.forward(xs)
    dx = model.backward(np.array([[1.0, -1.0]]))
    Wa, Wb = model.get_layer("a").params["W"], model.get_layer("b").params["W"]
    np.testing.assert_allclose(dx, [[1.0, -1.0]] @ (Wa + Wb).T, rtol=1e-12)


def no_relu_model():
    x = Input((6, 6, 2), name="x")
    h = BatchNormalization(name="bn")(Conv2D(3, 3, padding="same", name="c1", seed=1)(x))
    h = MaxPool2D(2, name="mp")(LeakyReLU(0.2, name="lrelu")(h))
    h = Add(name="add")(
        [Tanh(name="tanh")(h), Conv2D(3, 3, strides=2, padding="same", name="c2", seed=2)(x)]
    )
    h = Concatenate(name="cat")([h, Sigmoid(name="sig")(h)])
    out = Softmax(name="soft")(Dense(4, name="fc", seed=3)(Flatten(name="fl")(h)))
    return Model(x, out, name="no_relu").astype(np.float64)


def test_without_relu_all_three_rules_agree_exactly():
    model = no_relu_model()
    rng = np.random.default_rng(4)
    y = model.forward(rng.standard_normal((2, 6, 6, 2)))
    dout = rng.standard_normal(y.shape)
    grad = model.backward(dout, param_grads=False)
    np.testing.assert_array_equal(model.backward(dout, rule="deconvnet"), grad)
    np.testing.assert_array_equal(model.backward(dout, rule="guided"), grad)


def two_hidden_layers(rng):
    x = Input((5,), name="x")
    h1 = ReLU(name="r1")(Dense(6, use_bias=False, name="W", seed=1)(x))
    h2 = ReLU(name="r2")(Dense(4, use_bias=False, name="V", seed=2)(h1))
    model = Model(x, Dense(1, use_bias=False, name="u", seed=3)(h2), name="mlp")
    return model.astype(np.float64)


def test_relu_rules_closed_forms():
    """f = u^T relu(V relu(W x)) (METHODS 5.6): only the ReLU steps differ."""
    rng = np.random.default_rng(5)
    model = two_hidden_layers(rng)
    W, V, u = (model.get_layer(n).params["W"].T for n in ("W", "V", "u"))  # as matrices
    u = u.ravel()
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    x = rng.standard_normal((1, 5))
    model.forward(x)
    z1 = W @ x[0]
    z2 = V @ relu(z1)
    m1, m2 = (z1 > 0).astype(float), (z2 > 0).astype(float)
    one = np.ones((1, 1))
    expected = {
        "gradient": W.T @ (m1 * (V.T @ (m2 * u))),
        "deconvnet": W.T @ relu(V.T @ relu(u)),
        "guided": W.T @ (m1 * relu(V.T @ (m2 * relu(u)))),
    }
    for rule, want in expected.items():
        np.testing.assert_allclose(model.backward(one, rule=rule)[0], want, rtol=1e-12, atol=1e-15)
    assert not np.allclose(expected["gradient"], expected["deconvnet"])  # the test can fail


def test_backward_from_an_intermediate_layer():
    model = residual_net()
    x = np.random.default_rng(6).standard_normal((2, 6, 6, 2))
    model.forward(x)
    dout = np.random.default_rng(7).standard_normal(model.activations["relu1"].shape)
    got = model.backward(dout, start="relu1")
    # the same graph cut at relu1
    sub = Model(model.inputs[0], model.node("relu1").output, name="cut")
    sub.forward(x)
    np.testing.assert_allclose(got, sub.backward(dout), rtol=1e-12)
    np.testing.assert_allclose(model.grads["conv1"]["W"], sub.grads["conv1"]["W"], rtol=1e-12)
    # layers above the start do not depend on it: zero gradients, not stale ones
    assert not model.grads["fc"]["W"].any() and not model.grads["shared"]["W"].any()
    for rule in ("deconvnet", "guided"):
        model.forward(x)
        np.testing.assert_allclose(
            model.backward(dout, rule=rule, start="relu1"),
            sub.backward(dout, rule=rule),
            rtol=1e-12,
        )


def test_backward_from_the_second_call_of_a_shared_layer():
    model = residual_net()
    x = np.random.default_rng(8).standard_normal((1, 6, 6, 2))
    model.forward(x)
    assert not np.array_equal(model.activations["shared"], model.activations["shared:1"])
    dout = np.random.default_rng(9).standard_normal((1, 6, 6, 4))
    sub = Model(model.inputs[0], model.node("shared:1").output, name="cut2")
    sub.forward(x)
    np.testing.assert_allclose(
        model.backward(dout, start="shared:1"), sub.backward(dout), rtol=1e-12
    )


def test_logits_skip_a_final_softmax():
    model = residual_net()
    assert model.logits == "fc"
    x = np.random.default_rng(10).standard_normal((1, 6, 6, 2))
    model.forward(x)
    top = np.array([[0.0, 1.0, 0.0]])
    dx = model.backward(top, start=model.logits, param_grads=False)
    logit_model = Model(model.inputs[0], model.node("fc").output, name="logit_model")
    logit_model.forward(x)
    np.testing.assert_allclose(dx, logit_model.backward(top, param_grads=False), rtol=1e-12)
    assert logit_model.logits == "fc"  # no softmax: the output node itself


def test_predict_in_batches_equals_forward():
    model = residual_net()
    x = np.random.default_rng(11).standard_normal((7, 6, 6, 2))
    np.testing.assert_allclose(model.predict(x, batch_size=3), model.forward(x), rtol=1e-12)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Model 'net': invalid batch_size. Expected a positive int, received batch_size=0."
        ),
    ):
        model.predict(x, batch_size=0)


def test_training_flag_reaches_dropout_and_batchnorm():
    x = Input((4,), name="x")
    model = Model(x, Dropout(0.5, seed=0, name="drop")(BatchNormalization(name="bn")(x)))
    xs = np.random.default_rng(12).standard_normal((8, 4)).astype(np.float32)
    before = model.get_weights("bn")["moving_mean"].copy()
    np.testing.assert_allclose(model.forward(xs), model.predict(xs))  # inference: no dropout
    np.testing.assert_array_equal(model.get_weights("bn")["moving_mean"], before)
    y = model.forward(xs, training=True)
    assert (y == 0).any()
    assert not np.array_equal(model.get_weights("bn")["moving_mean"], before)


def test_summary():
    text = residual_net().summary(print_fn=None)
    lines = text.splitlines()
    assert lines[0] == 'Model: "net"'
    assert re.search(r"conv1 \(Conv2D\)\s+\(None, 6, 6, 4\)\s+76\s+image", text)
    assert re.search(r"shared:1 \(Conv2D\)\s+\(None, 6, 6, 4\)\s+0\s+relu2", text)
    assert re.search(r"cat \(Concatenate\)\s+\(None, 6, 6, 6\)\s+0\s+residual, side", text)
    # conv1 76 + bn1 16 + shared 148 + side 6 + fc (3*3*6*3 + 3 = 165)
    assert "Total params: 411" in text
    assert "Trainable params: 403" in text  # bn1's moving statistics are not trainable
    assert "Non-trainable params: 8" in text


def test_get_layer_suggests_close_names():
    model = residual_net()
    assert model.get_layer("bn1").name == "bn1"
    with pytest.raises(UnknownNameError) as err:
        model.get_layer("conv_1")
    assert str(err.value).startswith(
        "Model 'net': no layer named 'conv_1'. Did you mean 'conv1'? The layers are: conv1, "
    )
    assert isinstance(err.value, KeyError)  # dictionary-style code keeps working
    model.forward(np.zeros((1, 6, 6, 2)))
    with pytest.raises(
        UnknownNameError,
        match=re.escape(
            "Model 'net': no layer or node named 'shared:2'. Did you mean 'shared:1' or 'shared'?"
        ),
    ):
        model.backward(np.ones((1, 3)), start="shared:2")


def test_params_get_and_set_weights():
    model = residual_net()
    assert set(model.params) == {"conv1", "bn1", "shared", "side", "fc"}
    assert model.params["conv1"]["W"] is model.get_layer("conv1").params["W"]  # live
    weights = model.get_weights()
    assert set(weights["bn1"]) == {"gamma", "beta", "moving_mean", "moving_variance"}
    weights["conv1"]["W"][...] = 0  # a copy
    assert model.params["conv1"]["W"].any()
    new = np.full((3, 3, 2, 4), 0.5)
    model.set_weights({"conv1": {"W": new}, "bn1": {"moving_variance": np.full(4, 2.0)}})
    np.testing.assert_array_equal(model.params["conv1"]["W"], new)
    np.testing.assert_array_equal(model.get_weights("bn1")["moving_variance"], 2.0)
    model.set_weights({"b": np.ones(3)}, name="fc")
    np.testing.assert_array_equal(model.params["fc"]["b"], 1.0)


def test_set_weights_errors_change_nothing():
    model = residual_net()
    before = model.get_weights()
    with pytest.raises(
        ShapeError,
        match=re.escape("Model 'net': wrong shape for fc.W. Expected (54, 3), received (3, 54)."),
    ):
        model.set_weights({"conv1": {"b": np.zeros(4)}, "fc": {"W": np.zeros((3, 54))}})
    np.testing.assert_array_equal(model.params["conv1"]["b"], before["conv1"]["b"])
    with pytest.raises(
        UnknownNameError,
        match=re.escape(
            "Model 'net': layer 'fc' has no weight 'kernel'. Expected one of ['W', 'b']."
        ),
    ):
        model.set_weights({"kernel": np.zeros((54, 3))}, name="fc")
    with pytest.raises(
        UnknownNameError, match=re.escape("no layer named 'fc1'. Did you mean 'fc' or 'conv1'?")
    ):
        model.set_weights({"fc1": {"W": np.zeros((54, 3))}})


def test_sequential_three_ways():
    layers = lambda: [Conv2D(2, 3, name="c", seed=0), ReLU(name="r"), Flatten(name="f")]  # noqa: E731
    x = np.random.default_rng(13).standard_normal((2, 5, 5, 1)).astype(np.float32)
    a = Sequential([Input((5, 5, 1)), *layers()])
    b = Sequential(layers(), input_shape=(5, 5, 1))
    c = Sequential(layers())  # builds on the first forward
    with pytest.raises(RuntimeError, match="is not built yet"):
        c.summary()
    ya = a.forward(x)
    np.testing.assert_array_equal(b.forward(x), ya)
    np.testing.assert_array_equal(c.forward(x), ya)
    assert c.output_shape == (18,)
    d = Sequential(name="grown")
    d.add(Input((5, 5, 1)))
    for layer in layers():
        d.add(layer)
    np.testing.assert_array_equal(d.forward(x), ya)
    assert [n.key for n in d.nodes] == ["c", "r", "f"]


def test_multi_input_multi_output_model():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    s = Add(name="s")([a, b])
    model = Model([a, b], [Dense(2, name="d", seed=0)(s), s], name="mimo").astype(np.float64)
    rng = np.random.default_rng(14)
    xs = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    report = check_layer(model, xs, tol=MODEL_TOL, verbose=False)
    assert report.passed, str(report)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Model 'mimo': wrong number of output signals. Expected a list of 2 arrays (one per "
            "output: ['d', 's']), received one array."
        ),
    ):
        model.forward(xs)
        model.backward(np.ones((2, 2)))


def test_a_one_element_input_list_accepts_a_bare_array():
    """``Model(model.inputs, ...)`` passes a list of one input; one array still works."""
    inp = Input((3,), name="only")
    model = Model([inp], Dense(2, seed=0, name="d")(inp))
    x = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(model.forward(x), model.forward([x]))
