"""Bad input meets a clear exception: where, what, expected, received, and the fix."""

import re

import numpy as np
import pytest

from minidecnn import Input, Model, Sequential
from minidecnn.errors import (
    DTypeError,
    MinidecnnError,
    NotFiniteError,
    ShapeError,
    UnknownNameError,
    did_you_mean,
)
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU


def rgb_model(size=8):
    return Sequential(
        [
            Input((size, size, 3)),
            Conv2D(2, 3, name="conv", seed=0),
            ReLU(name="relu"),
            Flatten(name="flat"),
            Dense(2, name="fc", seed=1),
        ],
        name="rgb",
    )


def raises(exc, message):
    return pytest.raises(exc, match=re.escape(message))


def test_all_errors_are_value_errors():
    for cls in (ShapeError, DTypeError, NotFiniteError, UnknownNameError):
        assert issubclass(cls, MinidecnnError) and issubclass(cls, ValueError)
    assert issubclass(DTypeError, TypeError) and issubclass(UnknownNameError, KeyError)


def test_one_image_instead_of_a_batch():
    with raises(
        ShapeError,
        "Model 'rgb': wrong input shape. Expected (N, 8, 8, 3), received "
        "(8, 8, 3). This looks like one example without the batch axis: pass x[None].",
    ):
        rgb_model().forward(np.zeros((8, 8, 3), np.float32))


def test_wrong_channel_count():
    with raises(
        ShapeError,
        "Model 'rgb': wrong input shape. Expected (N, 8, 8, 3), received "
        "(2, 8, 8, 1). The last axis holds the channels: 3 expected, 1 received. For "
        "grayscale images pass np.repeat(x, 3, axis=-1).",
    ):
        rgb_model().forward(np.zeros((2, 8, 8, 1), np.float32))
    with raises(
        ShapeError,
        "received (2, 8, 8, 4). The last axis holds the channels: 3 "
        "expected, 4 received. For RGBA images drop the alpha channel: x[..., :3].",
    ):
        rgb_model().forward(np.zeros((2, 8, 8, 4), np.float32))


def test_channels_first_array():
    with raises(
        ShapeError,
        "Model 'rgb': wrong input shape. Expected (N, 224, 224, 3), "
        "received (2, 3, 224, 224). This looks like a channels-first (N, C, H, W) "
        "array; minidecnn is channels-last (NHWC): pass x.transpose(0, 2, 3, 1).",
    ):
        rgb_model(224).forward(np.zeros((2, 3, 224, 224), np.float32))


def test_grayscale_without_channel_axis():
    model = Sequential([Input((6, 6, 1)), Flatten(name="f")], name="gray")
    with raises(
        ShapeError,
        "Model 'gray': wrong input shape. Expected (N, 6, 6, 1), received "
        "(4, 6, 6). This looks like a batch without the channel axis: pass "
        "x[..., None].",
    ):
        model.forward(np.zeros((4, 6, 6), np.float32))
    with raises(
        ShapeError,
        "received (6, 6). This looks like one image without batch and "
        "channel axes: pass x[None, ..., None].",
    ):
        model.forward(np.zeros((6, 6), np.float32))


def test_integer_images():
    with raises(
        DTypeError,
        "Model 'rgb': the input has dtype uint8. Expected a floating-point "
        "array (float32 or float64), received uint8. Convert it with "
        "x.astype('float32') and apply the preprocessing the model expects (for "
        "example x / 255.0).",
    ):
        rgb_model().forward(np.zeros((1, 8, 8, 3), np.uint8))


def test_object_and_ragged_arrays():
    obj = np.empty((1, 8, 8, 3), dtype=object)
    with raises(
        DTypeError,
        "Model 'rgb': the input has dtype object, which minidecnn cannot "
        "compute with. Expected a float32 or float64 array, received dtype object "
        "(type ndarray).",
    ):
        rgb_model().forward(obj)
    with pytest.raises(
        DTypeError,
        match=r"Model 'rgb': the input cannot be turned into an "
        r"array \(.*\)\. Expected a float32 ndarray, received list\.",
    ):
        rgb_model().forward([np.zeros((8, 8, 3)), np.zeros((4, 4, 3))])


