"""The shapes data set: determinism, labels, balance, range, and that the classes differ."""

import numpy as np
import pytest

from minidecnn.data import SHAPES_CLASSES, shapes


def test_shapes_types_range_and_names():
    x, y, names = shapes(50, size=24, seed=0)
    assert x.shape == (50, 24, 24, 3) and x.dtype == np.float32
    assert y.shape == (50,) and y.dtype == np.int64
    assert names == SHAPES_CLASSES and len(names) == 10 >= 6
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert set(y) == set(range(10))


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = shapes(20, seed=5), shapes(20, seed=5), shapes(20, seed=6)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    # a numpy Generator seeded the same way works as the seed too
    gen = np.random.default_rng(5)
    np.testing.assert_array_equal(shapes(20, seed=gen).x, a.x)


@pytest.mark.parametrize("n", [10, 37, 200])
def test_classes_are_balanced(n):
    counts = np.bincount(shapes(n, size=16, seed=1).y, minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_images_vary_within_a_class():
    x, y, _ = shapes(60, seed=2)
    circles = x[y == SHAPES_CLASSES.index("circle")]
    assert len({c.tobytes() for c in circles}) == len(circles)
    assert circles.std(axis=0).mean() > 0.1  # positions and colours differ


def _luminance(x):
    return x @ np.array([0.299, 0.587, 0.114])


def test_stripes_have_their_orientation():
    # Averaging each row (column) first removes the pixel noise; horizontal stripes make
    # the row means jump from row to row while the column means stay nearly flat.
    x, y, _ = shapes(200, seed=3)
    grey = _luminance(x)
    rows = np.abs(np.diff(grey.mean(axis=2), axis=1)).mean(axis=1)
    cols = np.abs(np.diff(grey.mean(axis=1), axis=1)).mean(axis=1)
    h, v = SHAPES_CLASSES.index("hstripes"), SHAPES_CLASSES.index("vstripes")
    assert (rows[y == h] > 2 * cols[y == h]).all()
    assert (cols[y == v] > 1.5 * rows[y == v]).all()


def test_textures_have_more_edges_than_filled_shapes():
    # fraction of neighbour pairs whose luminance differs by more than 0.2 (about 3 noise sigma)
    x, y, _ = shapes(300, seed=4)
    grey = _luminance(x)
    edges = (np.abs(np.diff(grey, axis=1)) > 0.2).mean(axis=(1, 2))
    edges += (np.abs(np.diff(grey, axis=2)) > 0.2).mean(axis=(1, 2))
    filled = np.isin(y, [SHAPES_CLASSES.index(c) for c in ("square", "circle", "triangle")])
    textured = np.isin(y, [SHAPES_CLASSES.index(c) for c in ("checkerboard", "dstripes", "dots")])
    assert np.median(edges[textured]) > 2 * np.median(edges[filled])


def test_noise_is_bounded_and_present():
    x, _, _ = shapes(40, seed=7)
    # flat background regions still vary a little from pixel to pixel (sensor noise)
    corner_std = x[:, :2, :2, :].reshape(40, -1).std(axis=1)
    assert (corner_std > 0).mean() > 0.8


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (
            {"n": 0},
            "shapes: invalid value for argument `n`. Expected a positive int, received n=0.",
        ),
        ({"n": 2.0}, "received n=2.0"),
        ({"n": 2, "size": 8}, "Expected an int >= 16 (smaller images cannot show the textures)"),
    ],
)
def test_bad_arguments(kwargs, text):
    with pytest.raises(ValueError) as info:
        shapes(**kwargs)
    assert text in str(info.value)
