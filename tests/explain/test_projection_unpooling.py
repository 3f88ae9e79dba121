"""The unpooling experiment (METHODS behaviour 36): switches vs a fixed top-left switch
vs nearest-neighbour upsampling, on a chain of 2x2 max-pools."""

from __future__ import annotations

import numpy as np
import pytest

from minidecnn.errors import ShapeError
from minidecnn.explain.unpooling import unpool_top_left, unpooling_experiment, upsample_nearest


def structured_image(H=64, W=48, seed=0):
    """Edges, a bright disc, a ramp and a little noise: structure to recover."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    img = np.zeros((H, W, 3))
    img[..., 0] = (xx > W // 3).astype(float)
    img[..., 1] = ((yy - H / 2) ** 2 + (xx - W / 2) ** 2 < (H / 4) ** 2).astype(float)
    img[..., 2] = yy / H
    return img + 0.05 * rng.standard_normal(img.shape)


def test_switches_put_back_exact_values_at_the_surviving_maxima():
    img = structured_image()
    exp = unpooling_experiment(img, levels=4)
    rec = exp.reconstructions["switches"]
    nz = rec != 0
    np.testing.assert_array_equal(rec[nz], img[nz])  # identity on the support
    # one survivor per 16x16 block and channel
    assert nz.sum() == exp.pooled[-1].size == (64 // 16) * (48 // 16) * 3
    # each survivor is the maximum of its block
    blocks = img.reshape(4, 16, 3, 16, 3).max(axis=(1, 3))
    np.testing.assert_array_equal(exp.pooled[-1], blocks)


def test_top_left_equals_switches_exactly_where_the_switch_is_top_left():
    img = structured_image(seed=1)
    for levels in (1, 2):
        exp = unpooling_experiment(img, levels=levels)
        s = 2**levels
        sw = exp.reconstructions["switches"].reshape(64 // s, s, 48 // s, s, 3)
        tl = exp.reconstructions["top_left"].reshape(64 // s, s, 48 // s, s, 3)
        at_top_left = sw[:, 0, :, 0, :] == exp.pooled[-1]  # the winner sits top-left
        same = (sw == tl).all(axis=(1, 3))
        np.testing.assert_array_equal(same, at_top_left)
        assert at_top_left.any() and not at_top_left.all()


def test_nearest_neighbour_is_never_below_the_image():
    img = structured_image(seed=2)
    rec = unpooling_experiment(img, levels=4).reconstructions["nearest"]
    assert (rec >= img).all()


def test_switches_correlate_better_with_the_image_than_a_fixed_switch():
    for seed in range(3):
        corr = unpooling_experiment(structured_image(seed=seed), levels=3).correlations()
        assert corr["switches"] > corr["top_left"]


def test_dropped_rows_stay_zero_and_grayscale_is_accepted():
    img = np.random.default_rng(0).standard_normal((9, 10))
    exp = unpooling_experiment(img, levels=2)
    for rec in exp.reconstructions.values():
        assert rec.shape == (9, 10, 1)
        assert (rec[8] == 0).all()  # row 8 is dropped by the first pool (9 -> 4)
    assert "through 2 max-pools" in exp.describe()


def test_helpers_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1)
    assert unpool_top_left(y, 4, 4)[0, ..., 0].tolist() == [
        [1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]  # fmt: skip
    assert upsample_nearest(y, 4, 5)[0, ..., 0].tolist() == [
        [1, 1, 2, 2, 0], [1, 1, 2, 2, 0], [3, 3, 4, 4, 0], [3, 3, 4, 4, 0]]  # fmt: skip


def test_bad_images_explain_the_fix():
    with pytest.raises(ShapeError, match=r"Expected H, W >= 16, received 8x8"):
        unpooling_experiment(np.zeros((8, 8, 3)), levels=4)
    with pytest.raises(ShapeError, match=r"For a batch, pass one image"):
        unpooling_experiment(np.zeros((2, 8, 8, 3)), levels=1)
    with pytest.raises(ValueError, match="invalid levels"):
        unpooling_experiment(np.zeros((8, 8)), levels=0)
    with pytest.raises(ValueError, match="dtype uint8"):
        unpooling_experiment(np.zeros((8, 8), np.uint8), levels=1)
