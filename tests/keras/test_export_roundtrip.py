"""Checkpoints: ``save_weights`` then ``load_weights`` gives back every array exactly."""

from __future__ import annotations

import numpy as np
import pytest
from export_utils import functional_graph, nested_model, randomize, sequential_all_layers

import minidecnn as mdc
from minidecnn import layers as L
from minidecnn.errors import ModelFileError


def branch_order_trap():
    """convB is met first by our topological order, convA first by Keras' depth order."""
    x = mdc.Input((4, 4, 2), name="x")
    b = L.Conv2D(2, 1, name="convB")(x)
    a = L.ReLU(name="relu")(L.Conv2D(2, 1, name="convA")(x))
    return mdc.Model(x, L.Add(name="add")([b, a]), name="m")


def stores(model):
    return [{**leaf.params, **leaf.buffers} for leaf in model.leaf_layers()]


@pytest.mark.parametrize(
    "build", [sequential_all_layers, functional_graph, nested_model, branch_order_trap]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_then_load_restores_every_array(tmp_path, build, dtype):
    trained = randomize(build().astype(dtype), seed=21)
    trained.save_weights(tmp_path / "epoch_001.weights.h5")
    fresh = build().astype(dtype)
    fresh.load_weights(tmp_path / "epoch_001.weights.h5")
    for ours, theirs in zip(stores(trained), stores(fresh), strict=True):
        assert ours.keys() == theirs.keys()
        for key in ours:
            np.testing.assert_array_equal(theirs[key], ours[key])
            assert theirs[key].dtype == dtype


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path):
    randomize(functional_graph(), seed=22).save_weights(tmp_path / "m.weights.h5")
    other = branch_order_trap()
    before = [w.copy() for s in stores(other) for w in s.values()]
    with pytest.raises(ModelFileError):
        other.load_weights(tmp_path / "m.weights.h5")
    after = [w for s in stores(other) for w in s.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("build", [sequential_all_layers, functional_graph, nested_model])
def test_save_keras_then_load_keras_rebuilds_the_same_model(tmp_path, build):
    model = randomize(build(), seed=23)
    model.save(tmp_path / "m.keras")
    again = mdc.load_keras(tmp_path / "m.keras")
    ours = [(type(leaf).__name__, leaf.name) for leaf in model.leaf_layers()]
    assert sorted(ours) == sorted((type(leaf).__name__, leaf.name) for leaf in again.leaf_layers())
    rng = np.random.default_rng(24)
    xs = [rng.normal(size=(2, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    x = xs if len(xs) > 1 else xs[0]
    y1, y2 = model.forward(x), again.forward(x)
    for a, b in zip(y1 if isinstance(y1, list) else [y1], y2 if isinstance(y2, list) else [y2]):
        np.testing.assert_array_equal(a, b)
