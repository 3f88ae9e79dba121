"""Zeiler & Fergus top-k projections: METHODS behaviours 13 (support inside the receptive
field) and 34 (bookkeeping of the 9 largest, others zeroed, crops = the box)."""

from __future__ import annotations

import numpy as np
import pytest

import minidecnn as mdc
from minidecnn.errors import ShapeError, TargetError, UnknownNameError
from minidecnn.explain.projection import (
    TopActivation,
    project_units,
    top_activations,
    top_projections,
    truncated_model,
)
from minidecnn.explain.receptive_field import receptive_field
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU


def reference_net(seed=0):
    """METHODS §7's small net, float64, weights ~ N(0, 0.3^2), biases ~ N(0, 0.1^2)."""
    model = mdc.Sequential(
        [
            mdc.Input((16, 16, 3)),
            Conv2D(8, 5, name="conv1"),
            ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Conv2D(8, 3, name="conv2"),
            ReLU(name="relu2"),
            MaxPool2D(2, name="pool2"),
            Flatten(name="flatten"),
            Dense(32, name="fc1"),
            ReLU(name="relu3"),
            Dense(10, name="fc2"),
        ]
    ).astype(np.float64)
    rng = np.random.default_rng(seed)
    for layer in model.leaf_layers():
        for key, value in layer.params.items():
            value[...] = rng.normal(0, 0.1 if key == "b" else 0.3, value.shape)
    return model


@pytest.fixture(scope="module")
def setup():
    model = reference_net()
    data = np.random.default_rng(5).standard_normal((40, 16, 16, 3))
    return model, data


