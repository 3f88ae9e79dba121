"""The layer contract of minidecnn.layers.base, checked on every layer class."""

import re

import numpy as np
import pytest
from layer_helpers import distinct

import minidecnn.layers as L
from minidecnn.errors import DTypeError, NotFiniteError, ShapeError
from minidecnn.gradcheck import check_layer

# one small instance of every layer, with an input shape it accepts (merge layers: a list)
LAYERS = {
    "Conv2D": (lambda: L.Conv2D(2, 3, strides=2, padding="same", seed=0), (2, 5, 4, 3)),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, seed=0), (2, 5, 4, 3)),
    "SeparableConv2D": (lambda: L.SeparableConv2D(2, 3, padding="same", seed=0), (2, 5, 4, 3)),
    "Dense": (lambda: L.Dense(3, seed=0), (2, 4)),
    "Flatten": (L.Flatten, (2, 3, 2, 2)),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(1), (2, 3, 2, 2)),
    "Dropout": (lambda: L.Dropout(0.5, seed=0), (2, 4)),
    "Rescaling": (lambda: L.Rescaling(0.5, 1.0), (2, 4)),
    "MaxPool2D": (lambda: L.MaxPool2D(2), (2, 4, 4, 2)),
    "AvgPool2D": (lambda: L.AvgPool2D(2, padding="same"), (2, 5, 4, 2)),
    "GlobalAvgPool2D": (L.GlobalAvgPool2D, (2, 3, 3, 2)),
    "GlobalMaxPool2D": (L.GlobalMaxPool2D, (2, 3, 3, 2)),
    "BatchNormalization": (L.BatchNormalization, (2, 3, 3, 2)),
    "ReLU": (L.ReLU, (2, 5)),
    "LeakyReLU": (L.LeakyReLU, (2, 5)),
    "Sigmoid": (L.Sigmoid, (2, 5)),
    "Tanh": (L.Tanh, (2, 5)),
    "Softmax": (L.Softmax, (2, 5)),
    "ELU": (lambda: L.ELU(0.5), (2, 5)),
    "SELU": (L.SELU, (2, 5)),
    "GELU": (L.GELU, (2, 5)),
    "Swish": (L.Swish, (2, 5)),
    "Softplus": (L.Softplus, (2, 5)),
    "Softsign": (L.Softsign, (2, 5)),
    "HardSigmoid": (lambda: L.HardSigmoid(slope=0.2), (2, 5)),
    "HardSiLU": (L.HardSiLU, (2, 5)),
    "Exponential": (L.Exponential, (2, 5)),
    "Add": (L.Add, [(2, 3, 2), (2, 3, 2)]),
    "Concatenate": (L.Concatenate, [(2, 3, 2), (2, 3, 1)]),
}
IDS = list(LAYERS)
NONLINEAR = {"Sigmoid", "Tanh", "Softmax", "ELU", "SELU", "GELU", "Swish", "Softplus", "Softsign",
             "HardSigmoid", "HardSiLU", "Exponential"}  # fmt: skip


def make(name, dtype=np.float64, seed=0):
    factory, shape = LAYERS[name]
    rng = np.random.default_rng(seed)
    if isinstance(shape, list):
        return factory(), [rng.standard_normal(s).astype(dtype) for s in shape]
    return factory(), rng.standard_normal(shape).astype(dtype)


def test_every_exported_layer_is_covered():
    exported = {
        n
        for n in L.__all__
        if isinstance(getattr(L, n), type) and issubclass(getattr(L, n), L.Layer) and n != "Layer"
    }
    aliases = {"MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D"}
    aliases |= {"SiLU", "HardSwish"}  # Swish, HardSiLU
    assert exported - aliases == set(LAYERS)


@pytest.mark.parametrize("name", IDS)
def test_cache_slots_are_declared_none_then_filled(name):
    layer, x = make(name)
    for slot in layer.cache_slots:
        assert getattr(layer, slot) is None, slot
    layer.forward(x)
    filled = [slot for slot in layer.cache_slots if getattr(layer, slot) is not None]
    assert filled or name == "Dropout"  # Dropout at inference caches no mask


@pytest.mark.parametrize("name", IDS)
@pytest.mark.parametrize("method", ["backward", "deconv", "guided"])
def test_backward_before_forward_raises(name, method):
    layer, x = make(name)
    layer.build([a.shape[1:] for a in x] if isinstance(x, list) else x.shape[1:])
    dout = np.ones((2, *layer.output_shape))
    with pytest.raises(
        RuntimeError,
        match=re.escape(
            f"{type(layer).__name__} '{layer.name}': backward called before forward. Run "
            f"forward(x) first: the backward pass needs the forward pass's cache."
        ),
    ):
        getattr(layer, method)(dout)


