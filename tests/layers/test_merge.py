"""Add and Concatenate: lists in, lists out."""

import re

import numpy as np
import pytest
from layer_helpers import assert_gradcheck

from minidecnn.errors import ShapeError
from minidecnn.layers import Add, Concatenate


def test_add_by_hand():
    add = Add()
    y = add.forward([np.array([[1.0, 2.0]]), np.array([[10.0, 20.0]]), np.array([[0.5, 0.5]])])
    np.testing.assert_array_equal(y, [[11.5, 22.5]])
    dxs = add.backward(np.array([[1.0, -1.0]]))
    assert len(dxs) == 3
    for d in dxs:
        np.testing.assert_array_equal(d, [[1, -1]])
    assert dxs[0] is not dxs[1]  # independent arrays: a caller may add into one


def test_concatenate_by_hand():
    cat = Concatenate()
    a, b = np.ones((1, 2, 2, 1)), np.full((1, 2, 2, 2), 2.0)
    y = cat.forward([a, b])
    assert y.shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(y[0, 0, 0], [1, 2, 2])
    da, db = cat.backward(np.arange(12.0).reshape(1, 2, 2, 3))
    np.testing.assert_array_equal(da[0, :, :, 0], [[0, 3], [6, 9]])
    np.testing.assert_array_equal(db[0, 0, 0], [1, 2])


@pytest.mark.parametrize(
    ("make", "shapes"),
    [
        (Add, [(2, 3, 2, 2)] * 3),
        (Concatenate, [(2, 3, 2, 1), (2, 3, 2, 3)]),
        (lambda: Concatenate(axis=1), [(2, 1, 2, 2), (2, 3, 2, 2)]),
    ],
)
def test_merge_gradcheck(make, shapes):
    rng = np.random.default_rng(0)
    assert_gradcheck(make(), [rng.standard_normal(s) for s in shapes])


def test_merge_errors():
    with pytest.raises(
        ShapeError,
        match=re.escape(
            "Add 'add_x': inputs must have the same shape. Expected equal shapes, received "
            "[(2, 2, 1), (2, 2, 3)]."
        ),
    ):
        Add(name="add_x").forward([np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 3))])
    with pytest.raises(
        ShapeError,
        match=re.escape(
            "Concatenate 'cat_x': inputs must agree on every axis but -1. Expected matching "
            "shapes, received [(2, 2, 1), (3, 2, 1)]."
        ),
    ):
        Concatenate(name="cat_x").forward([np.zeros((1, 2, 2, 1)), np.zeros((1, 3, 2, 1))])
    with pytest.raises(
        ValueError,
        match=re.escape("Add 'add_y': expected a list of at least two arrays, received ndarray."),
    ):
        Add(name="add_y").forward(np.zeros((1, 2)))
