"""SmoothGrad, SmoothGrad-Squared and VarGrad (reference behaviours 22-26)."""

import inspect
import math

import numpy as np
import pytest
from explain_nets import HalfQuadratic, half_square_probe, images, reference_net

import minidecnn as mdc
from minidecnn import explain
from minidecnn.layers import Dense, Flatten, ReLU


def test_smoothgrad_tends_to_the_gradient_as_sigma_vanishes():
    # Behaviour 22: sigma = 1e-9 * range, n = 5 -> the gradient, relative 1e-9.
    model = reference_net(seed=60)
    x = images(2, seed=61)
    sg = explain.smoothgrad(model, x, target=4, n_samples=5, noise_level=1e-9, seed=0)
    g = explain.gradient(model, x, target=4)
    np.testing.assert_allclose(sg, g, rtol=1e-9, atol=1e-9 * np.abs(g).max())


def test_smoothgrad_of_a_relu_is_the_normal_cdf():
    # Behaviour 23: f = relu(t), t = 0.3, sigma = 0.5: SG = P(t + e > 0) = Phi(0.6).
    model = mdc.Sequential([mdc.Input((1,)), ReLU()]).astype(np.float64)
    n = 200_000
    sg = explain.smoothgrad(model, np.array([[0.3]]), target=0, n_samples=n, sigma=0.5, seed=1)
    phi = 0.5 * (1 + math.erf(0.6 / math.sqrt(2)))
    assert abs(sg[0, 0] - phi) <= 3 * math.sqrt(phi * (1 - phi) / n)


def test_smoothgrad_variants_on_a_linear_model():
    # Behaviour 24: SG = w, VarGrad = 0, SG-SQ = w^2, for any sigma and n.
    model = mdc.Sequential([mdc.Input((4, 4, 2)), Flatten(), Dense(3, name="lin")])
    model.astype(np.float64)
    rng = np.random.default_rng(62)
    model.set_weights({"W": rng.standard_normal((32, 3)), "b": rng.standard_normal(3)}, "lin")
    x = rng.standard_normal((2, 4, 4, 2))
    w = model.get_layer("lin").params["W"][:, 1].reshape(4, 4, 2)
    kw = {"target": 1, "n_samples": 7, "noise_level": 0.3, "seed": 3}
    np.testing.assert_allclose(explain.smoothgrad(model, x, **kw), [w, w], rtol=0, atol=1e-12)
    sq = explain.smoothgrad(model, x, variant="squared", **kw)
    np.testing.assert_allclose(sq, [w**2, w**2], rtol=0, atol=1e-12)
    vg = explain.smoothgrad(model, x, variant="vargrad", **kw)
    np.testing.assert_allclose(vg, 0.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [0.0, 15.0])
def test_vargrad_of_a_quadratic_does_not_depend_on_x(scale):
    # Behaviour 25: f = 1/2 x^T A x, VarGrad_i = sigma^2 sum_j A_ij^2 at x = 0 and |x| ~ 26.
    rng = np.random.default_rng(63)
    B = rng.standard_normal((3, 3))
    A = (B + B.T) / 2
    model = mdc.Sequential([mdc.Input((3,)), HalfQuadratic(A)])
    x = scale * np.array([[1.0, 1.0, 1.0]])
    sigma = 0.7
    vg = explain.smoothgrad(
        model, x, target=0, n_samples=200_000, sigma=sigma, variant="vargrad", seed=4
    )
    expected = sigma**2 * (A**2).sum(axis=1)
    np.testing.assert_allclose(vg[0], expected, rtol=0.02)


def test_noise_specification():
    # Behaviour 26 (guards the seed tutorial's U[0, 1) noise): zero mean, std = 0.15 x the
    # range of each image, checked through a probe whose gradient is its input.
    rng = np.random.default_rng(64)
    x = np.stack([rng.uniform(0, 1, (16, 16, 3)), rng.uniform(-3, 5, (16, 16, 3))])
    model = half_square_probe((16, 16, 3))
    n = 100
    kw = {"target": 0, "n_samples": n, "noise_level": 0.15, "seed": 5}
    mean = explain.smoothgrad(model, x, **kw)
    var = explain.smoothgrad(model, x, variant="vargrad", **kw)
    ranges = x.reshape(2, -1).max(axis=1) - x.reshape(2, -1).min(axis=1)
    sigma = 0.15 * ranges
    np.testing.assert_allclose(mean.info["sigma"], sigma, rtol=1e-12)
    for i in range(2):
        count = n * x[i].size
        noise_mean = float((mean[i] - x[i]).mean())  # the mean of every noise draw
        assert abs(noise_mean) < 4 * sigma[i] / math.sqrt(count)
        noise_std = math.sqrt(float(var[i].mean()) * n / (n - 1))
        assert abs(noise_std / sigma[i] - 1) < 0.02
    assert "0.15 * [" in mean.describe()


