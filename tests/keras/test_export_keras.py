"""``save_keras``: ``.keras`` archives that real Keras 3 loads and that predict the same."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import optional_import
from export_utils import (
    assert_same_tree,
    functional_graph,
    h5_tree,
    nested_model,
    randomize,
    sequential_all_layers,
)

import minidecnn as mdc
from minidecnn import layers as L
from minidecnn.errors import ModelFileError, UnsupportedLayerError
from minidecnn.keras.export_config import model_config

BUILDERS = {
    "sequential": sequential_all_layers,
    "functional": functional_graph,
    "nested": nested_model,
}


def inputs_for(model, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(3, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    return xs if len(xs) > 1 else xs[0]


def as_list(y):
    return list(y) if isinstance(y, list | tuple) else [y]


def keras_predict(km, x):
    """Keras' output for ``x``, run eagerly (much faster than compiling ``predict``)."""
    y = km(x, training=False)
    return [np.asarray(t) for t in y] if isinstance(y, list | tuple) else np.asarray(y)


def assert_close(ours, theirs):
    for a, b in zip(as_list(ours), as_list(theirs), strict=True):
        b = np.asarray(b)
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(np.abs(b).max()))


@pytest.fixture(scope="module")
def sequential_in_keras(tmp_path_factory):
    """The all-layers Sequential, saved once and loaded by Keras (loading costs seconds)."""
    keras = optional_import("keras")
    model = randomize(sequential_all_layers(), seed=12)
    path = tmp_path_factory.mktemp("seq") / "m.keras"
    model.save(path)
    return model, keras.saving.load_model(path)


@pytest.mark.slow  # ~15 s on the JAX backend: Keras compiles every op type on first use
@pytest.mark.parametrize("kind", BUILDERS)
def test_keras_loads_the_archive_and_predicts_the_same(tmp_path, kind):
    keras = optional_import("keras")
    model = randomize(BUILDERS[kind](), seed=10)
    model.save(tmp_path / "m.keras")
    km = keras.saving.load_model(tmp_path / "m.keras")
    x = inputs_for(model, seed=11)
    assert_close(model.forward(x), keras_predict(km, x))
    # The weights Keras holds are ours, in a file Keras writes exactly like ours.
    km.save_weights(tmp_path / "keras.weights.h5")
    mdc.keras.save_weights(model, tmp_path / "ours.weights.h5")
    assert_same_tree(h5_tree(tmp_path / "ours.weights.h5"), h5_tree(tmp_path / "keras.weights.h5"))


def test_every_intermediate_output_matches(sequential_in_keras):
    keras = optional_import("keras")
    model, km = sequential_in_keras
    probe = keras.Model(km.inputs, [layer.output for layer in km.layers])
    x = inputs_for(model, seed=13)
    model.forward(x)
    for layer, theirs in zip(model.layers, keras_predict(probe, x), strict=True):
        assert_close(model.activations[layer.name], theirs)


def test_keras_config_holds_our_arguments(sequential_in_keras):
    """Every argument we write is one Keras knows, and Keras reads back the same value."""
    model, km = sequential_in_keras
    ours = model_config(model)["config"]["layers"][1:]
    for entry, layer in zip(ours, km.layers, strict=True):
        assert type(layer).__name__ == entry["class_name"]
        theirs = json.loads(json.dumps(layer.get_config()))
        for key, value in entry["config"].items():
            if key != "dtype":
                assert theirs[key] == value, (layer.name, key)


def test_weights_only_file_loads_into_the_keras_model(tmp_path):
    keras = optional_import("keras")
    model = randomize(functional_graph(), seed=14)
    mdc.save_keras(model, tmp_path / "m.keras")
    km = keras.saving.load_model(tmp_path / "m.keras")
    randomize(model, seed=15)  # "train" on: new weights, same architecture
    mdc.save_keras(model, tmp_path / "epoch2.weights.h5")
    km.load_weights(tmp_path / "epoch2.weights.h5")
    x = inputs_for(model, seed=16)
    assert_close(model.forward(x), keras_predict(km, x))


