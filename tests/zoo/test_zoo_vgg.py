"""VGG16/VGG19: Keras' names and sizes, loading weight files, and real Keras' VGG16."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import optional_import

from minidecnn import layers as L
from minidecnn.errors import ModelFileError
from minidecnn.zoo import vgg16, vgg19

VGG16_CONVS = [
    f"block{b}_conv{i}" for b, n in enumerate((2, 2, 3, 3, 3), start=1) for i in range(1, n + 1)
]


def test_vgg16_layer_names_follow_keras_plus_split_activations():
    model = vgg16(include_top=True, input_shape=(32, 32, 3), seed=0)
    names = [layer.name for layer in model.layers]
    expected = []
    for b, n in enumerate((2, 2, 3, 3, 3), start=1):
        for i in range(1, n + 1):
            expected += [f"block{b}_conv{i}", f"block{b}_conv{i}_relu"]
        expected.append(f"block{b}_pool")
    expected += ["flatten", "fc1", "fc1_relu", "fc2", "fc2_relu", "predictions"]
    expected.append("predictions_softmax")
    assert names == expected
    assert model.inputs[0].name == "input_layer"
    assert model.logits == "predictions"
    assert isinstance(model.get_layer("block5_conv3_relu"), L.ReLU)
    assert isinstance(model.get_layer("block5_conv3"), L.Conv2D)
    assert model.get_layer("fc1").params["W"].shape == (512, 4096)


def test_parameter_counts_match_keras_applications():
    assert vgg16().count_params() == 138_357_544
    assert vgg16(include_top=False).count_params() == 14_714_688
    assert vgg19(include_top=False).count_params() == 20_024_384
    assert vgg19(input_shape=(32, 32, 3)).count_params() == 143_667_240 - 24_576 * 4096


def test_heads_and_outputs():
    assert vgg16(include_top=False, input_shape=(64, 48, 3)).output_shape == (2, 1, 512)
    avg = vgg16(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    assert avg.layers[-1].name == "global_average_pooling2d" and avg.output_shape == (512,)
    mx = vgg19(include_top=False, input_shape=(32, 32, 1), pooling="max")
    assert mx.layers[-1].name == "global_max_pooling2d"
    logits = vgg16(input_shape=(32, 32, 3), classes=10, classifier_activation=None)
    assert logits.layers[-1].name == "predictions" and logits.output_shape == (10,)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
    probs = vgg16(input_shape=(32, 32, 3), classes=7, seed=3).forward(x)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_seed_reproduces_the_random_weights():
    a = vgg19(include_top=False, input_shape=(32, 32, 3), seed=5).get_weights()
    b = vgg19(include_top=False, input_shape=(32, 32, 3), seed=5).get_weights()
    c = vgg19(include_top=False, input_shape=(32, 32, 3), seed=6).get_weights()
    assert all(np.array_equal(a[k]["W"], b[k]["W"]) for k in a)
    assert not np.array_equal(a["block1_conv1"]["W"], c["block1_conv1"]["W"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"weights": "imagenet"}, ModelFileError, "never does.*_tf_kernels.h5"),
        ({"weights": 3}, TypeError, "weights must be None or a file path"),
        ({"input_shape": (16, 224, 3)}, ValueError, r"H, W >= 32.*received \(16, 224, 3\)"),
        ({"input_shape": (224, 224)}, ValueError, "invalid input_shape"),
        ({"pooling": "mean"}, ValueError, "Expected None, 'avg' or 'max', received 'mean'"),
        ({"classes": 0}, ValueError, "invalid classes"),
        ({"classifier_activation": "relu"}, ValueError, "Expected 'softmax' or None"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        vgg16(**kwargs)


def write_release_layout(path, model):
    """A weights file laid out like the published VGG files (Keras 1, TF backend):
    root attr ``layer_names``, datasets ``<layer>_W_1:0`` / ``<layer>_b_1:0``."""
    names = ["input_1"] + [layer.name for layer in model.layers]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            group = f.create_group(name)
            layer = None if name == "input_1" else model.get_layer(name)
            if layer is None or not layer.params:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
                continue
            wnames = [f"{name}_W_1:0", f"{name}_b_1:0"]
            group.attrs["weight_names"] = [w.encode() for w in wnames]
            group.create_dataset(wnames[0], data=layer.params["W"])
            group.create_dataset(wnames[1], data=layer.params["b"])


def test_weights_path_loads_the_release_layout(tmp_path):
    source = vgg16(include_top=False, input_shape=(32, 32, 3), seed=7)
    for leaf in source.leaf_layers():
        if leaf.params:
            leaf.params["b"][:] = np.random.default_rng(8).normal(size=leaf.params["b"].shape)
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    write_release_layout(path, source)
    model = vgg16(weights=path, include_top=False, input_shape=(32, 32, 3), seed=9)
    for name in VGG16_CONVS:
        for key in ("W", "b"):
            np.testing.assert_array_equal(
                model.get_layer(name).params[key], source.get_layer(name).params[key]
            )
    with pytest.raises(ModelFileError, match="This is a '_notop' file: build the model with"):
        vgg16(weights=path, include_top=True, input_shape=(32, 32, 3))


def test_weights_path_loads_a_keras3_checkpoint(tmp_path):
    source = vgg19(include_top=False, input_shape=(32, 32, 3), pooling="avg", seed=10)
    source.save_weights(tmp_path / "vgg19.weights.h5")
    model = vgg19(tmp_path / "vgg19.weights.h5", include_top=False, input_shape=(40, 32, 3))
    a, b = source.get_weights(), model.get_weights()
    assert all(np.array_equal(a[k]["W"], b[k]["W"]) for k in a)
    with pytest.raises(
        ModelFileError,
        match=r"no group 'layers/dense' for layer 'fc1'.*needs fc1, fc2 and predictions",
    ):
        vgg19(tmp_path / "vgg19.weights.h5", include_top=True, input_shape=(32, 32, 3))


def test_a_top_file_for_a_model_without_top_gets_a_hint(tmp_path):
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    write_release_layout(path, vgg16(input_shape=(32, 32, 3), classes=2, seed=15))
    with pytest.raises(ModelFileError, match="With include_top=False use 'vgg16_weights_tf_dim"):
        vgg16(weights=path, include_top=False, input_shape=(32, 32, 3))


@pytest.mark.slow  # ~25 s on a cold JAX backend (Keras compiles VGG19's ops on first use)
def test_vgg19_predicts_like_keras_after_copying_weights(tmp_path):
    keras = optional_import("keras")
    ours = vgg19(input_shape=(32, 32, 3), classes=5, seed=11)
    theirs = keras.applications.VGG19(weights=None, input_shape=(32, 32, 3), classes=5)
    ours.save_weights(tmp_path / "vgg19.weights.h5")
    theirs.load_weights(tmp_path / "vgg19.weights.h5")
    x = np.random.default_rng(12).uniform(-120, 120, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(ours.forward(x), np.asarray(theirs(x)), rtol=1e-5, atol=1e-7)
    # and back: a .weights.h5 written by Keras loads through vgg19(weights=...)
    theirs.set_weights([np.roll(w, 1, axis=-1) for w in theirs.get_weights()])  # new weights
    theirs.save_weights(tmp_path / "keras_vgg19.weights.h5")
    back = vgg19(tmp_path / "keras_vgg19.weights.h5", input_shape=(32, 32, 3), classes=5)
    np.testing.assert_allclose(back.forward(x), np.asarray(theirs(x)), rtol=1e-5, atol=1e-7)


@pytest.mark.slow  # ~1 min: builds full-size VGG16 in Keras and in minidecnn (2 x 553 MB)
def test_full_vgg16_matches_keras_applications(tmp_path):
    keras = optional_import("keras")
    theirs = keras.applications.VGG16(weights=None, classifier_activation=None)
    ours = vgg16(seed=13)
    assert ours.count_params() == theirs.count_params() == 138_357_544
    for layer in theirs.layers[1:]:
        mine = ours.get_layer(layer.name)
        assert mine.output_shape == tuple(layer.output.shape[1:]), layer.name
        assert [w.shape for w in layer.weights] == [
            mine.params[k].shape for k in ("W", "b") if k in mine.params
        ]
    ours.save_weights(tmp_path / "vgg16.weights.h5")
    theirs.load_weights(tmp_path / "vgg16.weights.h5")
    x = np.random.default_rng(14).uniform(-120, 120, (1, 224, 224, 3)).astype(np.float32)
    probs = ours.forward(x)
    logits = np.asarray(theirs(x))
    np.testing.assert_allclose(ours.activations["predictions"], logits, rtol=1e-4, atol=1e-5)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-8)