def brute_force_top(acts, k, one_per_image):
    """The k largest (value, image, position) by sorting every candidate in Python."""
    n, H, W = acts.shape
    if one_per_image:
        cands = []
        for i in range(n):
            p = int(np.argmax(acts[i]))
            cands.append((-acts[i].ravel()[p], i, p))
    else:
        cands = [
            (-acts[i, h, w], i, h * W + w) for i in range(n) for h in range(H) for w in range(W)
        ]
    cands.sort()
    return [TopActivation(i, (p // W, p % W), -v) for v, i, p in cands[:k]]


@pytest.mark.parametrize("one_per_image", [True, False])
@pytest.mark.parametrize("layer", ["pool2", "relu1"])
def test_top_nine_are_the_nine_largest(setup, layer, one_per_image):
    model, data = setup
    model.forward(data)
    acts = model.activations[layer][..., 3]
    expected = brute_force_top(acts, 9, one_per_image)
    # a batch size that does not divide N exercises the running merge across batches
    got = top_activations(model, data, layer, 3, one_per_image=one_per_image, batch_size=7,
                          progress=False)  # fmt: skip
    assert got == expected
    if one_per_image:
        assert len({r.index for r in got}) == 9


def test_several_channels_in_one_scan_match_single_scans(setup):
    model, data = setup
    both = top_activations(model, data, "pool2", [1, 6], k=4, progress=False)
    assert both[1] == top_activations(model, data, "pool2", 1, k=4, progress=False)
    assert both[6] == top_activations(model, data, "pool2", 6, k=4, progress=False)


def test_ties_go_to_the_first_image_and_first_position():
    model = mdc.Sequential([mdc.Input((4, 4, 1)), ReLU(name="r")])
    data = np.zeros((5, 4, 4, 1))
    data[3, 1, 2] = data[1, 2, 0] = data[1, 3, 3] = 7.0
    assert top_activations(model, data, "r", 0, k=2, progress=False) == [
        TopActivation(1, (2, 0), 7.0),
        TopActivation(3, (1, 2), 7.0),
    ]
    several = top_activations(model, data, "r", 0, k=4, one_per_image=False, progress=False)
    assert [(r.index, r.position) for r in several] == [(1, (2, 0)), (1, (3, 3)), (3, (1, 2)),
                                                        (0, (0, 0))]  # fmt: skip


def test_small_dataset_returns_fewer_than_k():
    model = reference_net()
    data = np.random.default_rng(0).standard_normal((3, 16, 16, 3))
    assert len(top_activations(model, data, "pool2", 0, k=9, progress=False)) == 3


def test_each_projection_is_its_activation_alone_with_its_value(setup):
    """Behaviour 34: other activations of the layer zeroed, the chosen one keeps its value."""
    model, data = setup
    top = top_projections(model, data, "pool2", 5, progress=False)
    for rec, proj in zip(top.records, top.projections):
        model.forward(data[rec.index : rec.index + 1])
        acts = model.activations["pool2"]
        assert acts[(0, *rec.position, 5)] == rec.value
        mask = np.zeros_like(acts)
        mask[(0, *rec.position, 5)] = rec.value
        expected = model.backward(mask, rule="deconvnet", start="pool2", param_grads=False)[0]
        np.testing.assert_array_equal(proj, expected)
        # projecting the whole layer (others not zeroed) gives something else
        other = model.backward(acts, rule="deconvnet", start="pool2", param_grads=False)[0]
        assert np.abs(other - proj).max() > 1e-3


def test_projection_support_lies_inside_the_receptive_field(setup):
    """Behaviour 13: a single pool2 activation deconvolves to pixels inside its 12x12 box."""
    model, data = setup
    top = top_projections(model, data, "pool2", [0, 2, 7], progress=False)
    for result in top:
        for rec, proj, box in zip(result.records, result.projections, result.boxes):
            assert box == receptive_field(model, "pool2", rec.position)
            assert box.shape == (12, 12)
            support = np.abs(proj).sum(axis=-1) != 0
            assert support.any()
            inside = np.zeros_like(support)
            inside[box.slices] = True
            assert not (support & ~inside).any()


def test_patches_are_the_receptive_field_crops(setup):
    model, data = setup
    top = top_projections(model, data, "relu2", 4, k=5, progress=False)
    for rec, box, patch, ppatch, proj in zip(
        top.records, top.boxes, top.patches, top.projection_patches, top.projections
    ):
        np.testing.assert_array_equal(patch, data[rec.index][box.slices])
        np.testing.assert_array_equal(ppatch, proj[box.slices])
    for full in top.full_boxes:
        assert full.shape == (10, 10)  # conv5 -> pool2 -> conv3: r = 5 + 1 + 2*2


def test_vector_layer_projects_to_the_whole_image(setup):
    model, data = setup
    top = top_projections(model, data, "fc1", 3, k=2, progress=False)
    assert [r.position for r in top.records] == [(), ()]
    assert top.boxes[0].shape == (16, 16)


def test_other_rules_and_describe(setup):
    model, data = setup
    top = top_projections(model, data, "pool2", 1, k=3, rule="guided", progress=False)
    text = top.describe()
    assert "top-3 of channel 1 of 'pool2' over 40 images" in text
    assert f"{top.records[0].index:>6}" in text.splitlines()[2]
    proj, values = project_units(model, data[:2], "pool2", [(0, 0, 1), (1, 1, 1)])
    assert proj.shape == (2, 16, 16, 3) and values.shape == (2,)


def test_progress_bar_is_shown(setup, capsys):
    model, data = setup
    top_activations(model, data[:5], "pool2", 0, progress=True)
    assert "scanning pool2" in capsys.readouterr().err


def test_truncated_model_shares_layers(setup):
    model, data = setup
    sub = truncated_model(model, "pool1")
    np.testing.assert_array_equal(
        sub.forward(data[:2]), (model.forward(data[:2]), model.activations["pool1"])[1]
    )
    assert sub.layers[0] is model.layers[0]


def test_bad_arguments_explain_the_fix(setup):
    model, data = setup
    with pytest.raises(TargetError, match=r"invalid channel 8 for layer 'pool2'.*\[0, 7\]"):
        top_activations(model, data, "pool2", 8, progress=False)
    with pytest.raises(UnknownNameError, match="Did you mean 'pool2'"):
        top_activations(model, data, "pool_2", 0, progress=False)
    with pytest.raises(
        ShapeError, match=r"Expected \(N, 16, 16, 3\) with N >= 1, received \(4, 16, 16\)"
    ):
        top_activations(model, data[..., 0][:4], "pool2", 0, progress=False)
    with pytest.raises(ValueError, match=r"invalid k\. Expected an int >= 1, received 0"):
        top_activations(model, data, "pool2", 0, k=0, progress=False)
    with pytest.raises(TypeError, match="expected the dataset as an array"):
        top_activations(model, [1, 2], "pool2", 0, progress=False)
    with pytest.raises(TargetError, match="one unit per image"):
        project_units(model, data[:2], "pool2", [(0, 0, 1)])
    with pytest.raises(ValueError, match="unknown rule"):
        project_units(model, data[:1], "pool2", [(0, 0, 1)], rule="lrp")
