"""Display post-processing (reference behaviours 16 and 27, and the other helpers)."""

import math

import numpy as np
import pytest
from explain_nets import images, reference_net

from minidecnn import explain
from minidecnn.errors import MinidecnnError, ShapeError


def test_simonyan_channel_max_abs():
    # Behaviour 16: max over channels of |grad|, shape (H, W), >= 0, sign-blind.
    model = reference_net(seed=80)
    g = explain.gradient(model, images(2, seed=81), target=0)
    m = explain.channel_max_abs(g)
    assert m.shape == (2, 16, 16) and type(m) is np.ndarray
    assert np.all(m >= 0)
    np.testing.assert_array_equal(m, np.abs(g.raw).max(axis=-1))
    np.testing.assert_array_equal(m, explain.channel_max_abs(-g))
    assert explain.channel_max_abs(g[0]).shape == (16, 16)


def test_abs_sum():
    m = np.array([[[[1.0, -2.0], [0.5, 0.0]]]])
    np.testing.assert_array_equal(explain.abs_sum(m), [[[3.0, 0.5]]])


def test_percentile_visualisation_is_robust_to_one_outlier():
    # Behaviour 27: PAIR's VisualizeImageGrayscale semantics.
    rng = np.random.default_rng(82)
    m = rng.standard_normal((1, 20, 20, 3))
    s = np.abs(m).sum(axis=-1)
    P = s.size
    top = np.unravel_index(s.argmax(), s.shape)
    spiked = m.copy()
    spiked[top] = 1e6  # replaces a pixel that was already above the 99th percentile
    a, b = explain.normalize_percentile(m), explain.normalize_percentile(spiked)
    for out in (a, b):
        assert out.shape == (1, 20, 20)
        assert out.min() >= 0 and out.max() <= 1
        assert (out == 1.0).sum() >= math.ceil(0.01 * (P - 1))
    assert abs(np.median(a) - np.median(b)) <= 1e-12
    # A plain min-max scaling would have crushed everything but the outlier.
    assert np.median(s / 1e6) < 1e-5 < np.median(b)


def test_percentile_visualisation_formula():
    rng = np.random.default_rng(83)
    m = rng.standard_normal((2, 5, 6, 3))
    out = explain.normalize_percentile(m, percentile=90)
    for n in range(2):
        s = np.abs(m[n]).sum(axis=-1)
        vmax, vmin = np.percentile(s, 90), s.min()
        np.testing.assert_allclose(out[n], np.clip((s - vmin) / (vmax - vmin), 0, 1), 1e-12)
    np.testing.assert_array_equal(explain.normalize_percentile(np.ones((1, 3, 3))), 0.0)


def test_diverging_normalisation_keeps_zero_and_sign():
    rng = np.random.default_rng(84)
    m = rng.standard_normal((2, 6, 6, 3))
    out = explain.normalize_diverging(m)
    s = m.sum(axis=-1)
    assert out.shape == (2, 6, 6)
    assert out.min() >= -1 and out.max() <= 1
    np.testing.assert_array_equal(np.sign(out), np.sign(s))
    np.testing.assert_allclose(explain.normalize_diverging(-m), -out, rtol=1e-12)
    span = np.percentile(np.abs(s[0]), 99)
    np.testing.assert_allclose(out[0], np.clip(s[0] / span, -1, 1), rtol=1e-12)


def test_minmax_normalisation_per_image():
    m = np.stack([np.full((2, 2, 3), 5.0), np.arange(12.0).reshape(2, 2, 3)])
    out = explain.normalize_minmax(m)
    np.testing.assert_array_equal(out[0], 0.5)
    np.testing.assert_allclose(out[1], np.arange(12.0).reshape(2, 2, 3) / 11)


def test_overlay_blends_in_rgb():
    img = np.zeros((4, 5, 3))
    heat = np.zeros((4, 5))
    heat[0, 0] = 2.0
    out = explain.overlay(img, heat, alpha=1.0, cmap="gray")
    assert out.shape == (4, 5, 3)
    np.testing.assert_allclose(out[0, 0], 1.0)  # the maximum maps to the top of the map
    np.testing.assert_allclose(out[1, 1], 0.0)
    half = explain.overlay(np.ones((4, 5, 1)), heat, alpha=0.5, cmap="gray")
    np.testing.assert_allclose(half[1, 1], 0.5)  # grey image channel repeated to RGB
    np.testing.assert_allclose(half[0, 0], 1.0)


def test_overlay_rescales_a_preprocessed_image_and_upsamples_the_heat():
    img = np.random.default_rng(85).uniform(-120, 150, (2, 8, 8, 3))
    heat = np.random.default_rng(86).uniform(0, 1, (2, 4, 4))
    out = explain.overlay(img, heat, alpha=0.3)
    assert out.shape == (2, 8, 8, 3)
    assert out.min() >= 0 and out.max() <= 1


def test_postprocessing_errors_say_what_to_pass():
    with pytest.raises(ShapeError, match=r"For one image of shape \(H, W, C\) pass maps\[None\]"):
        explain.normalize_percentile(np.zeros((4, 4)))
    with pytest.raises(MinidecnnError, match="Expected a number in \\(0, 100\\]"):
        explain.normalize_percentile(np.zeros((1, 4, 4)), percentile=0)
    with pytest.raises(MinidecnnError, match="unknown colour map 'nope'"):
        explain.overlay(np.zeros((4, 4, 3)), np.zeros((4, 4)), cmap="nope")
    with pytest.raises(ShapeError, match="expected an image"):
        explain.overlay(np.zeros((4, 4, 2)), np.zeros((4, 4)))
