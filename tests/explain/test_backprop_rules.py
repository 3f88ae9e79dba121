"""The three backward rules: the gradient is dF/dx; where they coincide and where not.

Reference behaviours 2, 6-12, 14 and 15 of the methods notes. float64 throughout.
"""

import numpy as np
import pytest
from explain_nets import images, reference_net

import minidecnn as mdc
from minidecnn import explain
from minidecnn.gradcheck import numerical_gradient, rel_error
from minidecnn.layers import Dense, ReLU

RULES = {
    "gradient": explain.gradient,
    "deconvnet": explain.deconvnet,
    "guided": explain.guided_backprop,
}


def logit(model, c):
    return lambda v: float(model.forward(v)[0, c])


def test_gradient_matches_centred_differences():
    # Behaviour 2: h = 1e-5 in float64; random inputs have no ReLU/pool kinks within h.
    model = reference_net(seed=0)
    x = images(1, seed=1)
    analytic = explain.gradient(model, x, target=4).raw
    numeric = numerical_gradient(logit(model, 4), x.copy(), h=1e-5)
    normwise = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    assert normwise < 1e-7
    assert rel_error(analytic, numeric, floor=1e-6) < 1e-5


def test_gradient_at_an_intermediate_channel_matches_centred_differences():
    # F = v * a[h, w, c] at the channel's strongest position (Zeiler & Fergus start).
    model = reference_net(seed=2)
    x = images(1, seed=3)
    maps = explain.gradient(model, x, target=5, layer="relu2")
    (h, w, c), v = maps.info["target"]["positions"][0], maps.info["target"]["values"][0]

    def f(z):
        model.forward(z)
        return float(v * model.activations["relu2"][0, h, w, c])

    numeric = numerical_gradient(f, x.copy(), h=1e-5)
    assert np.linalg.norm(maps - numeric) / np.linalg.norm(maps + numeric) < 1e-7


def test_linear_net_all_rules_coincide_and_ignore_the_input():
    # Behaviour 6: without ReLUs and pools the three rules are one linear map.
    model = reference_net(seed=4, relu=False, pool=False)
    x1, x2 = images(1, seed=5), images(1, seed=6)
    maps = {name: f(model, x1, target=2).raw for name, f in RULES.items()}
    assert np.array_equal(maps["gradient"], maps["deconvnet"])
    assert np.array_equal(maps["gradient"], maps["guided"])
    assert np.array_equal(maps["gradient"], explain.gradient(model, x2, target=2).raw)


def test_nonnegative_upper_weights_make_guided_equal_gradient():
    # Behaviour 7: every signal reaching a ReLU is >= 0, so the backward mask is all ones.
    model = reference_net(seed=7)
    for name in ("conv2", "fc1", "fc2"):
        W = model.get_layer(name).params["W"]
        W[...] = np.abs(W)
    x = images(2, seed=8)
    g = explain.gradient(model, x, target=1).raw
    assert np.array_equal(explain.guided_backprop(model, x, target=1).raw, g)
    assert not np.array_equal(explain.deconvnet(model, x, target=1).raw, g)


def test_all_units_active_make_guided_equal_deconvnet():
    # Behaviour 8: shift biases layer by layer so every pre-activation is >= 1.
    model = reference_net(seed=9)
    x = images(2, seed=10)
    for name in ("conv1", "conv2", "fc1"):
        model.forward(x)
        z = model.activations[name]
        b = model.get_layer(name).params["b"]
        b += 1.0 - z.reshape(-1, z.shape[-1]).min(axis=0)
    model.forward(x)
    assert all(model.activations[n].min() >= 1 - 1e-12 for n in ("conv1", "conv2", "fc1"))
    guided = explain.guided_backprop(model, x, target=3).raw
    assert np.array_equal(guided, explain.deconvnet(model, x, target=3).raw)
    assert not np.array_equal(guided, explain.gradient(model, x, target=3).raw)


