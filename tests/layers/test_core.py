"""Dense, Flatten, ZeroPadding2D, Dropout, Rescaling."""

import re

import numpy as np
import pytest
from layer_helpers import assert_gradcheck, check_names

from minidecnn.errors import ShapeError
from minidecnn.layers import Dense, Dropout, Flatten, Rescaling, ZeroPadding2D

ADJOINT = "adjoint <f(x), y> = <x, f^T(y)>"


def test_dense_by_hand():
    d = Dense(2)
    d.build((3,))
    d.params["W"][:] = [[1, 0], [0, 1], [1, 1]]
    d.params["b"][:] = [0.5, -0.5]
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    np.testing.assert_array_equal(d.forward(x), [[1 + 3 + 0.5, 2 + 3 - 0.5]])
    dx = d.backward(np.array([[1.0, 10.0]], np.float32))
    np.testing.assert_array_equal(dx, [[1, 10, 11]])  # dout @ W.T
    np.testing.assert_array_equal(d.grads["W"], [[1, 10], [2, 20], [3, 30]])  # x.T @ dout
    np.testing.assert_array_equal(d.grads["b"], [1, 10])


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)], ids=["(N, D)", "(N, T, D)"])
def test_dense_gradcheck(shape):
    rng = np.random.default_rng(0)
    d = Dense(3, seed=1)
    d.build(shape[1:])
    d.params["b"][:] = rng.standard_normal(3)
    report = assert_gradcheck(d, rng.standard_normal(shape))
    assert ADJOINT in check_names(report)


def test_dense_without_bias_has_no_b():
    d = Dense(2, use_bias=False, seed=0)
    d.build((3,))
    assert set(d.params) == {"W"}
    d.forward(np.ones((1, 3), np.float32))
    d.backward(np.ones((1, 2), np.float32))
    assert set(d.grads) == {"W"}


def test_dense_bad_units():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Dense: invalid value for argument `units`. Expected a strictly positive int, "
            "received units=0."
        ),
    ):
        Dense(0)


def test_flatten_keeps_nhwc_order():
    x = np.arange(12.0).reshape(1, 2, 3, 2)
    f = Flatten()
    y = f.forward(x)
    assert y.shape == (1, 12)
    assert y[0, (1 * 3 + 2) * 2 + 1] == x[0, 1, 2, 1]  # index (h*W + w)*C + c
    np.testing.assert_array_equal(f.backward(y), x)
    assert_gradcheck(Flatten(), np.random.default_rng(1).standard_normal((2, 2, 3, 2)))


def test_zero_padding_by_hand():
    z = ZeroPadding2D(((1, 0), (0, 2)))
    y = z.forward(np.full((1, 1, 1, 1), 7.0))
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 0, 0], [7, 0, 0]])
    np.testing.assert_array_equal(z.backward(np.arange(6.0).reshape(1, 2, 3, 1)).ravel(), [3])


@pytest.mark.parametrize("padding", [1, (2, 1), ((0, 1), (2, 0))])
def test_zero_padding_gradcheck(padding):
    report = assert_gradcheck(
        ZeroPadding2D(padding), np.random.default_rng(2).standard_normal((2, 3, 2, 2))
    )
    assert ADJOINT in check_names(report)


def test_zero_padding_errors():
    with pytest.raises(
        ValueError,
        match=r"ZeroPadding2D: invalid padding\. Expected an int >= 0, "
        r"a pair \(ph, pw\) or \(\(top, bottom\), \(left, right\)\), received "
        r"padding=-1\.",
    ):
        ZeroPadding2D(-1)
    with pytest.raises(
        ShapeError,
        match=r"Expected images of shape \(N, H, W, C\), received "
        r"inputs of shape \(N, 5\)",
    ):
        ZeroPadding2D(1).forward(np.zeros((1, 5), np.float32))


def test_dropout_is_the_identity_at_inference():
    drop = Dropout(0.5, seed=0)
    x = np.random.default_rng(3).standard_normal((4, 5))
    assert drop.forward(x) is x  # training defaults to False
    d = np.ones_like(x)
    np.testing.assert_array_equal(drop.backward(d), d)
    np.testing.assert_array_equal(drop.deconv(d), d)
    assert_gradcheck(Dropout(0.3, seed=0), x)


def test_dropout_in_training():
    rate = 0.25
    drop = Dropout(rate, seed=4)
    x = np.ones((200, 100))
    y = drop.forward(x, training=True)
    kept = y != 0
    # kept entries are scaled by 1 / (1 - rate); the dropped fraction is near rate
    np.testing.assert_allclose(y[kept], 1 / (1 - rate))
    assert abs((~kept).mean() - rate) < 0.01  # 20000 Bernoulli draws: sd 0.003
    # backward uses the mask of that forward
    dout = np.random.default_rng(5).standard_normal(x.shape)
    np.testing.assert_allclose(
        drop.backward(dout), np.where(kept, dout / (1 - rate), 0), rtol=1e-15
    )
    # the seed makes the mask reproducible; a new forward draws a new mask
    assert np.array_equal(Dropout(rate, seed=4).forward(x, training=True), y)
    assert not np.array_equal(drop.forward(x, training=True), y)


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5"])
def test_dropout_bad_rate(rate):
    with pytest.raises(
        ValueError,
        match=rf"Dropout: invalid rate\. Expected a float in \[0, 1\), "
        rf"received rate={rate!r}\.",
    ):
        Dropout(rate)


def test_rescaling_by_hand_and_per_channel():
    r = Rescaling(scale=[1.0, 0.5, 2.0], offset=[0.0, 1.0, -1.0])
    y = r.forward(np.array([[[[2.0, 2.0, 2.0]]]], np.float32))
    np.testing.assert_array_equal(y.ravel(), [2, 2, 3])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(
        r.backward(np.ones((1, 1, 1, 3), np.float32)).ravel(), [1, 0.5, 2]
    )


def test_rescaling_gradcheck():
    report = assert_gradcheck(
        Rescaling(1 / 127.5, offset=-1.0), np.random.default_rng(6).standard_normal((2, 3))
    )
    assert ADJOINT in check_names(report)  # affine: <f(x) - f(0), y> = <x, f^T y>


def test_rescaling_channel_mismatch():
    with pytest.raises(
        ShapeError,
        match=r"Rescaling 'rs': scale of shape \(3,\) does not "
        r"broadcast against inputs of shape \(N, 4, 4, 1\)\. Expected a scalar "
        r"or one value per channel \(1,\)\.",
    ):
        Rescaling([1.0, 2.0, 3.0], name="rs").forward(np.zeros((1, 4, 4, 1), np.float32))