@pytest.mark.parametrize(("bad", "counts"), [(np.nan, "1 NaN and 0"), (np.inf, "0 NaN and 1")])
def test_nan_and_inf(bad, counts):
    x = np.zeros((2, 8, 8, 3), np.float32)
    x[1, 2, 3, 0] = bad
    with raises(
        NotFiniteError,
        f"Model 'rgb': the input contains {counts} infinite values "
        "(the first at index (1, 2, 3, 0)). Expected finite numbers everywhere. Check "
        "the preprocessing that produced it (a division by zero, a log of 0, an "
        "unnormalised image).",
    ):
        rgb_model().forward(x)


def test_backward_before_forward():
    with raises(
        RuntimeError,
        "Model 'rgb': backward called before forward. Run "
        "model.forward(x) first: the backward pass needs its cache.",
    ):
        rgb_model().backward(np.ones((1, 2)))
    with raises(RuntimeError, "Conv2D 'c': backward called before forward."):
        Conv2D(2, 3, name="c").backward(np.ones((1, 2, 2, 2)))


def test_kernel_larger_than_padded_input_when_building_a_model():
    x = Input((3, 3, 1))
    with raises(
        ShapeError,
        "Conv2D 'too_big': the 5x5 window is larger than its padded "
        "input. Expected an input of at least 5x5 (H x W, after padding='valid'), "
        "received 3x3 (padded: 3x3). Use padding='same', a smaller kernel/pool size, "
        "or a larger input.",
    ):
        Conv2D(2, 5, name="too_big")(x)
    with raises(
        ShapeError, "MaxPool2D 'pool_big': the 4x4 window is larger than its padded input."
    ):
        MaxPool2D(4, name="pool_big")(x)


def test_model_backward_errors():
    model = rgb_model()
    model.forward(np.zeros((1, 8, 8, 3), np.float32))
    with raises(
        ShapeError,
        "Model 'rgb': wrong dout shape for 'fc'. Expected (1, 2) (the shape "
        "of its last output), received (1, 3).",
    ):
        model.backward(np.ones((1, 3)))
    with raises(
        ValueError,
        "Model 'rgb': unknown rule. Expected one of ('gradient', "
        "'deconvnet', 'guided'), received rule='deconv'.",
    ):
        model.backward(np.ones((1, 2)), rule="deconv")
    with raises(
        UnknownNameError,
        "Model 'rgb': no layer or node named 'rleu'. Did you mean "
        "'relu'? The nodes are: conv, relu, flat, fc.",
    ):
        model.backward(np.ones((1, 2)), start="rleu")


def test_model_graph_errors():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    with raises(
        ValueError,
        "Model 'm1': the graph depends on input 'b', which is not among the model's inputs ['a'].",
    ):
        Model(a, Dense(2)(b), name="m1")
    d1 = Dense(2, name="same")(a)
    with raises(
        ValueError,
        "Model 'm2': layer names must be unique, received duplicates "
        "['same']. Pass name=... to the layers.",
    ):
        Model(a, Dense(2, name="same")(d1), name="m2")
    model = Model([a, b], Dense(2, name="d")(a), name="two")
    with raises(
        ValueError,
        "Model 'two': expected a list of 2 arrays (one per input: ['a', 'b']), received ndarray.",
    ):
        model.forward(np.zeros((1, 3)))
    with raises(
        ShapeError,
        "Model 'two': the inputs have different batch sizes [1, 2]. "
        "Expected the same N for every input.",
    ):
        model.forward([np.zeros((1, 3)), np.zeros((2, 3))])


def test_shared_layer_needs_the_same_shape():
    d = Dense(2, name="shared_d")
    d(Input((3,)))
    with raises(
        ValueError,
        "Dense 'shared_d': this layer was built for inputs of shape (3,) "
        "and is now called on (4,). A shared layer needs the same input shape at "
        "every call.",
    ):
        d(Input((4,)))


def test_did_you_mean():
    assert did_you_mean("conv_1", ["conv1", "dense"]) == " Did you mean 'conv1'?"
    assert did_you_mean("zzz", ["conv1", "dense"]) == ""