def test_noise_defaults_follow_the_paper():
    params = inspect.signature(explain.smoothgrad).parameters
    assert 0.10 <= params["noise_level"].default <= 0.20
    assert 25 <= params["n_samples"].default <= 64
    assert params["variant"].default == "mean"


def test_smoothgrad_is_reproducible_and_independent_of_the_batch_size():
    model = reference_net(seed=65)
    x = images(2, seed=66)
    kw = {"n_samples": 6, "seed": 7}
    a = explain.smoothgrad(model, x, batch_size=1, **kw)
    b = explain.smoothgrad(model, x, batch_size=5, **kw)
    c = explain.smoothgrad(model, x, **kw)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-15)
    d = explain.smoothgrad(model, x, n_samples=6, seed=8)
    assert not np.allclose(a, d)


def test_smoothgrad_reports_the_seed_it_drew():
    model = reference_net(seed=67)
    x = images(1, seed=68)
    first = explain.smoothgrad(model, x, n_samples=3)
    seed = first.info["params"]["seed"]
    assert isinstance(seed, int)
    again = explain.smoothgrad(model, x, n_samples=3, seed=seed)
    np.testing.assert_array_equal(first, again)


def test_noisy_samples_are_the_inputs_smoothgrad_averages_over():
    model = half_square_probe((8, 8, 3))
    x = images(2, seed=69, shape=(8, 8, 3))
    samples = explain.noisy_samples(x, n_samples=5, noise_level=0.2, seed=9)
    assert samples.shape == (2, 5, 8, 8, 3)
    sg = explain.smoothgrad(model, x, target=0, n_samples=5, noise_level=0.2, seed=9)
    np.testing.assert_allclose(sg, samples.mean(axis=1), rtol=1e-12)


def test_absolute_sigma_per_image():
    model = half_square_probe((8, 8, 3))
    x = images(2, seed=70, shape=(8, 8, 3))
    sg = explain.smoothgrad(model, x, target=0, n_samples=4, sigma=[0.0, 2.0], seed=10)
    np.testing.assert_allclose(sg[0], x[0], rtol=1e-12)  # sigma 0: no noise at all
    assert np.abs(sg[1] - x[1]).max() > 0.1
    assert sg.info["sigma"] == [0.0, 2.0]
    assert "absolute" in sg.describe()


@pytest.mark.parametrize("base", ["guided", "deconvnet", "gradient_x_input"])
def test_smoothgrad_of_other_maps_tends_to_that_map(base):
    model = reference_net(seed=71)
    x = images(2, seed=72)
    sg = explain.smoothgrad(model, x, target=1, n_samples=3, noise_level=1e-10, base=base)
    f = {
        "guided": explain.guided_backprop,
        "deconvnet": explain.deconvnet,
        "gradient_x_input": explain.gradient_x_input,
    }[base]
    ref = f(model, x, target=1)
    np.testing.assert_allclose(sg, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
    assert sg.info["relu_rule"] == ref.info["relu_rule"]


def test_smoothgrad_of_integrated_gradients():
    model = reference_net(seed=73)
    x = images(1, seed=74)
    sg = explain.smoothgrad(
        model, x, n_samples=2, noise_level=1e-10, base="integrated_gradients", steps=4
    )
    ig = explain.integrated_gradients(model, x, steps=4)
    np.testing.assert_allclose(sg, ig, rtol=1e-7, atol=1e-7 * np.abs(ig).max())
    assert sg.info["params"]["steps"] == 4


def test_smoothgrad_at_an_intermediate_channel_keeps_the_clean_position():
    model = reference_net(seed=75)
    x = images(2, seed=76)
    sg = explain.smoothgrad(model, x, target=2, layer="relu2", n_samples=3, noise_level=1e-10)
    g = explain.gradient(model, x, target=2, layer="relu2")
    assert sg.info["target"]["positions"] == g.info["target"]["positions"]
    np.testing.assert_allclose(sg, g, rtol=1e-8, atol=1e-8 * np.abs(g).max())