def test_deconvnet_without_pooling_is_input_blind_and_pooling_makes_it_see():
    # Behaviour 9: with a class start, the image enters only through the switches.
    x1, x2 = images(1, seed=11), images(1, seed=12)
    flat = reference_net(seed=13, pool=False)
    d1, d2 = (explain.deconvnet(flat, x, target=0).raw for x in (x1, x2))
    assert np.array_equal(d1, d2)
    pooled = reference_net(seed=13)
    p1, p2 = (explain.deconvnet(pooled, x, target=0).raw for x in (x1, x2))
    assert np.abs(p1 - p2).max() > 1e-3


def test_one_hidden_layer_closed_forms():
    # Behaviour 10: f = v^T relu(W x) (Dense stores W as (D_in, D_out): z = x @ W).
    rng = np.random.default_rng(14)
    D, H = 5, 7
    model = mdc.Sequential(
        [
            mdc.Input((D,)),
            Dense(H, use_bias=False, name="W"),
            ReLU(),
            Dense(1, use_bias=False, name="v"),
        ]
    ).astype(np.float64)
    W, v = rng.standard_normal((D, H)), rng.standard_normal(H)
    model.set_weights({"W": {"W": W}, "v": {"W": v[:, None]}})
    x = rng.standard_normal((4, D))
    m = (x @ W > 0).astype(float)
    expected = {
        "gradient": (m * v) @ W.T,
        "deconvnet": np.tile(np.maximum(v, 0) @ W.T, (4, 1)),
        "guided": (m * np.maximum(v, 0)) @ W.T,
    }
    for name, f in RULES.items():
        np.testing.assert_allclose(f(model, x, target=0), expected[name], rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", list(RULES))
def test_positive_homogeneity_in_the_top_signal(rule):
    # Behaviour 11: B(alpha t) = alpha B(t) for alpha > 0, at the logits and inside.
    model = reference_net(seed=15)
    x = images(2, seed=16)
    t = np.random.default_rng(17).standard_normal(10)
    f = RULES[rule]
    mask = np.random.default_rng(18).standard_normal((12, 12, 8))
    for a, b in [
        (f(model, x, target=2.5 * t), f(model, x, target=t)),
        (f(model, x, 2.5 * mask, layer="relu1"), f(model, x, mask, layer="relu1")),
    ]:
        # relative to the map's scale: entries that are sums cancelling to ~0 lose digits
        np.testing.assert_allclose(a, 2.5 * b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


@pytest.mark.parametrize("rule", list(RULES))
def test_bias_free_net_maps_are_invariant_to_input_scale(rule):
    # Behaviour 12: masks and switches of a bias-free net do not change under x -> 3.7 x.
    model = reference_net(seed=19, bias=False)
    x = images(2, seed=20)
    f = RULES[rule]
    assert np.array_equal(f(model, x, target=6).raw, f(model, 3.7 * x, target=6).raw)


def test_relu_convention_at_zero():
    # Behaviour 14: z = 0 exactly -> gradient and guided give 0; deconv max(g, 0) regardless.
    model = mdc.Sequential(
        [
            mdc.Input((2,)),
            Dense(3, use_bias=False, name="first"),
            ReLU(),
            Dense(1, use_bias=False, name="top"),
        ]
    ).astype(np.float64)
    W = np.array([[1.0, 1.0, -1.0], [-1.0, 1.0, -0.5]])
    g = np.array([2.0, -3.0, 5.0])
    model.set_weights({"first": {"W": W}, "top": {"W": g[:, None]}})
    x = np.array([[1.0, 1.0]])  # z = [0, 2, -1.5]
    model.forward(x)
    assert model.activations["first"][0, 0] == 0.0
    dz = {
        "gradient": np.array([0.0, -3.0, 0.0]),
        "guided": np.array([0.0, 0.0, 0.0]),
        "deconvnet": np.array([2.0, 0.0, 5.0]),
    }
    for rule, f in RULES.items():
        np.testing.assert_array_equal(f(model, x, target=0)[0], W @ dz[rule])


def test_probability_gradient_matches_the_softmax_jacobian_and_finite_differences():
    # Behaviour 15: dp_c/dx = p_c (grad z_c - sum_j p_j grad z_j).
    model = reference_net(seed=21, softmax=True)
    x = images(1, seed=22)
    c = 3
    dp = explain.gradient(model, x, target=c, probability=True).raw
    p = model.forward(x)[0]
    grads = np.stack([explain.gradient(model, x, target=j).raw[0] for j in range(10)])
    formula = p[c] * (grads[c] - np.tensordot(p, grads, axes=1))
    np.testing.assert_allclose(dp[0], formula, rtol=1e-6, atol=1e-14)
    numeric = numerical_gradient(lambda v: float(model.forward(v)[0, c]), x.copy(), h=1e-5)
    assert np.linalg.norm(dp - numeric) / np.linalg.norm(dp + numeric) < 1e-6


def test_probability_gradient_vanishes_as_the_class_saturates_but_the_logit_does_not():
    model = reference_net(seed=23, softmax=True)
    x = images(1, seed=24)
    model.get_layer("fc2").params["b"][...] = 0.0
    c = int(model.forward(x)[0].argmax())
    while model.forward(x)[0, c] < 1 - 1e-9:  # scale the logits up until p_c -> 1
        model.get_layer("fc2").params["W"][...] *= 2.0
    dp = explain.gradient(model, x, target=c, probability=True)
    dz = explain.gradient(model, x, target=c)
    assert np.linalg.norm(dp) < 1e-6 * np.linalg.norm(dz)
    assert np.linalg.norm(dz) > 1.0


def test_probability_without_a_softmax_layer_applies_the_softmax_itself():
    with_sm = reference_net(seed=25, softmax=True)
    without = reference_net(seed=25)
    x = images(3, seed=26)
    a = explain.guided_backprop(with_sm, x, target=[1, 2, 3], probability=True)
    b = explain.guided_backprop(without, x, target=[1, 2, 3], probability=True)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-15)
    assert a.info["target"]["softmax_node"] == "softmax"
    assert "softmax applied by explain" in b.info["target"]["explains"]


def test_class_targets_skip_a_final_softmax():
    with_sm = reference_net(seed=27, softmax=True)
    without = reference_net(seed=27)
    x = images(2, seed=28)
    np.testing.assert_array_equal(
        explain.gradient(with_sm, x, target=4), explain.gradient(without, x, target=4)
    )
    assert explain.gradient(with_sm, x).info["target"]["node"] == "fc2"


def test_gradient_x_input_is_x_times_the_gradient():
    model = reference_net(seed=29)
    x = images(2, seed=30)
    np.testing.assert_array_equal(
        explain.gradient_x_input(model, x, target=7), x * explain.gradient(model, x, target=7)
    )


def test_batches_give_the_maps_of_each_image_alone():
    model = reference_net(seed=31)
    x = images(3, seed=32)
    for f in RULES.values():
        together = f(model, x, target=[0, 5, 9]).raw
        for n, c in enumerate([0, 5, 9]):
            alone = f(model, x[n : n + 1], target=c)[0]
            np.testing.assert_allclose(together[n], alone, rtol=1e-12, atol=1e-15)


def test_float32_models_give_float32_maps():
    model = reference_net(seed=33).astype(np.float32)
    x = images(2, seed=34).astype(np.float32)
    maps = explain.guided_backprop(model, x)
    assert maps.dtype == np.float32 and maps.shape == x.shape


def test_attribution_never_computes_weight_gradients():
    model = reference_net(seed=35)
    sentinel = {}
    for layer in model.leaf_layers():
        for k in layer.params:
            layer.grads[k] = np.full_like(layer.params[k], 123.0)
            sentinel[(layer.name, k)] = layer.grads[k]
    x = images(2, seed=36)
    explain.gradient(model, x)
    explain.smoothgrad(model, x, n_samples=3, seed=0)
    explain.integrated_gradients(model, x, steps=3)
    for layer in model.leaf_layers():
        for k in layer.params:
            assert layer.grads[k] is sentinel[(layer.name, k)]
            assert np.all(layer.grads[k] == 123.0)
