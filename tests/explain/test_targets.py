"""Targets: classes, probabilities, channels, units, masks, callables -- and the errors."""

import numpy as np
import pytest
from explain_nets import images, reference_net

import minidecnn as mdc
from minidecnn import explain
from minidecnn.errors import NotFiniteError, ShapeError, TargetError
from minidecnn.layers import Add, Conv2D, Dense, Flatten, ReLU


@pytest.fixture(scope="module")
def net():
    return reference_net(seed=120)


@pytest.fixture(scope="module")
def x():
    return images(3, seed=121)


# ---------------------------------------------------------------------- classes


def test_none_is_the_predicted_class_of_each_image(net, x):
    g = explain.gradient(net, x)
    predicted = net.forward(x).argmax(axis=1)
    assert g.info["target"]["classes"] == predicted.tolist()
    assert g.info["target"]["predicted"] is True
    np.testing.assert_array_equal(g, explain.gradient(net, x, target=list(predicted)))


def test_one_class_per_image_accepts_lists_tuples_and_int_arrays(net, x):
    a = explain.gradient(net, x, target=[1, 2, 3])
    b = explain.gradient(net, x, target=(1, 2, 3))
    c = explain.gradient(net, x, target=np.array([1, 2, 3]))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert a.info["target"]["classes"] == [1, 2, 3] and not a.info["target"]["predicted"]


def test_a_float_array_weights_the_logits(net, x):
    T = np.array([0.5, -2.0] + [0.0] * 8)
    weighted = explain.gradient(net, x, target=T)
    parts = 0.5 * explain.gradient(net, x, target=0) - 2.0 * explain.gradient(net, x, target=1)
    np.testing.assert_allclose(weighted, parts, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            10,
            r"class 10 is out of range\. Expected an int in \[0, 9\] \(the output of 'fc2' "
            r"has 10 entries\), received target=10\.",
        ),
        (-1, r"class -1 is out of range\. Expected an int in \[0, 9\]"),
        (
            [1, 2],
            r"one class per image is needed\. Expected 3 classes \(the batch has 3 "
            r"images\), received 2: \[1, 2\]\.",
        ),
        ([1, 2, 12], r"class 12 is out of range"),
        (True, r"invalid target\. Expected None, an int class or one int per image"),
        ("cat", r"invalid target\. .* received str 'cat'\."),
        (np.zeros(7), r"the mask has the wrong shape\. Expected \(10,\) .* received \(7,\)\."),
    ],
)
def test_bad_class_targets(net, x, target, message):
    with pytest.raises(TargetError, match=message):
        explain.gradient(net, x, target=target)


def test_probability_is_for_class_targets_only(net, x):
    with pytest.raises(TargetError, match=r"cannot be combined with layer='relu2'"):
        explain.gradient(net, x, target=1, layer="relu2", probability=True)
    with pytest.raises(TargetError, match=r"With probability=True only class targets apply\."):
        explain.gradient(net, x, target=np.ones(10), probability=True)


def test_a_model_with_several_outputs_needs_a_layer():
    inp = mdc.Input((4,))
    h = ReLU(name="h")(Dense(3, name="d")(inp))
    model = mdc.Model(inp, [Dense(2, name="o1")(h), Dense(2, name="o2")(h)])
    xv = np.ones((1, 4), np.float32)
    with pytest.raises(TargetError, match=r"the model has 2 outputs.*Pass layer="):
        explain.gradient(model, xv, target=0)
    assert explain.gradient(model, xv, target=(1,), layer="o2").shape == (1, 4)


# ---------------------------------------------------------------------- layers


def test_channel_target_keeps_the_strongest_activation_with_its_value(net, x):
    g = explain.gradient(net, x, target=4, layer="relu1")
    net.forward(x)
    a = net.activations["relu1"]
    mask = np.zeros_like(a)
    for n in range(3):
        h, w = np.unravel_index(a[n, :, :, 4].argmax(), a.shape[1:3])
        assert g.info["target"]["positions"][n] == (h, w, 4)
        assert g.info["target"]["values"][n] == a[n, h, w, 4]
        mask[n, h, w, 4] = a[n, h, w, 4]
    np.testing.assert_array_equal(g, explain.gradient(net, x, target=mask, layer="relu1"))
    assert "Zeiler & Fergus" in g.info["target"]["explains"]


