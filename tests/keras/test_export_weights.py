"""The Keras 3 ``.weights.h5`` writer: layout, contents, errors, and real Keras reading it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import optional_import
from export_utils import (
    assert_same_tree,
    functional_graph,
    h5_tree,
    randomize,
    sequential_all_layers,
)

import minidecnn as mdc
from minidecnn import layers as L
from minidecnn.errors import ModelFileError, UnsupportedLayerError
from minidecnn.keras import save_weights
from minidecnn.keras.layout import keras_layer_order, weight_slots


def known_graph():
    """The graph whose Keras 3.15 layout was observed by saving it with Keras itself:
    ``model.layers`` = x, shared, add, c0, inner, concatenate, conv2d_1, seqi."""
    ii = mdc.Input((6, 6, 2), name="ii")
    h = L.Conv2D(3, 3, name="ic")(ii)
    inner = mdc.Model(ii, L.BatchNormalization(name="ibn")(h), name="inner")
    seqi = mdc.Sequential(
        [
            mdc.Input((4, 4, 3)),
            L.Conv2D(2, 1, name="sc"),
            L.Flatten(name="sf"),
            L.Dense(2, name="sd"),
        ],
        name="seqi",
    )
    x = mdc.Input((6, 6, 2), name="x")
    shared = L.Conv2D(2, 1, padding="same", name="shared")
    a = shared(x)
    s = L.Add(name="add")([a, shared(a)])
    y = L.Concatenate(name="concatenate")([inner(s), inner(L.Conv2D(2, 1, name="c0")(x))])
    return mdc.Model(x, seqi(L.Conv2D(3, 1, name="conv2d_1")(y)), name="outer")


def test_functional_order_and_paths_match_what_keras_wrote():
    model = known_graph()
    order = [getattr(item, "name", None) for item in keras_layer_order(model)]
    assert order == ["x", "shared", "add", "c0", "inner", "concatenate", "conv2d_1", "seqi"]
    got = {s.path: (s.name, s.keys) for s in weight_slots(model)}
    expected = {  # from h5 dump of the same model saved by Keras 3.15.1
        "": ("outer", ()),
        "layers/input_layer": ("x", ()),
        "layers/conv2d": ("shared", ("W", "b")),
        "layers/add": ("add", ()),
        "layers/conv2d_1": ("c0", ("W", "b")),
        "layers/functional": ("inner", ()),
        "layers/functional/layers/input_layer": ("ii", ()),
        "layers/functional/layers/conv2d": ("ic", ("W", "b")),
        "layers/functional/layers/batch_normalization": (
            "ibn",
            ("gamma", "beta", "moving_mean", "moving_variance"),
        ),
        "layers/concatenate": ("concatenate", ()),
        "layers/conv2d_2": ("conv2d_1", ("W", "b")),
        "layers/sequential": ("seqi", ()),
        "layers/sequential/layers/conv2d": ("sc", ("W", "b")),
        "layers/sequential/layers/flatten": ("sf", ()),
        "layers/sequential/layers/dense": ("sd", ("W", "b")),
    }
    assert got == expected


def test_file_holds_every_array_at_its_path_in_keras_order(tmp_path):
    model = randomize(sequential_all_layers(), seed=1)
    path = tmp_path / "m.weights.h5"
    save_weights(model, path)
    layers = model.layers
    with h5py.File(path, "r") as f:
        assert f["vars"].attrs["name"] == "seq_all"
        assert sorted(f["layers"]) == sorted(
            s.path.split("/")[-1] for s in weight_slots(model)[1:]
        )
        bn = f["layers/batch_normalization/vars"]
        assert bn.attrs["name"] == layers[3].name
        for i, key in enumerate(["gamma", "beta", "moving_mean", "moving_variance"]):
            stored = layers[3].params.get(key, layers[3].buffers.get(key))
            np.testing.assert_array_equal(bn[str(i)][()], stored)
        plain_bn = f["layers/batch_normalization_1/vars"]  # center=False, scale=False
        assert sorted(plain_bn) == ["0", "1"]
        np.testing.assert_array_equal(plain_bn["1"][()], layers[13].buffers["moving_variance"])
        sep = f["layers/separable_conv2d/vars"]  # no bias: depthwise, pointwise only
        assert sorted(sep) == ["0", "1"]
        assert sep["0"].shape == (3, 2, 8, 1) and sep["1"].shape == (1, 1, 8, 5)
        assert sorted(f["layers/activation"]) == ["vars"]  # Tanh and Sigmoid: Activation
        assert f["layers/activation_1/vars"].attrs["name"] == layers[11].name
        assert f["layers/max_pooling2d/vars"].attrs["name"] == layers[9].name
        assert f["layers/dense/vars/0"].dtype == np.float32
        assert f["layers/dense/vars/0"].shape == (27, 6)


def test_float64_models_keep_their_precision(tmp_path):
    model = randomize(sequential_all_layers().astype(np.float64), seed=2)
    save_weights(model, tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        kernel = f["layers/dense/vars/0"][()]
    assert kernel.dtype == np.float64
    np.testing.assert_array_equal(kernel, model.layers[16].params["W"])


def test_model_method_and_existing_file_is_replaced(tmp_path):
    model = randomize(functional_graph(), seed=3)
    path = tmp_path / "ckpt.weights.h5"
    path.write_bytes(b"old contents")
    model.save_weights(str(path))
    assert sorted(h5_tree(path)) == sorted(h5_tree_of(model, tmp_path / "again.weights.h5"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def h5_tree_of(model, path):
    save_weights(model, path)
    return h5_tree(path)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("model.h5", "the file name must end with '.weights.h5'"),
        ("model.keras", "For a whole model with its architecture use .keras."),
        ("missing/model.weights.h5", "does not exist"),
    ],
)
def test_bad_paths_are_refused_before_writing(tmp_path, name, message):
    with pytest.raises(ModelFileError, match=message):
        save_weights(functional_graph(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_layers_and_models_are_refused(tmp_path):
    class Custom(L.ReLU):
        pass

    model = mdc.Sequential([mdc.Input((3,)), L.Dense(2), Custom(name="mine")])
    with pytest.raises(UnsupportedLayerError, match="layer 'mine' has class Custom"):
        save_weights(model, tmp_path / "m.weights.h5")
    with pytest.raises(TypeError, match="expected a minidecnn Model or Sequential"):
        save_weights(L.Dense(2), tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="is not built"):
        save_weights(mdc.Sequential([L.Dense(2)]), tmp_path / "m.weights.h5")
    slash = mdc.Sequential([mdc.Input((3,)), L.Dense(2, name="a/b")])
    with pytest.raises(UnsupportedLayerError, match="contains '/'"):
        save_weights(slash, tmp_path / "m.weights.h5")
    assert list(tmp_path.iterdir()) == []


def test_a_layer_shared_across_nested_models_is_refused(tmp_path):
    dense = L.Dense(3, name="d")
    i = mdc.Input((3,), name="i")
    inner = mdc.Model(i, dense(i), name="inner")
    x = mdc.Input((3,), name="x")
    model = mdc.Model(x, L.Add()([inner(x), dense(x)]), name="outer")
    with pytest.raises(UnsupportedLayerError, match="layer 'd' belongs to two models"):
        save_weights(model, tmp_path / "m.weights.h5")


def test_a_layer_repeated_in_a_sequential_is_refused(tmp_path):
    relu = L.ReLU()
    model = mdc.Sequential([mdc.Input((3,)), relu, relu])
    with pytest.raises(ValueError, match="contains the same layer twice"):
        save_weights(model, tmp_path / "m.weights.h5")


# ---------------------------------------------------------------- against real Keras


def keras_known_graph(keras):
    """``known_graph`` built directly in Keras (activations fused where Keras fuses)."""
    Lk = keras.layers
    ii = keras.Input((6, 6, 2), name="ii")
    inner = keras.Model(
        ii, Lk.BatchNormalization(name="ibn")(Lk.Conv2D(3, 3, name="ic")(ii)), name="inner"
    )
    seqi = keras.Sequential(
        [
            keras.Input((4, 4, 3)),
            Lk.Conv2D(2, 1, name="sc"),
            Lk.Flatten(name="sf"),
            Lk.Dense(2, name="sd"),
        ],
        name="seqi",
    )
    x = keras.Input((6, 6, 2), name="x")
    shared = Lk.Conv2D(2, 1, padding="same", name="shared")
    a = shared(x)
    s = Lk.Add(name="add")([a, shared(a)])
    y = Lk.Concatenate(name="concatenate")([inner(s), inner(Lk.Conv2D(2, 1, name="c0")(x))])
    return keras.Model(x, seqi(Lk.Conv2D(3, 1, name="conv2d_1")(y)), name="outer")


def test_keras_built_model_loads_our_file_and_writes_the_same_file(tmp_path):
    keras = optional_import("keras")
    model = randomize(known_graph(), seed=4)
    save_weights(model, tmp_path / "ours.weights.h5")
    km = keras_known_graph(keras)
    km.load_weights(tmp_path / "ours.weights.h5")
    x = np.random.default_rng(5).normal(size=(3, 6, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(km.predict(x, verbose=0), model.forward(x), rtol=1e-5, atol=1e-6)
    km.save_weights(tmp_path / "keras.weights.h5")
    assert_same_tree(h5_tree(tmp_path / "ours.weights.h5"), h5_tree(tmp_path / "keras.weights.h5"))


def random_dag(seed, framework):
    """A random graph of 1x1 convolutions, ReLUs and Adds, built in minidecnn or Keras."""
    rng = np.random.default_rng(seed)
    if framework == "keras":
        keras = framework_module = optional_import("keras")
        Lk = keras.layers
        make = {
            "input": lambda n: keras.Input((3, 3, 2), name=n),
            "conv": lambda n: Lk.Conv2D(2, 1, name=n),
            "relu": lambda n: Lk.ReLU(name=n),
            "add": lambda n: Lk.Add(name=n),
        }
    else:
        framework_module = mdc
        make = {
            "input": lambda n: mdc.Input((3, 3, 2), name=n),
            "conv": lambda n: L.Conv2D(2, 1, name=n),
            "relu": lambda n: L.ReLU(name=n),
            "add": lambda n: L.Add(name=n),
        }
    tensors = [make["input"]("in0"), make["input"]("in1")]
    shared = make["conv"]("shared")
    for k in range(12):
        kind = rng.choice(["conv", "relu", "add", "shared"])
        picks = rng.choice(len(tensors), size=2, replace=False)
        if kind == "add":
            t = make["add"](f"add{k}")([tensors[i] for i in picks])
        elif kind == "shared":
            t = shared(tensors[picks[0]])
        else:
            t = make[kind](f"{kind}{k}")(tensors[picks[0]])
        tensors.append(t)
    outputs = [tensors[-1], tensors[-3]]
    return framework_module.Model(tensors[:2], outputs, name="dag")


@pytest.mark.parametrize("seed", range(8))
def test_graph_order_matches_keras_on_random_graphs(seed):
    optional_import("keras")
    ours = [getattr(item, "name", None) for item in keras_layer_order(random_dag(seed, "mdc"))]
    theirs = [layer.name for layer in random_dag(seed, "keras").layers]
    assert ours == theirs
