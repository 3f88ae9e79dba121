"""Feature evolution across checkpoints (METHODS behaviour 35): exact bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

import minidecnn as mdc
from minidecnn.errors import ModelFileError, TargetError, UnknownNameError
from minidecnn.explain.evolution import feature_evolution, load_npz_weights
from minidecnn.explain.projection import project_units, top_activations
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU


def small_net():
    return mdc.Sequential(
        [
            mdc.Input((12, 12, 2)),
            Conv2D(4, 3, name="conv1", seed=0),
            ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Conv2D(4, 3, name="conv2", seed=1),
            ReLU(name="relu2"),
            Flatten(name="flat"),
            Dense(3, name="fc", seed=2),
        ]
    ).astype(np.float64)


def checkpoints(model, n=4):
    """Weight dicts drifting from one another, as a training run would produce."""
    rng = np.random.default_rng(3)
    weights, current = [], model.get_weights()
    for _ in range(n):
        current = {
            layer: {k: v + rng.normal(0, 0.4, v.shape) for k, v in params.items()}
            for layer, params in current.items()
        }
        weights.append(current)
    weights.insert(2, weights[1])  # an unchanged checkpoint: no jump
    return weights


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(4).standard_normal((30, 12, 12, 2))


def test_each_checkpoint_recomputes_the_strongest_activation(data):
    model = small_net()
    before = model.get_weights()
    ckpts = checkpoints(model)
    labels = [f"epoch {e}" for e in (1, 2, 5, 10, 20)]
    evo = feature_evolution(model, data, "relu2", [0, 3], ckpts, labels=labels, batch_size=8,
                            progress=False)  # fmt: skip
    # the model's own weights are back
    for layer, params in model.get_weights().items():
        for k, v in params.items():
            np.testing.assert_array_equal(v, before[layer][k])
    reference = small_net()
    for c in (0, 3):
        steps = evo.steps[c]
        assert [s.label for s in steps] == labels
        previous = None
        for step, weights in zip(steps, ckpts):
            reference.set_weights(weights)
            (best,) = top_activations(reference, data, "relu2", c, k=1, progress=False)
            assert (step.index, step.position, step.value) == (
                best.index,
                best.position,
                best.value,
            )
            proj, _ = project_units(reference, data[best.index][None], "relu2",
                                    [(*best.position, c)])  # fmt: skip
            np.testing.assert_array_equal(step.projection, proj[0])
            np.testing.assert_array_equal(step.patch, data[step.index][step.box.slices])
            assert step.changed == (previous is not None and step.index != previous)
            previous = step.index
        assert not steps[2].changed  # the repeated checkpoint
    assert any(s.changed for c in (0, 3) for s in evo.steps[c])
    table = evo.describe()
    assert "epoch 20" in table and "*" in table


def test_models_dicts_and_files_give_the_same_answer(data, tmp_path):
    model = small_net()
    ckpts = checkpoints(model, n=2)
    models, paths = [], []
    for k, weights in enumerate(ckpts):
        m = small_net()
        m.set_weights(weights)
        models.append(m)
        path = tmp_path / f"epoch{k}.npz"
        np.savez(
            path, **{f"{layer}/{p}": v for layer, ps in weights.items() for p, v in ps.items()}
        )
        paths.append(path)
    by_dict = feature_evolution(model, data, "pool1", 1, ckpts, progress=False)
    by_model = feature_evolution(None, data, "pool1", 1, models, progress=False)
    by_file = feature_evolution(model, data, "pool1", 1, paths, progress=False)
    for a, b, c in zip(by_dict.steps[1], by_model.steps[1], by_file.steps[1]):
        assert a.index == b.index == c.index and a.position == b.position == c.position
        np.testing.assert_array_equal(a.projection, b.projection)
        np.testing.assert_array_equal(a.projection, c.projection)


def test_bad_checkpoints_explain_the_fix(data, tmp_path):
    model = small_net()
    with pytest.raises(TargetError, match="no checkpoints"):
        feature_evolution(model, data, "relu2", 0, [], progress=False)
    with pytest.raises(TargetError, match="Expected 2 labels, received 1"):
        feature_evolution(model, data, "relu2", 0, [model, model], labels=["a"], progress=False)
    with pytest.raises(TargetError, match="no model was given"):
        feature_evolution(None, data, "relu2", 0, [model.get_weights()], progress=False)
    with pytest.raises(TypeError, match="checkpoint 0 has type int"):
        feature_evolution(model, data, "relu2", 0, [3], progress=False)
    with pytest.raises(UnknownNameError, match="Did you mean 'relu2'"):
        feature_evolution(model, data, "relu_2", 0, [model], progress=False)
    bad = tmp_path / "bad.npz"
    np.savez(bad, W=np.zeros(3))
    with pytest.raises(ModelFileError, match="is not named '<layer>/<param>'"):
        load_npz_weights(bad)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_npz_weights(tmp_path / "missing.npz")
