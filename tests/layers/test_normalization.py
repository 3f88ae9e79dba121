"""BatchNormalization with Keras 3 semantics, in inference and training modes."""

import re

import numpy as np
import pytest
from layer_helpers import assert_gradcheck, check_names

from minidecnn.errors import ShapeError
from minidecnn.layers import BatchNormalization


def make_bn(C=2, **kwargs):
    bn = BatchNormalization(**kwargs)
    bn.build((3, 3, C))
    bn.params["gamma"][:] = [2.0, 0.5][:C]
    bn.params["beta"][:] = [1.0, -1.0][:C]
    bn.buffers["moving_mean"][:] = [1.0, 0.0][:C]
    bn.buffers["moving_variance"][:] = [3.999, 0.249][:C]  # + epsilon 1e-3 = 4 and 0.25
    return bn


def test_inference_by_hand():
    bn = make_bn()
    x = np.zeros((1, 3, 3, 2), np.float32)
    x[..., 0], x[..., 1] = 5.0, 1.0
    y = bn.forward(x)
    # channel 0: 2 * (5 - 1) / 2 + 1 = 5;  channel 1: 0.5 * (1 - 0) / 0.5 - 1 = 0
    np.testing.assert_allclose(y[0, 0, 0], [5.0, 0.0], rtol=1e-6)
    dx = bn.backward(np.ones_like(y))
    np.testing.assert_allclose(dx[0, 0, 0], [2.0 / 2, 0.5 / 0.5], rtol=1e-6)  # gamma / std
    np.testing.assert_allclose(bn.grads["beta"], [9, 9])
    np.testing.assert_allclose(bn.grads["gamma"], [9 * 2.0, 9 * 2.0], rtol=1e-6)  # x_hat = 2, 2


def test_inference_does_not_touch_moving_statistics():
    bn = make_bn()
    before = {k: v.copy() for k, v in bn.buffers.items()}
    bn.forward(np.random.default_rng(0).standard_normal((4, 3, 3, 2)))
    for k in before:
        np.testing.assert_array_equal(bn.buffers[k], before[k])


def test_training_uses_batch_statistics_and_updates_moving_ones():
    x = np.array([1.0, 3.0, 5.0, 7.0]).reshape(4, 1, 1, 1)  # mean 4, biased variance 5
    bn = BatchNormalization(momentum=0.9)
    bn.build((1, 1, 1))
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.ravel(), (x.ravel() - 4) / np.sqrt(5 + 1e-3), rtol=1e-6)
    # Keras: moving = momentum * moving + (1 - momentum) * batch, from mean 0 and variance 1
    np.testing.assert_allclose(bn.buffers["moving_mean"], [0.9 * 0 + 0.1 * 4], rtol=1e-6)
    np.testing.assert_allclose(bn.buffers["moving_variance"], [0.9 * 1 + 0.1 * 5], rtol=1e-6)
    bn.forward(x + 1, training=True)  # a second step: mean 5, variance 5
    np.testing.assert_allclose(bn.buffers["moving_mean"], [0.9 * 0.4 + 0.1 * 5], rtol=1e-6)
    np.testing.assert_allclose(bn.buffers["moving_variance"], [0.9 * 1.4 + 0.1 * 5], rtol=1e-6)
    # inference then uses the moving statistics
    y = bn.forward(np.array([[[[0.86]]]]))  # the moving mean
    np.testing.assert_allclose(y.ravel(), [0.0], atol=1e-6)


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize(("center", "scale"), [(True, True), (False, True), (True, False)])
def test_gradcheck(training, center, scale):
    rng = np.random.default_rng(1)
    bn = BatchNormalization(center=center, scale=scale)
    bn.build((2, 3, 2))
    for v in bn.params.values():
        v[:] = rng.uniform(0.5, 1.5, size=v.shape)
    bn.buffers["moving_mean"][:] = rng.standard_normal(2)
    bn.buffers["moving_variance"][:] = rng.uniform(0.5, 2, size=2)
    before = {k: v.copy() for k, v in bn.buffers.items()}
    report = assert_gradcheck(bn, rng.standard_normal((3, 2, 3, 2)), training=training)
    assert set(bn.params) == {k for k, on in (("gamma", scale), ("beta", center)) if on}
    # affine at inference, so adjointness is checked there; nonlinear in training
    assert ("adjoint <f(x), y> = <x, f^T(y)>" in check_names(report)) == (not training)
    for k in before:  # check_layer restores what its training-mode forwards changed
        np.testing.assert_array_equal(bn.buffers[k], before[k])


def test_deconv_is_the_gradient_of_the_mode_used():
    rng = np.random.default_rng(2)
    bn = make_bn()
    x = rng.standard_normal((4, 3, 3, 2))
    d = rng.standard_normal((4, 3, 3, 2))
    for training in (False, True):
        bn.forward(x, training=training)
        np.testing.assert_array_equal(bn.deconv(d), bn.backward(d, param_grads=False))
        np.testing.assert_array_equal(bn.guided(d), bn.backward(d, param_grads=False))


def test_axis():
    BatchNormalization(axis=3).forward(np.ones((1, 2, 2, 3), np.float32))  # Keras' NHWC axis
    BatchNormalization(axis=[3]).forward(np.ones((1, 2, 2, 3), np.float32))  # Keras 2 form
    with pytest.raises(
        ShapeError,
        match=re.escape(
            "BatchNormalization 'bn1': unsupported axis. Expected the channel axis, the last one "
            "(-1 or 3 for inputs of shape (N, 3, 8, 8)), received axis=1."
        ),
    ):
        BatchNormalization(axis=1, name="bn1").forward(np.ones((1, 3, 8, 8), np.float32))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"epsilon": 0},
            "BatchNormalization: invalid epsilon. Expected a positive float, received epsilon=0.",
        ),
        (
            {"momentum": 1.5},
            "BatchNormalization: invalid momentum. Expected a float in [0, 1], "
            "received momentum=1.5.",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        BatchNormalization(**kwargs)
