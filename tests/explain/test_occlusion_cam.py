"""Occlusion (behaviour 28), Grad-CAM / Guided Grad-CAM (behaviour 29), backward(stop=)."""

import numpy as np
import pytest
from explain_nets import cam_net, images, reference_net

import minidecnn as mdc
from minidecnn import explain
from minidecnn.errors import TargetError
from minidecnn.layers import Dense, Flatten

# ---------------------------------------------------------------------- occlusion


def linear_image_model(w):
    """F(x) = sum w * x for images shaped like w."""
    model = mdc.Sequential([mdc.Input(w.shape), Flatten(), Dense(1, use_bias=False, name="w")])
    model.astype(np.float64).set_weights({"W": w.reshape(-1, 1)}, name="w")
    return model


def test_occlusion_on_a_linear_model():
    # Behaviour 28: f(x) - f(x_occ) = sum over the window of w * x (fill 0).
    rng = np.random.default_rng(90)
    w = rng.standard_normal((10, 9, 2))
    w[:, 6:] = 0.0  # columns 6.. do not matter to the model
    x = rng.standard_normal((2, 10, 9, 2))
    occ = explain.occlusion(linear_image_model(w), x, target=0, patch=(4, 3), stride=(3, 2))
    starts_i, starts_j = occ.aux["starts"]
    assert starts_i == [0, 3, 6] and starts_j == [0, 2, 4, 6]  # the last window is cut off
    grid = occ.aux["grid"]
    for a, i in enumerate(starts_i):
        for b, j in enumerate(starts_j):
            expected = (w * x)[:, i : i + 4, j : j + 3].reshape(2, -1).sum(axis=1)
            np.testing.assert_allclose(grid[:, a, b], expected, rtol=0, atol=1e-12)
    # windows off the support of w (exact up to the summation order of the dot product)
    np.testing.assert_allclose(grid[:, :, 3], 0.0, rtol=0, atol=1e-12)
    # Each pixel holds the mean of the windows that cover it, on every channel.
    covering = [
        (a, b)
        for a, i in enumerate(starts_i)
        for b, j in enumerate(starts_j)
        if i <= 3 < i + 4 and j <= 4 < j + 3
    ]
    assert covering == [(0, 1), (0, 2), (1, 1), (1, 2)]  # pixel (3, 4)
    pixel = np.mean([grid[:, a, b] for a, b in covering], axis=0)
    np.testing.assert_allclose(occ[:, 3, 4, 0], pixel, rtol=1e-12)
    np.testing.assert_array_equal(occ[..., 0], occ[..., 1])


def test_occlusion_fill_and_probability():
    model = reference_net(seed=91, softmax=True)
    x = images(1, seed=92)
    occ = explain.occlusion(model, x, target=2, patch=16, stride=16, fill=0.25, probability=True)
    p = model.forward(x)[0, 2]
    p_grey = model.forward(np.full_like(x, 0.25))[0, 2]
    np.testing.assert_allclose(occ.aux["grid"][0, 0, 0], p - p_grey, rtol=1e-12)
    np.testing.assert_allclose(occ, p - p_grey, rtol=1e-12)
    assert "Occlusion(model)" in occ.info["captum"]


def test_occlusion_does_not_depend_on_the_batch_size():
    model = reference_net(seed=93)
    x = images(2, seed=94)
    a = explain.occlusion(model, x, patch=6, stride=5, batch_size=1)
    b = explain.occlusion(model, x, patch=6, stride=5)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_occlusion_errors():
    model = reference_net(seed=95)
    x = images(1, seed=96)
    with pytest.raises(TargetError, match=r"Expected patch <= \(16, 16\), received patch=20"):
        explain.occlusion(model, x, patch=20)
    with pytest.raises(TargetError, match=r"invalid stride\. Expected a positive int"):
        explain.occlusion(model, x, stride=0)
    with pytest.raises(TargetError, match="a target function gives a top signal, not a score"):
        explain.occlusion(model, x, target=lambda z: z)


# ---------------------------------------------------------------------- Grad-CAM


def test_grad_cam_is_relu_cam_over_z():
    # Behaviour 29: for conv -> ReLU -> GAP -> dense, Z * GradCAM_c = max(sum_k w_k^c A^k, 0).
    model = cam_net(seed=97)
    x = images(3, seed=98, shape=(10, 12, 3))
    cam = explain.grad_cam(model, x, target=[0, 1, 3])
    assert cam.info["params"]["conv_layer"] == "relu"  # the conv, after its ReLU
    model.forward(x)
    A = model.activations["relu"]
    W = model.get_layer("fc").params["W"]
    for n, c in enumerate([0, 1, 3]):
        expected = np.maximum(A[n] @ W[:, c], 0)
        np.testing.assert_allclose(10 * 12 * cam.aux["cam"][n], expected, rtol=0, atol=1e-12)
    # Same resolution here, so the bilinear upsampling is the identity.
    assert cam.shape == (3, 10, 12)
    np.testing.assert_allclose(cam, cam.aux["cam"], rtol=1e-12, atol=1e-15)


def test_guided_grad_cam_is_guided_times_upsampled_cam():
    model = reference_net(seed=99)
    x = images(2, seed=100)
    cam = explain.grad_cam(model, x, target=5)
    assert cam.info["params"]["conv_layer"] == "relu2" and cam.aux["cam"].shape == (2, 4, 4)
    assert cam.shape == (2, 16, 16) and np.all(cam >= 0)
    ggc = explain.guided_grad_cam(model, x, target=5)
    gb = explain.guided_backprop(model, x, target=5)
    assert ggc.shape == x.shape
    np.testing.assert_allclose(ggc, gb * cam[..., None], rtol=1e-12, atol=1e-15)
    low = explain.grad_cam(model, x, target=5, conv_layer="conv1", upsample=False)
    assert low.shape == (2, 12, 12)


def test_grad_cam_bilinear_upsampling_matches_a_hand_computed_case():
    from minidecnn.explain._resize import resize_bilinear

    m = np.array([[[0.0, 1.0], [2.0, 3.0]]])
    out = resize_bilinear(m, 4, 4)
    np.testing.assert_allclose(out[0, 0], [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.5, 1.5, 2.0])


def test_grad_cam_needs_feature_maps():
    model = reference_net(seed=101)
    x = images(1, seed=102)
    with pytest.raises(TargetError, match=r"Grad-CAM needs feature maps.*'fc1'"):
        explain.grad_cam(model, x, conv_layer="fc1")
    dense = mdc.Sequential([mdc.Input((4,)), Dense(3)])
    with pytest.raises(TargetError, match="has no convolution at its top level"):
        explain.grad_cam(dense, np.zeros((1, 4), np.float32))


def test_backward_stop_returns_the_gradient_at_an_intermediate_node():
    # For GAP -> dense, dy_c/dA[i, j, k] = W[k, c] / (H * W) exactly.
    model = cam_net(seed=103)
    x = images(2, seed=104, shape=(10, 12, 3))
    out = model.forward(x)
    dout = np.zeros_like(out)
    dout[:, 2] = 1.0
    dA = model.backward(dout, start="fc", stop="relu", param_grads=False)
    W = model.get_layer("fc").params["W"]
    np.testing.assert_allclose(dA, np.broadcast_to(W[:, 2] / 120, dA.shape), rtol=1e-12)
    # and stopping lower gives the same as the full pass would have at that node
    dz = model.backward(dout, start="fc", stop="conv", param_grads=False)
    np.testing.assert_allclose(dz, dA * (model.activations["conv"] > 0), rtol=1e-12)
