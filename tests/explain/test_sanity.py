"""What the maps are sensitive to (reference behaviours 30-33).

Mean-shift invariance (Kindermans et al.), class insensitivity and image recovery of
Guided Backprop on random networks (Nie, Zhang & Patel 2018), cascading
randomisation (Adebayo et al. 2018). The statistical ones use fixed seeds and small
random networks; the thresholds are the ones of the methods notes.
"""

import numpy as np
import pytest
from explain_nets import images, pearson, reference_net
from scipy.stats import spearmanr

import minidecnn as mdc
from minidecnn import explain
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU


def test_mean_shift_invariance():
    # Behaviour 30: net2(x + m) = net1(x) by folding -W m into conv1's bias (valid padding).
    x = images(2, seed=110)
    m = np.array([0.5, -1.0, 2.0])
    net1, net2 = reference_net(seed=111), reference_net(seed=111)
    W = net1.get_layer("conv1").params["W"]
    net2.get_layer("conv1").params["b"][...] -= np.einsum("uvcf,c->f", W, m)
    np.testing.assert_allclose(net2.forward(x + m), net1.forward(x), rtol=1e-12)
    for f in (explain.gradient, explain.deconvnet, explain.guided_backprop):
        np.testing.assert_allclose(f(net2, x + m, target=3), f(net1, x, target=3), 1e-12, 1e-14)
    # (a per-channel shift changes each image's range, so give the same absolute sigma)
    sg1 = explain.smoothgrad(net1, x, target=3, n_samples=4, sigma=0.3, seed=0)
    sg2 = explain.smoothgrad(net2, x + m, target=3, n_samples=4, sigma=0.3, seed=0)
    np.testing.assert_allclose(sg2, sg1, rtol=1e-9, atol=1e-12)
    gxi1 = explain.gradient_x_input(net1, x, target=3)
    gxi2 = explain.gradient_x_input(net2, x + m, target=3)
    assert np.abs(gxi2 - gxi1).max() > 1e-2


def grey_image(size=32):
    """matplotlib's Grace Hopper photo (shipped offline), block-averaged, mean removed."""
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    img = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg")).astype(np.float64) / 255
    side = min(img.shape[:2]) // size * size
    f = side // size
    img = img[:side, :side].reshape(size, f, size, f, 3).mean(axis=(1, 3))
    return (img - img.mean())[None]


def nie_net(seed, pool, channels=64):
    """Nie et al.'s random net: conv 7x7 (trunc. normal 0.1, no bias, same) -> ReLU ->
    [9x9/1 max-pool] -> dense 100."""
    rng = np.random.default_rng(seed)
    layers = [mdc.Input((32, 32, 3)), Conv2D(channels, 7, padding="same", name="conv"), ReLU()]
    layers += [MaxPool2D(9, strides=1, padding="same")] if pool else []
    model = mdc.Sequential([*layers, Flatten(), Dense(100, name="fc")]).astype(np.float64)
    for name in ("conv", "fc"):
        p = model.get_layer(name).params
        p["W"][...] = np.clip(rng.normal(0, 0.1, p["W"].shape), -0.2, 0.2)
        p["b"][...] = 0.0
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_guided_backprop_is_class_insensitive_where_the_gradient_is_not(seed):
    # Behaviour 31: Spearman(GBP_top, GBP_bottom) > 0.5, |Spearman(grad_top, grad_bottom)| < 0.1.
    model, x = nie_net(seed, pool=False), grey_image()
    z = model.forward(x)[0]
    top, bottom = int(z.argmax()), int(z.argmin())
    gbp = [explain.guided_backprop(model, x, target=c).raw.ravel() for c in (top, bottom)]
    grad = [explain.gradient(model, x, target=c).raw.ravel() for c in (top, bottom)]
    assert spearmanr(*gbp).statistic > 0.5
    assert abs(spearmanr(*grad).statistic) < 0.1


@pytest.mark.parametrize("seed", [0, 1])
def test_guided_backprop_and_pooled_deconvnet_recover_the_image(seed):
    # Behaviour 32: Pearson(channel sum of the map, channel sum of the image).
    x = grey_image()
    image = x[0].sum(axis=-1)
    plain, pooled = nie_net(seed, pool=False), nie_net(seed, pool=True)
    c = int(plain.forward(x)[0].argmax())

    def corr(f, model):
        return pearson(f(model, x, target=c)[0].sum(axis=-1), image)

    assert corr(explain.guided_backprop, plain) > 0.6
    assert corr(explain.gradient, plain) < 0.2
    assert corr(explain.deconvnet, pooled) > 0.4
    assert corr(explain.deconvnet, plain) < 0.2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cascading_randomisation_changes_the_gradient_more_than_guided_backprop(seed):
    # Behaviour 33: re-draw the top dense layer; the gradient map changes more.
    model, x = reference_net(seed=seed), images(1, seed=100 + seed)
    c = int(model.forward(x)[0].argmax())
    methods = (explain.gradient, explain.guided_backprop)
    before = {f: np.abs(f(model, x, target=c).raw) for f in methods}
    rng = np.random.default_rng(1000 + seed)
    fc2 = model.get_layer("fc2").params
    fc2["W"][...] = rng.normal(0, 0.3, fc2["W"].shape)
    fc2["b"][...] = rng.normal(0, 0.1, fc2["b"].shape)
    after = {f: np.abs(f(model, x, target=c).raw) for f in before}
    rho = {f: spearmanr(before[f].ravel(), after[f].ravel()).statistic for f in before}
    assert rho[explain.gradient] < rho[explain.guided_backprop]
