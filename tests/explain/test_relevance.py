"""Gradient x Input, LRP-0 and Integrated Gradients (reference behaviours 17-21).

The LRP-0 reference below is written from the rule itself, on the weights, with its
own forward pass -- it shares no code with minidecnn's backward passes.
"""

import numpy as np
import pytest
from explain_nets import images, reference_net

import minidecnn as mdc
from minidecnn import explain
from minidecnn.layers import Dense, ReLU

# ---------------------------------------------------------------------- LRP-0 reference


def conv_valid(a, W, b):
    """Stride-1 'valid' cross-correlation, NHWC / (KH, KW, C, F)."""
    KH, KW, _, F = W.shape
    N, H, Wd, _ = a.shape
    z = np.zeros((N, H - KH + 1, Wd - KW + 1, F))
    for u in range(KH):
        for v in range(KW):
            z += np.einsum("nhwc,cf->nhwf", a[:, u : u + z.shape[1], v : v + z.shape[2]], W[u, v])
    return z + b


def lrp0_conv(a, W, b, R):
    """R_j = sum_k a_j w_jk / z_k R_k for a valid convolution."""
    KH, KW = W.shape[:2]
    s = R / conv_valid(a, W, b)
    c = np.zeros_like(a)
    for u in range(KH):
        for v in range(KW):
            c[:, u : u + s.shape[1], v : v + s.shape[2]] += np.einsum("nhwf,cf->nhwc", s, W[u, v])
    return a * c