def test_one_channel_per_image(net, x):
    g = explain.deconvnet(net, x, target=[0, 3, 7], layer="relu2")
    assert g.info["target"]["channels"] == [0, 3, 7]
    for n, c in enumerate([0, 3, 7]):
        alone = explain.deconvnet(net, x[n : n + 1], target=c, layer="relu2")
        np.testing.assert_allclose(g[n], alone[0], rtol=1e-12, atol=1e-15)


def test_unit_target_is_the_derivative_of_one_unit(net, x):
    g = explain.gradient(net, x, target=(2, 3, 5), layer="conv2")
    mask = np.zeros((4, 4, 8))
    mask[2, 3, 5] = 1.0
    np.testing.assert_array_equal(g, explain.gradient(net, x, target=mask, layer="conv2"))
    dense = explain.gradient(net, x, target=(7,), layer="fc1")
    assert dense.info["target"]["positions"][0] == (7,)


def test_layer_without_target_takes_the_strongest_activation_of_the_layer(net, x):
    g = explain.guided_backprop(net, x, layer="pool2")
    net.forward(x)
    a = net.activations["pool2"]
    for n in range(3):
        pos = np.unravel_index(a[n].argmax(), a.shape[1:])
        assert g.info["target"]["positions"][n] == tuple(int(i) for i in pos)


def test_masks_per_layer_or_per_image(net, x):
    rng = np.random.default_rng(122)
    one = rng.standard_normal((12, 12, 8))
    a = explain.guided_backprop(net, x, target=one, layer="relu1")
    b = explain.guided_backprop(net, x, target=np.stack([one] * 3), layer="relu1")
    np.testing.assert_array_equal(a, b)
    bool_mask = one > 1
    c = explain.guided_backprop(net, x, target=bool_mask, layer="relu1")
    d = explain.guided_backprop(net, x, target=bool_mask.astype(float), layer="relu1")
    np.testing.assert_array_equal(c, d)


def test_callable_target_gets_the_layer_output(net, x):
    seen = []

    def top(a):
        seen.append(a.shape)
        return a * (a > 0.5)

    g = explain.gradient(net, x, target=top, layer="relu2")
    net.forward(x)
    a = net.activations["relu2"]
    np.testing.assert_array_equal(g, explain.gradient(net, x, target=a * (a > 0.5), layer="relu2"))
    assert seen == [(3, 4, 4, 8)]
    assert g.info["target"]["function"] == "top"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"target": 8, "layer": "relu1"},
            TargetError,
            r"channel 8 is out of range\. Expected an int in \[0, 7\] \(8 channels at 'relu1'\)",
        ),
        (
            {"target": [1, 2], "layer": "relu1"},
            TargetError,
            r"one channel per image is needed\. Expected 3 channels",
        ),
        (
            {"target": (1, 2), "layer": "relu1"},
            TargetError,
            r"a unit needs 3 indices for the output of 'relu1' \(shape \(12, 12, 8\)\)",
        ),
        (
            {"target": (1, 12, 0), "layer": "relu1"},
            TargetError,
            r"unit index 12 \(axis 1\) is out of range",
        ),
        (
            {"target": np.zeros((6, 6, 8)), "layer": "relu1"},
            TargetError,
            r"Expected \(12, 12, 8\) \(one mask for every image\) or \(3, 12, 12, 8\) \(one per "
            r"image\), the output shape of 'relu1', received \(6, 6, 8\)\. Start from "
            r"np\.zeros_like\(model\.activations\['relu1'\]\[0\]\)\.",
        ),
        (
            {"target": np.full((12, 12, 8), np.nan), "layer": "relu1"},
            TargetError,
            r"the mask contains NaN or infinite values",
        ),
        (
            {"target": lambda a: a[:, 0], "layer": "relu1"},
            TargetError,
            r"the target function returned the wrong top signal",
        ),
        (
            {"target": 1, "layer": "relu_2"},
            TargetError,
            r"unknown layer 'relu_2'\. Did you mean 'relu2'.*Expected the name of a layer",
        ),
        ({"target": 1, "layer": 3}, TargetError, r"invalid layer\. Expected a layer name"),
    ],
)
def test_bad_layer_targets(net, x, kwargs, error, message):
    with pytest.raises(error, match=message):
        explain.gradient(net, x, **kwargs)