@pytest.mark.parametrize("name", IDS)
def test_clear_cache_then_backward_raises(name):
    layer, x = make(name)
    y = layer.forward(x)
    layer.clear_cache()
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones_like(y))


@pytest.mark.parametrize("name", IDS)
def test_wrong_dout_shape(name):
    layer, x = make(name)
    y = layer.forward(x)
    bad = np.ones((y.shape[0] + 1, *y.shape[1:]))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{type(layer).__name__} '{layer.name}': wrong dout shape. Expected {y.shape} (the "
            f"shape of the last forward's output), received {bad.shape}."
        ),
    ):
        layer.backward(bad)


@pytest.mark.parametrize("name", IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_grads_match_params(name, dtype):
    layer, x = make(name, dtype)
    layer.astype(dtype)
    y = layer.forward(x)
    for a in y if isinstance(y, list) else [y]:
        assert a.dtype == dtype
    dxs = layer.backward(np.ones_like(y) if not isinstance(y, list) else y)
    for d in dxs if isinstance(dxs, list) else [dxs]:
        assert d.dtype == dtype
    assert set(layer.grads) == set(layer.params)
    for k, g in layer.grads.items():
        assert g.shape == layer.params[k].shape and g.dtype == dtype, k


@pytest.mark.parametrize("name", IDS)
def test_output_shape_matches_compute_output_shape(name):
    layer, x = make(name)
    y = layer.forward(x)
    assert y.shape == (2, *layer.output_shape)


@pytest.mark.parametrize("name", IDS)
def test_get_config_rebuilds_the_same_layer(name):
    layer, x = make(name)
    y = layer.forward(x)
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    twin = type(layer)(**config)
    twin.build([a.shape[1:] for a in x] if isinstance(x, list) else x.shape[1:])
    twin.astype(layer.dtype)
    for k, v in layer.params.items():
        twin.params[k][...] = v
    for k, v in layer.buffers.items():
        twin.buffers[k][...] = v
    np.testing.assert_array_equal(twin.forward(x), y)


def test_default_names_follow_keras():
    a, b = L.MaxPool2D(), L.MaxPooling2D()
    assert a.name.startswith("max_pooling2d") and b.name.startswith("max_pooling2d_")
    assert L.GlobalAvgPool2D().name.startswith("global_average_pooling2d")
    assert L.ReLU().name.startswith("re_lu")
    assert L.BatchNormalization().name.startswith("batch_normalization")
    with pytest.raises(
        ValueError,
        match=re.escape("Dense: invalid name. Expected a non-empty string, received name=''."),
    ):
        L.Dense(2, name="")


@pytest.mark.parametrize("name", ["Conv2D", "Dense", "ReLU"])
def test_layer_input_errors_name_the_layer(name):
    layer, x = make(name, np.float32)
    where = f"{type(layer).__name__} '{layer.name}'"
    with pytest.raises(
        DTypeError,
        match=re.escape(
            f"{where}: the input has dtype int64. Expected a floating-point array (float32 or "
            f"float64), received int64. Convert it with x.astype('float32')"
        ),
    ):
        layer.forward(x.astype(np.int64))
    bad = x.copy()
    bad.flat[1] = np.nan
    with pytest.raises(
        NotFiniteError,
        match=re.escape(
            f"{where}: the input contains 1 NaN and 0 infinite values (the first at index "
            f"{tuple(int(i) for i in np.unravel_index(1, x.shape))}). Expected finite numbers "
            f"everywhere."
        ),
    ):
        layer.forward(bad)
    layer.forward(x)  # built now
    with pytest.raises(
        ShapeError,
        match=re.escape(
            f"{where}: wrong input shape. Expected (N, {', '.join(map(str, x.shape[1:]))}), "
            f"received {x[0].shape}. This looks like one example without the batch axis: "
            f"pass x[None]."
        ),
    ):
        layer.forward(x[0])


@pytest.mark.parametrize("name", IDS)
def test_adjointness_of_every_linear_layer(name):
    """<f(x) - f(0), y> = <x, f^T(y)> to 1e-10 in float64 for every layer that is linear
    (or affine, or linear once its switches/masks are fixed: ReLU, max-pooling)."""
    layer, x = make(name)
    if isinstance(x, list):
        x = [distinct(np.random.default_rng(k), a.shape) for k, a in enumerate(x)]
    else:
        x = distinct(np.random.default_rng(0), x.shape)  # no ties: switches well defined
    layer.forward(x)
    kind = layer.linearity
    report = check_layer(layer, x, verbose=False)
    adjoint = [c for c in report.checks if c.name.startswith("adjoint")]
    if kind == "nonlinear":
        assert name in NONLINEAR and not adjoint
        return
    assert len(adjoint) == 1 and adjoint[0].error < 1e-10, str(report)