def pool2(a):
    """2x2 max-pool and, per output cell, the (row, col) of the first maximum."""
    N, H, W, C = a.shape
    win = a.reshape(N, H // 2, 2, W // 2, 2, C).transpose(0, 1, 3, 5, 2, 4).reshape(-1, 4)
    arg = win.argmax(axis=1)
    return win.max(axis=1).reshape(N, H // 2, W // 2, C), arg


def lrp0_pool(a, arg, R):
    """Winner takes all: each window's relevance goes to its maximum."""
    N, H, W, C = a.shape
    out = np.zeros((R.size, 4))
    out[np.arange(R.size), arg] = R.reshape(-1)
    return out.reshape(N, H // 2, W // 2, C, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(a.shape)


def lrp0(model, x, c):
    """LRP-0 relevances of logit c for the reference net, starting from R = z_c."""
    p = {
        name: {"b": 0.0, **model.get_layer(name).params}
        for name in ("conv1", "conv2", "fc1", "fc2")
    }
    a0 = x
    z1 = conv_valid(a0, p["conv1"]["W"], p["conv1"]["b"])
    a1, arg1 = pool2(np.maximum(z1, 0))
    z2 = conv_valid(a1, p["conv2"]["W"], p["conv2"]["b"])
    a2, arg2 = pool2(np.maximum(z2, 0))
    f = a2.reshape(len(x), -1)
    z3 = f @ p["fc1"]["W"] + p["fc1"]["b"]
    a3 = np.maximum(z3, 0)
    z4 = a3 @ p["fc2"]["W"] + p["fc2"]["b"]
    np.testing.assert_allclose(z4, model.forward(x), rtol=1e-12)  # the same network

    R4 = np.zeros_like(z4)
    R4[:, c] = z4[:, c]
    R3 = a3 * ((R4 / z4) @ p["fc2"]["W"].T)  # ReLUs pass relevance unchanged
    Rf = f * ((R3 / z3) @ p["fc1"]["W"].T)
    R2 = lrp0_pool(np.maximum(z2, 0), arg2, Rf.reshape(a2.shape))
    R1 = lrp0_conv(a1, p["conv2"]["W"], p["conv2"]["b"], R2)
    R1 = lrp0_pool(np.maximum(z1, 0), arg1, R1)
    return lrp0_conv(a0, p["conv1"]["W"], p["conv1"]["b"], R1), z4[:, c]


# ---------------------------------------------------------------------- behaviours


def test_gradient_x_input_equals_lrp0_with_biases():
    # Behaviour 17 (tolerance 1e-12 absolute).
    model = reference_net(seed=40)
    x = images(2, seed=41)
    R, _ = lrp0(model, x, c=3)
    gxi = explain.gradient_x_input(model, x, target=3)
    np.testing.assert_allclose(gxi, R, rtol=0, atol=1e-12)


def test_euler_conservation_for_bias_free_nets():
    # Behaviour 18: sum x * grad z_c = z_c(x), and sum LRP-0 = z_c(x).
    model = reference_net(seed=42, bias=False)
    x = images(2, seed=43)
    R, z_c = lrp0(model, x, c=5)
    gxi = explain.gradient_x_input(model, x, target=5).reshape(2, -1).sum(axis=1)
    np.testing.assert_allclose(gxi, z_c, rtol=1e-12)
    np.testing.assert_allclose(R.reshape(2, -1).sum(axis=1), z_c, rtol=1e-12)


def test_conservation_fails_with_biases():
    model = reference_net(seed=44)
    x = images(2, seed=45)
    z_c = model.forward(x)[:, 5]
    total = explain.gradient_x_input(model, x, target=5).reshape(2, -1).sum(axis=1)
    assert np.abs(total - z_c).max() > 1e-3


def test_integrated_gradients_equal_gradient_x_input_for_bias_free_nets():
    # Behaviour 19: every path point of a zero-baseline path has the same gradient.
    model = reference_net(seed=46, bias=False)
    x = images(2, seed=47)
    ig = explain.integrated_gradients(model, x, target=[1, 8], steps=5)
    gxi = explain.gradient_x_input(model, x, target=[1, 8])
    np.testing.assert_allclose(ig, gxi, rtol=0, atol=1e-12)


def test_integrated_gradients_completeness():
    # Behaviour 20: |sum IG - (F(x) - F(0))| <= 5 % with m = 300, biases included.
    model = reference_net(seed=48)
    x = images(2, seed=49)
    ig = explain.integrated_gradients(model, x, target=2, steps=300)
    delta = model.forward(x)[:, 2] - model.forward(np.zeros_like(x))[:, 2]
    total = ig.reshape(2, -1).sum(axis=1)
    assert np.all(np.abs(total - delta) <= 0.05 * np.abs(delta))
    np.testing.assert_allclose(ig.info["completeness"]["sum_ig"], total, rtol=1e-12)
    np.testing.assert_allclose(ig.info["completeness"]["f_x_minus_f_baseline"], delta, 1e-12)


def test_integrated_gradients_completeness_with_a_baseline_image_and_a_channel_target():
    model = reference_net(seed=50)
    x, base = images(1, seed=51), images(1, seed=52)
    ig = explain.integrated_gradients(model, x, target=3, layer="relu2", baseline=base, steps=60)
    pos, v = ig.info["target"]["positions"][0], ig.info["target"]["values"][0]
    model.forward(base)
    delta = v * v - v * model.activations["relu2"][(0, *pos)]  # F = v * a, and a(x) = v
    assert abs(ig.sum() - delta) <= 0.05 * abs(delta)
    np.testing.assert_allclose(ig.info["completeness"]["f_x_minus_f_baseline"], [delta])


@pytest.mark.parametrize("steps", [7, 20, 50])
def test_integrated_gradients_sensitivity_toy(steps):
    # Behaviour 21: f(t) = 1 - relu(1 - t) at t = 2: gradient 0, IG = f(2) - f(0) = 1.
    model = mdc.Sequential(
        [mdc.Input((1,)), Dense(1, name="a"), ReLU(), Dense(1, name="b")]
    ).astype(np.float64)
    model.set_weights({"a": {"W": [[-1.0]], "b": [1.0]}, "b": {"W": [[-1.0]], "b": [1.0]}})
    x = np.array([[2.0]])
    assert explain.gradient(model, x, target=0)[0, 0] == 0.0
    ig = explain.integrated_gradients(model, x, target=0, steps=steps)
    assert abs(ig[0, 0] - 1.0) <= 2 / steps


def test_integrated_gradients_do_not_depend_on_the_batch_size():
    model = reference_net(seed=53)
    x = images(2, seed=54)
    a = explain.integrated_gradients(model, x, steps=9, batch_size=1)
    b = explain.integrated_gradients(model, x, steps=9, batch_size=7)
    c = explain.integrated_gradients(model, x, steps=9)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-15)
    assert a.info["params"]["batch_size"] == 1


def test_integrated_gradients_of_a_linear_model_are_exact_for_any_steps():
    model = reference_net(seed=55, relu=False, pool=False)
    x = images(1, seed=56)
    w = explain.gradient(model, x, target=0)
    for steps in (1, 3):
        ig = explain.integrated_gradients(model, x, target=0, steps=steps, baseline=0.5)
        np.testing.assert_allclose(ig, (x - 0.5) * w, rtol=1e-12, atol=1e-14)
