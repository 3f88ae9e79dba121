"""The VGG16 release layout (Keras 1 names, written with h5py) and full-size VGG16 from Keras."""

import gc

import numpy as np
import pytest
from conftest import optional_import
from kerasrefs import assert_close, randomize, vgg_minidecnn, write_release_layout

import minidecnn as mdc

SMALL = {"blocks": [(4, 2), (6, 2), (8, 3)], "fc": 16, "classes": 10, "input_shape": (16, 16, 3)}


def _keras_vgg(keras, blocks, fc, classes, input_shape):
    L = keras.layers
    x = keras.Input(input_shape, name="input_1")
    h = x
    for b, (filters, convs) in enumerate(blocks, start=1):
        for c in range(1, convs + 1):
            h = L.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(
                h
            )
        h = L.MaxPooling2D(2, name=f"block{b}_pool")(h)
    h = L.Flatten(name="flatten")(h)
    h = L.Dense(fc, activation="relu", name="fc1")(h)
    h = L.Dense(fc, activation="relu", name="fc2")(h)
    y = L.Dense(classes, activation="softmax", name="predictions")(h)
    return keras.Model(x, y, name="vgg")


def _probe(keras, model, x):
    names = [layer.name for layer in model.layers[1:]]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    return dict(zip(names, (np.asarray(v) for v in probe.predict(x, verbose=0))))


@pytest.fixture(scope="module")
def release_file(tmp_path_factory):
    keras = optional_import("keras")
    model = _keras_vgg(keras, **SMALL)
    randomize(model, seed=16)
    x = np.random.default_rng(1).normal(size=(2, *SMALL["input_shape"])).astype("float32")
    path = tmp_path_factory.mktemp("vgg") / "vgglike_weights_tf_dim_ordering_tf_kernels.h5"
    named = [
        (layer.name, [np.asarray(w) for w in layer.get_weights()]) for layer in model.layers[1:]
    ]
    write_release_layout(path, named)
    check = _keras_vgg(keras, **SMALL)
    check.load_weights(path)  # Keras itself accepts the layout
    assert np.allclose(check.predict(x, verbose=0), model.predict(x, verbose=0))
    return {"path": path, "x": x, "layers": _probe(keras, model, x), "config": model.to_json()}


@pytest.mark.parametrize("by_name", [False, True])
def test_release_layout_into_a_minidecnn_vgg(release_file, by_name):
    model = vgg_minidecnn(**SMALL).load_weights(release_file["path"], by_name=by_name)
    model.forward(release_file["x"])
    for name, ref in release_file["layers"].items():
        node = {"predictions": "predictions_softmax", "fc1": "fc1_relu", "fc2": "fc2_relu"}.get(
            name, f"{name}_relu" if "conv" in name else name
        )
        assert_close(model.activations[node], ref, name)
    assert model.logits == "predictions"


def test_release_layout_with_a_keras_config(release_file):
    model = mdc.load_keras(release_file["path"], config=release_file["config"])
    model.forward(release_file["x"])
    for name, ref in release_file["layers"].items():
        assert_close(model.activations[model.keras_nodes[name]], ref, name)
    assert model.get_layer("block1_conv1").params["W"].shape == (3, 3, 3, 4)
    assert model.keras_nodes["block1_conv1"] == "block1_conv1_relu"


@pytest.mark.slow
def test_full_size_vgg16_from_keras(tmp_path):
    """keras.applications.VGG16(weights=None) with random weights: save, load, compare all
    23 layer outputs (Keras builds and saves 528 MB, we load and run it)."""
    keras = optional_import("keras")
    model = keras.applications.VGG16(weights=None)
    rng = np.random.default_rng(0)
    x = rng.uniform(-100, 100, size=(1, 224, 224, 3)).astype("float32")
    path = tmp_path / "vgg16.h5"
    model.save(path)
    ref = _probe(keras, model, x)
    del model
    gc.collect()
    ours = mdc.load_keras(path)
    ours.forward(x)
    for name, out in ref.items():
        assert_close(ours.activations[ours.keras_nodes[name]], out, name)
    assert ours.logits == "predictions"