def test_layers_of_nested_models_are_refused_with_a_way_out():
    inner = mdc.Sequential(
        [mdc.Input((6, 6, 1)), Conv2D(2, 3, name="inner_conv"), ReLU(name="inner_relu")],
        name="inner",
    )
    inp = mdc.Input((6, 6, 1))
    outer = mdc.Model(inp, Dense(3, name="head")(Flatten(name="flat")(inner(inp))))
    xv = np.ones((1, 6, 6, 1), np.float32)
    with pytest.raises(TargetError, match=r"'inner_relu' is inside the nested model 'inner'"):
        explain.gradient(outer, xv, target=0, layer="inner_relu")
    assert explain.gradient(outer, xv, target=0).shape == xv.shape


def test_functional_model_with_a_residual_add():
    inp = mdc.Input((8, 8, 2))
    h = ReLU(name="r1")(Conv2D(3, 3, padding="same", name="c1")(inp))
    y = Add(name="add")([h, Conv2D(3, 1, name="skip")(inp)])
    model = mdc.Model(inp, Dense(4, name="out")(Flatten()(ReLU(name="r2")(y))))
    xv = np.random.default_rng(123).standard_normal((2, 8, 8, 2)).astype(np.float32)
    maps = explain.guided_backprop(model, xv, target=1, layer="add")
    assert maps.shape == xv.shape and np.abs(maps).max() > 0


# ---------------------------------------------------------------------- parameters and inputs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda m, v: explain.smoothgrad(m, v, noise_level=-0.1),
            r"explain\.smoothgrad: invalid noise_level\. Expected a finite number >= 0\.0, "
            r"received noise_level=-0\.1\.",
        ),
        (lambda m, v: explain.smoothgrad(m, v, noise_level=float("nan")), r"invalid noise_level"),
        (
            lambda m, v: explain.smoothgrad(m, v, n_samples=0),
            r"invalid n_samples\. Expected an int >= 1, received n_samples=0\.",
        ),
        (
            lambda m, v: explain.smoothgrad(m, v, variant="vargard"),
            r"unknown variant 'vargard'\. Did you mean 'vargrad'\? Expected one of "
            r"\('mean', 'squared', 'vargrad'\)",
        ),
        (
            lambda m, v: explain.smoothgrad(m, v, base="guided_backpro"),
            r"unknown base 'guided_backpro'\. Did you mean 'guided_backprop'",
        ),
        (lambda m, v: explain.smoothgrad(m, v, sigma=-1.0), r"invalid sigma\. Expected a finite"),
        (lambda m, v: explain.smoothgrad(m, v, seed=-3), r"invalid seed"),
        (lambda m, v: explain.smoothgrad(m, v, batch_size=0), r"invalid batch_size"),
        (
            lambda m, v: explain.smoothgrad(m, v, steps=10),
            r"steps and baseline belong to Integrated Gradients",
        ),
        (
            lambda m, v: explain.integrated_gradients(m, v, steps=0),
            r"invalid steps\. Expected an int >= 1, received steps=0\.",
        ),
        (
            lambda m, v: explain.integrated_gradients(m, v, baseline=np.zeros((5, 5))),
            r"the baseline does not fit the input\. Expected a number or an array broadcastable "
            r"to \(3, 16, 16, 3\)",
        ),
    ],
)
def test_bad_parameters(net, x, call, message):
    with pytest.raises(TargetError, match=message):
        call(net, x)


def test_bad_inputs_get_the_engine_messages(net, x):
    bad = x.copy()
    bad[0, 1, 2, 0] = np.nan
    with pytest.raises(NotFiniteError, match=r"explain\.gradient: the input contains 1 NaN"):
        explain.gradient(net, bad)
    with pytest.raises(ShapeError, match=r"channels-first"):
        explain.gradient(net, x.transpose(0, 3, 1, 2))
    with pytest.raises(ShapeError, match=r"pass x\[None\]"):
        explain.gradient(net, x[0])
    with pytest.raises(TypeError, match=r"expected a minidecnn Model"):
        explain.gradient(Dense(3), x)
