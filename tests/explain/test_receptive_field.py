"""Receptive-field boxes: hand-computed cases, and the exact box checked by brute force.

The brute-force oracle perturbs one input pixel at a time (by a large amount, in
a copy of the model whose weights are all positive so that every ReLU is active
and a large pixel wins every max-pool window it is in) and records which pixels
change the unit. The smallest box around those pixels must equal the computed box.
"""

from __future__ import annotations

import numpy as np
import pytest

import minidecnn as mdc
from minidecnn.errors import MinidecnnError, TargetError, UnknownNameError
from minidecnn.explain.receptive_field import Box, receptive_field
from minidecnn.layers import (
    Add,
    AvgPool2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    ReLU,
    SeparableConv2D,
    ZeroPadding2D,
)


def positive_copy(model, seed=0):
    """Make every weight positive and every bias 0.1 (all ReLUs active), in float64."""
    model.astype(np.float64)
    for layer in model.leaf_layers():
        for key, value in layer.params.items():
            if key == "b":
                value[...] = 0.1
            else:
                value[...] = np.abs(value) + 0.05
    return model


def brute_force_box(model, key, position):
    """Smallest box around the input pixels whose perturbation changes unit ``position``."""
    H, W, C = model.input_shape
    base = np.random.default_rng(1).uniform(0.0, 1.0, (1, H, W, C))
    batch = np.repeat(base, H * W + 1, axis=0)
    for k in range(H * W):
        batch[k + 1, k // W, k % W, :] += 1000.0
    model.forward(batch)
    out = model.activations[key]
    index = (slice(None), *position)
    values = out[index].reshape(len(batch), -1)
    changed = np.abs(values[1:] - values[:1]).max(axis=1) > 1e-6 * np.abs(values).max()
    if not changed.any():
        return None
    rows, cols = np.divmod(np.flatnonzero(changed), W)
    return Box(int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))


def reference_net():
    """METHODS' reference net: conv5x5/8 -> ReLU -> pool2 -> conv3x3/8 -> ReLU -> pool2 -> ..."""
    return mdc.Sequential(
        [
            mdc.Input((16, 16, 3)),
            Conv2D(8, 5, name="conv1", seed=1),
            ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Conv2D(8, 3, name="conv2", seed=2),
            ReLU(name="relu2"),
            MaxPool2D(2, name="pool2"),
            Flatten(name="flatten"),
            Dense(32, name="fc1", seed=3),
            ReLU(name="relu3"),
            Dense(10, name="fc2", seed=4),
        ]
    )


def test_reference_net_pool2_box_is_12x12_by_hand():
    # r = 5 -> 6 -> 10 -> 12, jump 4: unit (i, j) sees rows [4i, 4i + 11]
    model = reference_net()
    assert receptive_field(model, "pool2", (0, 0)) == Box(0, 11, 0, 11)
    assert receptive_field(model, "pool2", (1, 0)) == Box(4, 15, 0, 11)
    assert receptive_field(model, "pool2", (1, 1, 5)).shape == (12, 12)
    assert receptive_field(model, "conv1", (3, 7)) == Box(3, 7, 7, 11)
    assert receptive_field(model, "fc2", (3,)) == Box(0, 15, 0, 15)


def test_flatten_unit_maps_back_to_one_position():
    model = reference_net()
    # pool2 is (2, 2, 8): flat index 8*3 + 5 is (h=1, w=1, c=5)
    assert receptive_field(model, "flatten", (29,)) == receptive_field(model, "pool2", (1, 1))


def test_same_padding_and_stride_by_hand():
    # 7 rows, kernel 3, stride 2, "same": out 4 rows, total padding 2 -> 1 on top
    model = mdc.Sequential([mdc.Input((7, 7, 1)), Conv2D(1, 3, strides=2, padding="same")])
    key = model.layers[0].name
    assert receptive_field(model, key, (0, 0)) == Box(0, 1, 0, 1)  # clipped by the padding
    assert receptive_field(model, key, (0, 0), clip=False) == Box(-1, 1, -1, 1)
    assert receptive_field(model, key, (3, 1)) == Box(5, 6, 1, 3)
    assert receptive_field(model, key, (3, 1), clip=False) == Box(5, 7, 1, 3)


def test_same_padding_odd_total_puts_the_extra_row_at_the_bottom():
    # 6 rows, kernel 3, stride 2, "same": total padding 1, all of it at the bottom
    model = mdc.Sequential([mdc.Input((6, 6, 1)), Conv2D(1, 3, strides=2, padding="same")])
    key = model.layers[0].name
    assert receptive_field(model, key, (0, 0)) == Box(0, 2, 0, 2)
    assert receptive_field(model, key, (2, 2), clip=False) == Box(4, 6, 4, 6)


def test_zero_padding_border_unit_sees_nothing():
    model = mdc.Sequential([mdc.Input((5, 5, 1)), ZeroPadding2D(2, name="pad")])
    assert receptive_field(model, "pad", (0, 0)) is None
    assert receptive_field(model, "pad", (2, 3)) == Box(0, 0, 1, 1)


def chain_models():
    """Sequential chains with strides, 'same' padding, padding layers, pools of all kinds."""
    yield mdc.Sequential(
        [
            mdc.Input((13, 11, 2)),
            Conv2D(3, 3, strides=2, padding="same", seed=1),
            ReLU(),
            MaxPool2D(3, strides=2, padding="same"),
            Conv2D(3, (2, 3), seed=2),
            ReLU(name="top"),
        ]
    )
    yield mdc.Sequential(
        [
            mdc.Input((12, 12, 1)),
            ZeroPadding2D(((1, 2), (0, 1))),
            Conv2D(2, 4, strides=(2, 1), seed=3),
            BatchNormalization(),
            AvgPool2D(2, strides=1, padding="same"),
            DepthwiseConv2D(3, depth_multiplier=2, padding="same", seed=4),
            SeparableConv2D(2, 3, strides=2, seed=5, name="top"),
        ]
    )


