"""Conv2D, DepthwiseConv2D, SeparableConv2D: hand cases, an independent reference,
float64 gradient checks (tolerance: see layer_helpers), adjointness, deconv."""

import numpy as np
import pytest
from layer_helpers import assert_gradcheck, check_names

import minidecnn.layers.conv as conv_module
from minidecnn.errors import ShapeError
from minidecnn.kernels import window_geometry
from minidecnn.layers import Conv2D, DepthwiseConv2D, SeparableConv2D


def reference_conv(x, W, b, strides, padding):
    """Direct loops over output positions on an explicitly padded input (no im2col)."""
    N, H, Wd, C = x.shape
    KH, KW, _, F = W.shape
    H_out, top, bottom = window_geometry(H, KH, strides[0], padding)
    W_out, left, right = window_geometry(Wd, KW, strides[1], padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    y = np.zeros((N, H_out, W_out, F))
    for i in range(H_out):
        for j in range(W_out):
            patch = xp[
                :, i * strides[0] : i * strides[0] + KH, j * strides[1] : j * strides[1] + KW
            ]
            y[:, i, j, :] = np.einsum("nuvc,uvcf->nf", patch, W) + b
    return y


def reference_depthwise(x, W, b, strides, padding):
    C, M = W.shape[2], W.shape[3]
    out = [
        reference_conv(x[..., c : c + 1], W[:, :, c : c + 1, m : m + 1], 0.0, strides, padding)
        for c in range(C)
        for m in range(M)
    ]  # order c*M + m, as Keras
    return np.concatenate(out, axis=-1) + b


GEOMETRIES = [  # (x shape, kernel, strides, padding)
    ((2, 5, 5, 2), (3, 3), (1, 1), "valid"),
    ((2, 6, 5, 2), (3, 3), (2, 2), "same"),  # odd total padding on the height
    ((1, 5, 7, 3), (2, 3), (1, 2), "same"),  # non-square everything
    ((1, 7, 6, 1), (3, 2), (3, 1), "valid"),  # stride 3 > kernel height 3? equal; ragged edge
    ((1, 4, 4, 2), (1, 1), (2, 2), "valid"),
]


def test_conv2d_by_hand_stride_2_same():
    """4x4 image 0..15, 3x3 kernel of ones, stride 2, 'same': total padding 1, all of it
    bottom/right. Each output is a window sum plus the bias 1."""
    conv = Conv2D(1, 3, strides=2, padding="same")
    conv.build((4, 4, 1))
    conv.params["W"][:] = 1.0
    conv.params["b"][:] = 1.0
    y = conv.forward(np.arange(16.0).reshape(1, 4, 4, 1))
    # rows 0-2 x cols 0-2: 0+1+2+4+5+6+8+9+10 = 45; rows 0-2 x cols 2-3: 2+3+6+7+10+11 = 39
    # rows 2-3 x cols 0-2: 8+9+10+12+13+14 = 66;   rows 2-3 x cols 2-3: 10+11+14+15 = 50
    np.testing.assert_array_equal(y[0, :, :, 0], [[46, 40], [67, 51]])
    dx = conv.backward(np.ones((1, 2, 2, 1)))
    # how many of the four windows cover each pixel
    np.testing.assert_array_equal(
        dx[0, :, :, 0], [[1, 1, 2, 1], [1, 1, 2, 1], [2, 2, 4, 2], [1, 1, 2, 1]]
    )
    np.testing.assert_array_equal(conv.grads["b"], [4.0])


@pytest.mark.parametrize(("shape", "kernel", "strides", "padding"), GEOMETRIES)
@pytest.mark.parametrize("block_bytes", [None, 64], ids=["one block", "bands of rows"])
def test_conv2d_matches_direct_loops(shape, kernel, strides, padding, block_bytes, monkeypatch):
    if block_bytes is not None:
        monkeypatch.setattr(conv_module, "COLS_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(0)
    conv = Conv2D(3, kernel, strides=strides, padding=padding, seed=1).astype(np.float64)
    conv.build(shape[1:])
    conv.params["b"][:] = rng.standard_normal(3)
    x = rng.standard_normal(shape)
    expected = reference_conv(x, conv.params["W"], conv.params["b"], strides, padding)
    np.testing.assert_allclose(conv.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("shape", "kernel", "strides", "padding"), GEOMETRIES)
def test_conv2d_bands_equal_one_block(shape, kernel, strides, padding, monkeypatch):
    """Cutting the im2col matrix into bands (or groups of images) changes nothing."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    conv = Conv2D(2, kernel, strides=strides, padding=padding, seed=2).astype(np.float64)
    y = conv.forward(x)
    dout = rng.standard_normal(y.shape)
    dx = conv.backward(dout)
    dW = conv.grads["W"].copy()
    for budget in (1, 200, 10**4):  # one row per band; a few rows; whole images grouped
        monkeypatch.setattr(conv_module, "COLS_BLOCK_BYTES", budget)
        np.testing.assert_allclose(conv.forward(x), y, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(conv.backward(dout), dx, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(conv.grads["W"], dW, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("shape", "kernel", "strides", "padding"), GEOMETRIES)
def test_conv2d_gradcheck_and_adjoint(shape, kernel, strides, padding):
    rng = np.random.default_rng(2)
    conv = Conv2D(2, kernel, strides=strides, padding=padding, seed=3)
    conv.build(shape[1:])
    conv.params["b"][:] = rng.standard_normal(2)
    report = assert_gradcheck(conv, rng.standard_normal(shape))
    assert {
        "dx vs centred differences",
        "dW vs centred differences",
        "db vs centred differences",
        "adjoint <f(x), y> = <x, f^T(y)>",
    } <= set(check_names(report))


def test_conv2d_deconv_is_a_full_convolution_with_flipped_filters():
    """Stride 1, no padding: deconv(A)[c] = sum_f convolve2d(A[f], W[:, :, c, f], 'full')
    (convolve2d flips the kernel), the Zeiler & Fergus filtering step."""
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(3)
    conv = Conv2D(3, (3, 2), seed=4).astype(np.float64)
    conv.forward(rng.standard_normal((1, 6, 5, 2)))
    A = rng.standard_normal((1, 4, 4, 3))
    got = conv.deconv(A)
    W = conv.params["W"]
    expected = np.stack(
        [
            sum(signal.convolve2d(A[0, :, :, f], W[:, :, c, f], "full") for f in range(3))
            for c in range(2)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(got[0], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(conv.guided(A), got)  # no ReLU inside: all rules agree


def test_conv2d_input_gradient_only_leaves_weight_grads_alone():
    rng = np.random.default_rng(4)
    conv = Conv2D(2, 3, padding="same", seed=5)
    x = rng.standard_normal((1, 5, 5, 1)).astype(np.float32)
    dout = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    conv.forward(x)
    dx_full = conv.backward(dout)
    before = {k: v.copy() for k, v in conv.grads.items()}
    dx_only = conv.backward(2 * dout, param_grads=False)
    np.testing.assert_allclose(dx_only, 2 * dx_full, rtol=1e-6)
    for k in before:
        np.testing.assert_array_equal(conv.grads[k], before[k])


def test_conv2d_dtypes():
    x32 = np.ones((1, 4, 4, 2), np.float32)
    conv = Conv2D(3, 3, seed=0)
    assert conv.forward(x32).dtype == np.float32
    assert conv.backward(np.ones((1, 2, 2, 3), np.float32)).dtype == np.float32
    conv.astype(np.float64)
    assert conv.params["W"].dtype == np.float64
    assert conv.forward(x32.astype(np.float64)).dtype == np.float64
    assert conv.backward(np.ones((1, 2, 2, 3))).dtype == np.float64
    assert conv.grads["W"].dtype == np.float64


def test_conv2d_glorot_init_is_seeded():
    a, b = Conv2D(4, 3, seed=7), Conv2D(4, 3, seed=7)
    a.build((5, 5, 2)), b.build((5, 5, 2))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    limit = np.sqrt(6 / (9 * 2 + 9 * 4))
    assert np.abs(a.params["W"]).max() <= limit
    np.testing.assert_array_equal(a.params["b"], 0.0)


@pytest.mark.parametrize(("shape", "kernel", "strides", "padding"), GEOMETRIES[:3])
@pytest.mark.parametrize("M", [1, 2])
def test_depthwise_matches_reference_and_gradcheck(shape, kernel, strides, padding, M):
    rng = np.random.default_rng(5)
    layer = DepthwiseConv2D(kernel, strides, padding, depth_multiplier=M, seed=6)
    layer.build(shape[1:])
    layer.params["b"][:] = rng.standard_normal(shape[-1] * M)
    x = rng.standard_normal(shape)
    layer.astype(np.float64)
    expected = reference_depthwise(x, layer.params["W"], layer.params["b"], strides, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    layer.astype(np.float32)
    assert_gradcheck(layer, x)


def test_depthwise_by_hand_channel_order():
    """Output channel c*M + m comes from input channel c, multiplier m."""
    layer = DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    layer.build((1, 1, 2))
    layer.params["W"][0, 0] = [[1.0, 2.0], [10.0, 20.0]]  # W[u, v, c, m]
    y = layer.forward(np.array([[[[3.0, 5.0]]]], np.float32))
    np.testing.assert_array_equal(y.ravel(), [3, 6, 50, 100])


def test_separable_by_hand():
    """Depthwise 2x2 sums (weights 1 and 0.5) give 10 and 50; the pointwise step adds
    them with weights 1 and 2, plus the bias 1: 10 + 100 + 1."""
    sep = SeparableConv2D(1, 2)
    sep.build((2, 2, 2))
    sep.params["depthwise_W"][:, :, 0, 0] = 1.0
    sep.params["depthwise_W"][:, :, 1, 0] = 0.5
    sep.params["pointwise_W"][0, 0, :, 0] = [1.0, 2.0]
    sep.params["b"][:] = 1.0
    x = np.stack([[[1, 2], [3, 4]], [[10, 20], [30, 40]]], axis=-1)[None].astype(np.float32)
    np.testing.assert_array_equal(sep.forward(x).ravel(), [111.0])
    dx = sep.backward(np.ones((1, 1, 1, 1), np.float32))
    np.testing.assert_array_equal(dx[0, :, :, 0], np.full((2, 2), 1.0))  # 1 * 1
    np.testing.assert_array_equal(dx[0, :, :, 1], np.full((2, 2), 1.0))  # 0.5 * 2
    np.testing.assert_array_equal(sep.grads["pointwise_W"].ravel(), [10.0, 50.0])


@pytest.mark.parametrize(("shape", "kernel", "strides", "padding"), GEOMETRIES[:3])
def test_separable_is_depthwise_then_pointwise(shape, kernel, strides, padding):
    rng = np.random.default_rng(7)
    sep = SeparableConv2D(3, kernel, strides, padding, depth_multiplier=2, seed=8)
    sep.build(shape[1:])
    sep.params["b"][:] = rng.standard_normal(3)
    sep.astype(np.float64)
    x = rng.standard_normal(shape)
    h = reference_depthwise(x, sep.params["depthwise_W"], 0.0, strides, padding)
    expected = h @ sep.params["pointwise_W"][0, 0] + sep.params["b"]
    np.testing.assert_allclose(sep.forward(x), expected, rtol=1e-12, atol=1e-12)
    sep.astype(np.float32)
    assert_gradcheck(sep, x)


def test_kernel_larger_than_padded_input():
    conv = Conv2D(4, 5, name="big")
    with pytest.raises(ShapeError) as err:
        conv.forward(np.zeros((1, 3, 3, 1), np.float32))
    assert str(err.value) == (
        "Conv2D 'big': the 5x5 window is larger than its padded input. Expected an input "
        "of at least 5x5 (H x W, after padding='valid'), received 3x3 (padded: 3x3). Use "
        "padding='same', a smaller kernel/pool size, or a larger input."
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Conv2D(0, 3),
            "Conv2D: invalid value for argument `filters`. Expected a "
            "strictly positive int, received filters=0.",
        ),
        (lambda: Conv2D(2.5, 3), "received filters=2.5"),
        (
            lambda: Conv2D(4, 3, padding="full"),
            "Conv2D: invalid padding. Expected 'valid' or 'same', received padding='full'.",
        ),
        (
            lambda: Conv2D(4, (3, 0)),
            "Conv2D: invalid kernel_size. Expected a positive int or "
            "a pair of positive ints, received kernel_size=(3, 0).",
        ),
        (lambda: Conv2D(4, 3, strides=-1), "invalid strides"),
        (
            lambda: DepthwiseConv2D(3, depth_multiplier=0),
            "DepthwiseConv2D: invalid value for argument `depth_multiplier`",
        ),
        (
            lambda: SeparableConv2D(2, 3, depth_multiplier=1.5),
            "SeparableConv2D: invalid value for argument `depth_multiplier`",
        ),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError) as err:
        make()
    assert message in str(err.value)


def test_conv_on_vectors_says_it_needs_images():
    with pytest.raises(
        ShapeError,
        match=r"Expected images of shape \(N, H, W, C\), received "
        r"inputs of shape \(N, 28, 28\)\. For grayscale images without a "
        r"channel axis pass x\[\.\.\., None\]\.",
    ):
        Conv2D(2, 3, name="c").forward(np.zeros((1, 28, 28), np.float32))