def test_float64_model_loads_in_keras(tmp_path):
    keras = optional_import("keras")
    model = randomize(nested_model(), seed=17).astype(np.float64)
    model.save(tmp_path / "m.keras")
    km = keras.saving.load_model(tmp_path / "m.keras")
    x = inputs_for(model, seed=18)
    assert_close(model.forward(x.astype(np.float64)), keras_predict(km, x))


def test_archive_members_and_metadata(tmp_path):
    model = functional_graph()
    mdc.save_keras(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
    assert metadata["keras_version"].startswith("3.")
    assert config["class_name"] == "Functional" and config["compile_config"] is None
    assert config["config"]["input_layers"] == [["img", 0, 0], ["aux", 0, 0]]
    assert config["config"]["output_layers"] == [["probs", 0, 0], ["score", 0, 0]]
    add = next(e for e in config["config"]["layers"] if e["name"] == "add")
    history = [t["config"]["keras_history"] for t in add["inbound_nodes"][0]["args"][0]]
    assert history == [["a_relu", 0, 0], ["shared", 1, 0], ["skip", 0, 0]]


def test_nested_functional_outputs_count_its_construction_node():
    ii = mdc.Input((3,), name="ii")
    inner = mdc.Model(ii, L.Dense(2, name="d")(ii), name="inner")
    x = mdc.Input((3,), name="x")
    first = inner(x)
    model = mdc.Model(x, [first, inner(L.Dense(3, name="e")(x))], name="outer")
    config = model_config(model)["config"]
    assert config["output_layers"] == [["inner", 1, 0], ["inner", 2, 0]]
    entry = next(e for e in config["layers"] if e["name"] == "inner")
    assert [c["args"][0]["config"]["keras_history"] for c in entry["inbound_nodes"]] == [
        ["x", 0, 0],
        ["e", 0, 0],
    ]


def test_nested_model_called_twice_as_output_loads_in_keras(tmp_path):
    keras = optional_import("keras")
    ii = mdc.Input((3,), name="ii")
    inner = mdc.Model(ii, L.Dense(2, name="d")(ii), name="inner")
    seq = mdc.Sequential([mdc.Input((3,)), L.Dense(2, name="s")], name="seq")
    x = mdc.Input((3,), name="x")
    e = L.Dense(3, name="e")(x)
    model = mdc.Model(x, [inner(x), inner(e), seq(x), seq(e)], name="outer")
    randomize(model, seed=19)
    model.save(tmp_path / "m.keras")
    km = keras.saving.load_model(tmp_path / "m.keras")
    x = inputs_for(model, seed=20)
    assert_close(model.forward(x), keras_predict(km, x))


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("m.h5", ModelFileError, "the file name must end with '.keras'"),
        ("no/m.keras", ModelFileError, "does not exist"),
    ],
)
def test_bad_paths(tmp_path, name, error, message):
    with pytest.raises(error, match=message):
        mdc.save_keras(functional_graph(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_what_keras_cannot_represent_is_refused(tmp_path):
    i = mdc.Input((3,), name="i")
    two_heads = mdc.Model(i, [L.Dense(2)(i), L.Dense(2)(i)], name="two_heads")
    x = mdc.Input((3,), name="x")
    outer = mdc.Model(x, two_heads(x), name="outer")  # minidecnn calls it as one layer
    with pytest.raises(UnsupportedLayerError, match="nested model 'two_heads' has 2 outputs"):
        mdc.save_keras(outer, tmp_path / "m.keras")
    grid = mdc.Sequential([mdc.Input((2, 2, 1)), L.Rescaling(np.ones((2, 1, 1)), name="r")])
    with pytest.raises(
        UnsupportedLayerError, match=r"Rescaling 'r' has a scale of shape \(2, 1, 1\)"
    ):
        mdc.save_keras(grid, tmp_path / "m.keras")
    assert list(tmp_path.iterdir()) == []