@pytest.mark.parametrize("model", list(chain_models()), ids=["pool-same", "pad-depthwise"])
def test_chain_boxes_equal_brute_force(model):
    model = positive_copy(model)
    H_out, W_out, _ = model.output_shape
    for position in [(0, 0), (H_out - 1, W_out - 1), (H_out // 2, W_out // 2), (0, W_out - 1)]:
        assert receptive_field(model, "top", position) == brute_force_box(model, "top", position)


def residual_model():
    x = mdc.Input((12, 12, 2), name="image")
    a = ReLU()(Conv2D(3, 3, padding="same", seed=1)(x))
    b = Conv2D(3, 5, strides=1, padding="same", seed=2)(MaxPool2D(2, strides=1, padding="same")(a))
    s = Add(name="add")([a, b])  # a is used twice: by the Add and by the pool
    c = Conv2D(2, 3, strides=2, padding="same", seed=3, name="top")(s)
    return mdc.Model(x, c)


def concat_model():
    x = mdc.Input((12, 12, 1), name="image")
    small = Conv2D(2, 1, seed=1, name="small")(x)  # channels 0-1 see 1 pixel
    big = Conv2D(3, 5, padding="same", seed=2, name="big")(x)  # channels 2-4 see 5x5
    y = Concatenate(name="cat")([small, big])
    z = DepthwiseConv2D(3, padding="same", seed=3, name="top")(y)
    pooled = GlobalAvgPool2D(name="gap")(z)
    return mdc.Model(x, Dense(3, seed=4, name="head")(pooled))


def test_add_and_fan_out_box_equals_brute_force():
    model = positive_copy(residual_model())
    for position in [(0, 0), (5, 5), (3, 1, 0)]:
        assert receptive_field(model, "top", position) == brute_force_box(model, "top", position)
    # the 5x5 branch behind the pool dominates: 3 + 1 + 4 = 8 rows for one 'add' unit
    assert receptive_field(model, "add", (6, 6)) == Box(3, 10, 3, 10)


def test_concatenate_tracks_channels():
    model = positive_copy(concat_model())
    assert receptive_field(model, "cat", (6, 6, 1)) == Box(6, 6, 6, 6)
    assert receptive_field(model, "cat", (6, 6, 2)) == Box(4, 8, 4, 8)
    assert receptive_field(model, "cat", (6, 6)) == Box(4, 8, 4, 8)
    for position in [(6, 6, 0), (6, 6, 3), (0, 11, 1), (0, 11)]:
        assert receptive_field(model, "top", position) == brute_force_box(model, "top", position)
    assert receptive_field(model, "gap", (0,)) == Box(0, 11, 0, 11)


def test_nested_model_is_walked_through():
    inner_in = mdc.Input((10, 10, 1))
    inner = mdc.Model(inner_in, Conv2D(2, 3, strides=2, seed=1, name="inner_conv")(inner_in))
    x = mdc.Input((10, 10, 1))
    y = Conv2D(1, 2, seed=2, name="outer_conv")(inner(x))
    model = positive_copy(mdc.Model(x, y))
    assert receptive_field(model, "outer_conv", (1, 2)) == Box(2, 6, 4, 8)
    assert receptive_field(model, "outer_conv", (1, 2)) == brute_force_box(
        model, "outer_conv", (1, 2)
    )


def test_multi_input_model_gives_one_box_per_input():
    a, b = mdc.Input((8, 8, 1), name="a"), mdc.Input((8, 8, 1), name="b")
    y = Add(name="sum")([Conv2D(1, 3, padding="same", name="ca")(a), b])
    boxes = receptive_field(mdc.Model([a, b], y), "sum", (0, 4))
    assert boxes == {"a": Box(0, 1, 3, 5), "b": Box(0, 0, 4, 4)}


def test_bad_positions_and_names_explain_the_fix():
    model = reference_net()
    with pytest.raises(TargetError, match=r"outside the output of shape \(2, 2, 8\)"):
        receptive_field(model, "pool2", (2, 0))
    with pytest.raises(TargetError, match=r"Expected \(h, w\) or \(h, w, c\)"):
        receptive_field(model, "pool2", (1,))
    with pytest.raises(UnknownNameError, match="Did you mean 'pool2'"):
        receptive_field(model, "pool_2", (0, 0))
    with pytest.raises(TypeError, match="expected a minidecnn Model"):
        receptive_field(object(), "pool2", (0, 0))


def test_unknown_layer_type_names_the_rules_table():
    class Mystery(Layer):
        def forward(self, x, training=False):
            return self.check_input(x)

        def backward(self, dout, param_grads=True):
            return dout

    model = mdc.Sequential([mdc.Input((4, 4, 1)), Mystery(name="mystery")])
    with pytest.raises(MinidecnnError, match="no receptive-field rule for layer 'mystery'"):
        receptive_field(model, "mystery", (0, 0))


def test_box_crop_refuses_outside_without_fill():
    with pytest.raises(MinidecnnError, match="reaches outside the 4x4 image"):
        Box(-1, 2, 0, 1).crop(np.zeros((4, 4, 1)))
    assert Box(0, 5, 0, 5).clip(4, 4) == Box(0, 3, 0, 3)
    assert Box(5, 6, 0, 1).clip(4, 4) is None
