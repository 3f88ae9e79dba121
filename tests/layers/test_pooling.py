"""MaxPool2D (switches), AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D."""

import numpy as np
import pytest
from layer_helpers import assert_gradcheck, check_names, distinct

from minidecnn.layers import AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D, MaxPool2D

POOLS = [  # (pool_size, strides, padding, x shape)
    (2, None, "valid", (2, 4, 6, 2)),
    (3, 2, "same", (1, 6, 5, 2)),  # overlapping windows, odd total padding
    (2, 3, "valid", (1, 8, 7, 1)),  # stride > pool size: some cells in no window
    ((2, 3), (1, 2), "same", (2, 3, 5, 2)),  # non-square
]


def test_maxpool_by_hand_and_the_three_rules_agree():
    pool = MaxPool2D(2)
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [9, 0, 1, 2]], np.float32)
    y = pool.forward(x.reshape(1, 4, 4, 1))
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 8], [9, 2]])
    dout = np.array([[10.0, -20.0], [30.0, -40.0]], np.float32).reshape(1, 2, 2, 1)
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[3, 0], expected[3, 3] = 10, -20, 30, -40
    for rule in ("gradient", "deconvnet", "guided"):  # unpooling through the switches
        np.testing.assert_array_equal(pool.reverse(dout, rule)[0, :, :, 0], expected)
    np.testing.assert_array_equal(pool.unpool(dout)[0, :, :, 0], expected)


@pytest.mark.parametrize(("size", "strides", "padding", "shape"), POOLS)
def test_maxpool_gradcheck_on_distinct_values(size, strides, padding, shape):
    """Values 0.05 apart: a 1e-5 step never changes a switch."""
    x = distinct(np.random.default_rng(0), shape)
    report = assert_gradcheck(MaxPool2D(size, strides, padding), x)
    assert "adjoint <f(x), y> = <x, f^T(y)>" in check_names(report)  # fixed switches: linear


def test_maxpool_strides_default_to_pool_size():
    pool = MaxPool2D((2, 3))
    assert pool.strides == (2, 3)
    assert pool.get_config()["pool_size"] == (2, 3)


def test_avgpool_by_hand_same_padding_not_counted():
    pool = AvgPool2D(2, padding="same")
    x = np.array([[1.0, 2.0, 4.0], [3.0, 6.0, 8.0], [5.0, 0.0, 1.0]]).reshape(1, 3, 3, 1)
    # windows: {1,2,3,6} -> 3; {4,8} -> 6; {5,0} -> 2.5; {1} -> 1
    np.testing.assert_allclose(pool.forward(x)[0, :, :, 0], [[3, 6], [2.5, 1]])
    dx = pool.backward(np.full((1, 2, 2, 1), 4.0))
    np.testing.assert_allclose(dx[0, :, :, 0], [[1, 1, 2], [1, 1, 2], [2, 2, 4]])


@pytest.mark.parametrize(("size", "strides", "padding", "shape"), POOLS)
def test_avgpool_gradcheck_and_adjoint(size, strides, padding, shape):
    x = np.random.default_rng(1).standard_normal(shape)
    report = assert_gradcheck(AvgPool2D(size, strides, padding), x)
    assert "adjoint <f(x), y> = <x, f^T(y)>" in check_names(report)


def test_global_pools_by_hand():
    x = np.array([1.0, 6.0, 3.0, 6.0]).reshape(1, 2, 2, 1)
    gap, gmp = GlobalAvgPool2D(), GlobalMaxPool2D()
    np.testing.assert_array_equal(gap.forward(x), [[4.0]])
    np.testing.assert_array_equal(gap.backward(np.array([[8.0]])).ravel(), [2, 2, 2, 2])
    np.testing.assert_array_equal(gmp.forward(x), [[6.0]])
    np.testing.assert_array_equal(gmp.backward(np.array([[8.0]])).ravel(), [0, 8, 0, 0])
    np.testing.assert_array_equal(gmp.deconv(np.array([[8.0]])).ravel(), [0, 8, 0, 0])
    keep = GlobalAvgPool2D(keepdims=True)
    assert keep.forward(x).shape == (1, 1, 1, 1)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools_gradcheck(keepdims):
    rng = np.random.default_rng(2)
    assert_gradcheck(GlobalAvgPool2D(keepdims=keepdims), rng.standard_normal((2, 3, 4, 2)))
    assert_gradcheck(GlobalMaxPool2D(keepdims=keepdims), distinct(rng, (2, 3, 4, 2)))
