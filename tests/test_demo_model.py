"""The embedded demo model: shipped file, architecture, accuracy >= 95 %, retraining recipe."""

import os

import numpy as np
import pytest
from conftest import optional_import

from minidecnn.data import SHAPES_CLASSES
from minidecnn.demo_model import (
    DEMO_INPUT_SHAPE,
    build_demo_model,
    demo_data,
    demo_weights_path,
    load_demo_model,
    train_demo,
)
from minidecnn.errors import ModelFileError

LAYERS = [
    "rescaling",
    "conv1", "relu1", "pool1",
    "conv2", "relu2", "pool2",
    "conv3", "relu3", "pool3",
    "flatten", "fc1", "relu4", "fc2", "softmax",
]  # fmt: skip


def params(model):
    return [w for layer in model.leaf_layers() for w in layer.params.values()]


def test_shipped_file_is_small_keras_weights():
    path = demo_weights_path()
    assert path.is_file(), "the package must ship minidecnn/assets/demo_shapes.weights.h5"
    assert path.name.endswith(".weights.h5")
    assert path.stat().st_size <= 2 * 2**20
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"  # an HDF5 file, as Keras 3 writes


def test_architecture():
    model = build_demo_model()
    assert [layer.name for layer in model.layers] == LAYERS
    assert model.input_shape == DEMO_INPUT_SHAPE and model.logits == "fc2"
    assert model.get_layer("conv1").params["W"].shape == (5, 5, 3, 32)
    assert model.get_layer("pool3").output_shape == (4, 4, 64)


def test_embedded_model_accuracy_on_fresh_test_images():
    model = load_demo_model()
    assert model.class_names == SHAPES_CLASSES
    x, y, _ = demo_data(1000, "test")
    accuracy = (model.predict(x, batch_size=250).argmax(axis=1) == y).mean()
    assert accuracy >= 0.95
    # and its weights really are trained ones, not the initial ones
    assert not all(np.array_equal(a, b) for a, b in zip(params(model), params(build_demo_model())))


def test_splits_differ():
    a, b = demo_data(50, "train").x, demo_data(50, "test").x
    assert not any((a == img).all(axis=(1, 2, 3)).any() for img in b)
    with pytest.raises(ValueError, match=r"demo_data: unknown split 'valid'\. Expected one of"):
        demo_data(5, "valid")


def test_missing_weights_file(tmp_path):
    with pytest.raises(ModelFileError) as info:
        load_demo_model(tmp_path / "gone.weights.h5")
    assert "no weights file at" in str(info.value) and "minidecnn train-demo" in str(info.value)


def test_train_demo_is_seeded_and_writes_a_loadable_file(tmp_path):
    """A shortened recipe run twice gives bit-identical weights; the file and checkpoints load."""
    kwargs = {"n_train": 64, "epochs": 1, "n_val": 16, "n_test": 32, "verbose": 0}
    first = train_demo(tmp_path / "a.weights.h5", checkpoint_dir=tmp_path / "ckpt", **kwargs)
    second = train_demo(None, **kwargs)
    for a, b in zip(params(first.model), params(second.model)):
        np.testing.assert_array_equal(a, b)
    assert second.path is None and first.path == str(tmp_path / "a.weights.h5")
    assert 0 <= first.test_accuracy <= 1 and first.seconds > 0
    assert set(first.history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loaded = load_demo_model(first.path)
    for a, b in zip(params(loaded), params(first.model)):
        np.testing.assert_array_equal(a, b)
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch_00.weights.h5", "epoch_01.weights.h5"]


def test_train_demo_refuses_other_file_types(tmp_path):
    with pytest.raises(ValueError, match=r"Expected a file name ending in '\.weights\.h5'"):
        train_demo(tmp_path / "model.h5", n_train=10, epochs=1, verbose=0)


def test_shipped_file_loads_in_real_keras():
    """Real Keras 3 reads the shipped file into the same architecture and predicts the same."""
    keras = optional_import("keras")
    L = keras.layers
    ref = keras.Sequential(
        [
            keras.Input(DEMO_INPUT_SHAPE),
            L.Rescaling(2.0, -1.0),
            L.Conv2D(32, 5, padding="same"), L.ReLU(), L.MaxPooling2D(2),
            L.Conv2D(32, 3, padding="same"), L.ReLU(), L.MaxPooling2D(2),
            L.Conv2D(64, 3, padding="same"), L.ReLU(), L.MaxPooling2D(2),
            L.Flatten(), L.Dense(64), L.ReLU(), L.Dense(10), L.Softmax(),
        ]
    )  # fmt: skip
    ref.load_weights(str(demo_weights_path()))
    x = demo_data(16, "test").x
    np.testing.assert_allclose(np.asarray(ref(x)), load_demo_model().predict(x), atol=1e-5)
