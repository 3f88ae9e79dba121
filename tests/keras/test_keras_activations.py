"""The activations beyond relu/sigmoid/tanh/softmax: Keras dialects, refusals, save_keras.

Loading and matching every layer output of the ``acts`` reference model (every file
family, Keras 3 and tf.keras) is in test_load_keras_models.py; this file checks what
that cannot: that ``hard_sigmoid`` follows the Keras that wrote the file (the
reference outputs of the two producers really differ), the refusals, and that
``save_keras`` writes these layers so that real Keras 3 predicts the same.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import optional_import
from kerasrefs import keras_files  # noqa: F401

import minidecnn as mdc
from minidecnn import layers as L
from minidecnn.errors import UnsupportedLayerError
from minidecnn.keras.config import LayerSpec, written_by_keras3
from minidecnn.keras.convert import Context, convert_layer


@pytest.mark.parametrize(("producer", "slope"), [("k3", 1 / 6), ("tfk", 0.2)])
@pytest.mark.parametrize("kind", ["legacy_h5", "keras"])
def test_hard_sigmoid_follows_the_keras_that_wrote_the_file(
    keras_files,  # noqa: F811
    producer,
    slope,
    kind,
):
    fx = keras_files("acts", producer)
    model = mdc.load_keras(fx["paths"][kind])
    layer = model.get_layer("hard_sigmoid")
    assert isinstance(layer, L.HardSigmoid)
    assert layer.slope == pytest.approx(slope) and layer.offset == 0.5
    # the two formulas give different numbers on this input, so matching Keras' output
    # (test_load_keras_models) really tests the choice
    z, ref = fx["layers"]["wide"], fx["layers"]["hard_sigmoid"]
    other = 0.2 if slope != 0.2 else 1 / 6
    assert np.abs(np.clip(other * z + 0.5, 0, 1) - ref).max() > 0.05
    np.testing.assert_allclose(np.clip(slope * z + 0.5, 0, 1), ref, atol=1e-6)
    # both flat parts and the slope are reached
    assert (ref == 0).any() and (ref == 1).any() and ((ref > 0) & (ref < 1)).any()


def test_relu_max_value_is_reached_in_the_reference(keras_files):  # noqa: F811
    fx = keras_files("acts", "k3")
    model = mdc.load_keras(fx["paths"]["keras"])
    assert model.get_layer("capped").max_value == 1.5
    assert model.get_layer("relu6").max_value == 6.0
    assert (fx["layers"]["capped"] == 1.5).any() and (fx["layers"]["relu6"] == 6).any()
    assert model.get_layer("elu_layer").alpha == 0.5
    assert model.get_layer("leaky_relu").negative_slope == pytest.approx(0.2)
    assert (
        isinstance(model.get_layer("c_gelu"), L.GELU) and not model.get_layer("c_gelu").approximate
    )


def test_dialect_evidence():
    k3_input = {"class_name": "InputLayer", "config": {"batch_shape": [None, 2]}}
    k2_input = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2]}}
    dense = {"class_name": "Dense", "config": {"units": 2}}
    assert written_by_keras3({"config": {"layers": [k3_input, dense]}}, "2.15.0") is True
    assert written_by_keras3({"config": {"layers": [k2_input, dense]}}, "3.5.0") is False
    assert written_by_keras3(dense, "3.5.0") is True
    assert written_by_keras3(dense, "1.2.2") is False
    assert written_by_keras3(dense, None) is None
    assert written_by_keras3([{"inbound_nodes": [[["x", 0, 0, {}]]]}], None) is False
    assert written_by_keras3([{"inbound_nodes": [{"args": [], "kwargs": {}}]}], None) is True


def _convert(cls, config, keras3=True):
    ctx = Context(where="load_keras('m.h5')", keras3=keras3)
    return convert_layer(LayerSpec(cls, "a", config), ctx, rank=4).layers


def test_hard_sigmoid_of_unknown_dialect_is_refused():
    with pytest.raises(
        UnsupportedLayerError,
        match=re.escape(
            "load_keras('m.h5'): layer 'a' of class 'Activation' uses "
            "activation='hard_sigmoid' in a configuration whose Keras version is unknown, "
            "which minidecnn does not support (Keras 3 computes relu6(x + 3) / 6, Keras 1/2 "
            "and tf.keras clip(0.2 x + 0.5, 0, 1)"
        ),
    ):
        _convert("Activation", {"activation": "hard_sigmoid"}, keras3=None)
    (layer,) = _convert("Activation", {"activation": "hard_sigmoid"}, keras3=False)
    assert layer.slope == 0.2


def test_fused_and_layer_activations_are_converted():
    conv, act = _convert("Conv2D", {"filters": 2, "kernel_size": 3, "activation": "swish"})
    assert isinstance(act, L.Swish) and act.name == "a_swish"
    (relu6,) = _convert("Activation", {"activation": "relu6"})
    assert relu6.max_value == 6.0
    (elu,) = _convert("ELU", {"alpha": 0.7})
    assert isinstance(elu, L.ELU) and elu.alpha == 0.7
    (capped,) = _convert("ReLU", {"max_value": 2.0, "negative_slope": 0.0, "threshold": 0.0})
    assert capped.max_value == 2.0
    # Keras 3 serialises a built-in activation of a layer config as an object too
    obj = {"module": "keras.activations", "class_name": "function", "config": "gelu"}
    (gelu,) = _convert("Activation", {"activation": obj})
    assert isinstance(gelu, L.GELU) and not gelu.approximate


@pytest.mark.parametrize(
    ("cls", "config", "what"),
    [
        ("ReLU", {"max_value": 6.0, "negative_slope": 0.1}, "negative_slope=0.1 together with"),
        ("ReLU", {"max_value": -1.0}, "max_value=-1.0"),
        ("ReLU", {"threshold": 0.5}, "threshold=0.5"),
        ("Activation", {"activation": "mish"}, "activation='mish'"),
        ("ELU", {"alpha": 1.0, "beta": 2}, "the option beta=2"),
    ],
)
def test_refusals_name_the_option(cls, config, what):
    with pytest.raises(UnsupportedLayerError, match=re.escape(f"of class {cls!r} uses {what}")):
        _convert(cls, config)


def every_new_activation():
    """A minidecnn model with every new activation, on a map scaled so all kinks are hit."""
    x = mdc.Input((5, 4, 2), name="x")
    z = L.Rescaling(3.0, name="wide")(L.Conv2D(3, 3, padding="same", name="c")(x))
    layers = [
        L.ELU(0.5, name="elu"),
        L.SELU(name="selu"),
        L.GELU(name="gelu"),
        L.Swish(name="swish"),
        L.Softplus(name="softplus"),
        L.Softsign(name="softsign"),
        L.HardSigmoid(name="hard_sigmoid"),
        L.HardSiLU(name="hard_silu"),
        L.Exponential(name="exponential"),
        L.ReLU(max_value=1.5, name="capped"),
    ]
    y = L.Concatenate(name="cat")([layer(z) for layer in layers])
    y = L.Dense(3, name="out")(L.GlobalAvgPool2D(name="gap")(y))
    model = mdc.Model(x, y, name="acts")
    rng = np.random.default_rng(3)
    for leaf in model.leaf_layers():
        for value in leaf.params.values():
            value[...] = rng.normal(0.0, 0.4, value.shape)
    return model


def test_save_keras_round_trip(tmp_path):
    keras = optional_import("keras")
    model = every_new_activation()
    path = tmp_path / "acts.keras"
    mdc.save_keras(model, path)
    x = np.random.default_rng(0).normal(size=(2, 5, 4, 2)).astype(np.float32)
    ours = model.forward(x)
    km = keras.saving.load_model(path)
    theirs = np.asarray(km(x, training=False))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())
    probe = keras.Model(km.inputs, [km.get_layer(layer.name).output for layer in model.layers])
    for layer, ref in zip(model.layers, probe(x, training=False)):
        ref = np.asarray(ref)
        np.testing.assert_allclose(
            model.activations[layer.name], ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max(),
            err_msg=layer.name,
        )  # fmt: skip
    back = mdc.load_keras(path)
    assert [type(a) for a in back.layers] == [type(a) for a in model.layers]
    np.testing.assert_array_equal(back.forward(x), ours)


@pytest.mark.parametrize(
    ("layer", "what"),
    [
        (L.GELU(approximate=True, name="g"), "GELU(approximate=True)"),
        (L.HardSigmoid(slope=0.2, name="g"), "HardSigmoid(slope=0.2, offset=0.5)"),
    ],
)
def test_save_keras_refuses_what_keras3_cannot_store(tmp_path, layer, what):
    model = mdc.Sequential([mdc.Input((3,)), layer])
    with pytest.raises(
        UnsupportedLayerError,
        match=re.escape(
            f"Keras export: layer 'g' is a {what}, which Keras 3 has no activation for"
        ),
    ):
        mdc.save_keras(model, tmp_path / "m.keras")
