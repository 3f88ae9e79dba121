"""Reference models built in real Keras at test time, saved in every file family.

Each builder takes the Keras module (Keras 3 ``keras`` or Keras 2 ``tf_keras``) and
returns ``(model, probes)``: ``probes`` maps a Keras node key (``"name"``, or
``"name:1"`` for the second call of a shared layer) to the symbolic tensor of that
call, so the reference output of *every* layer call can be computed in one
``predict``. Weights are randomised (BN statistics included) with a seed, at a scale
that keeps activations O(1) and the softmax unsaturated.

Files are generated once per session into a temporary folder (a module-level cache,
so every test module that imports the fixture shares them).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import optional_import

_CACHE = {}  # (case, producer) -> generated files and reference outputs, for the session
CASES = {}  # builder name -> (builder, producers)


def case(*producers):
    def register(fn):
        CASES[fn.__name__] = (fn, producers)
        return fn

    return register


def _leaky(K, slope, name):
    if K.__name__ == "keras":
        return K.layers.LeakyReLU(negative_slope=slope, name=name)
    return K.layers.LeakyReLU(alpha=slope, name=name)


@case("k3", "tfk")
def zoo(K):
    """Every supported layer type and option in one functional CNN (odd input size)."""
    L, P = K.layers, {}

    def rec(key, t):
        P[key] = t
        return t

    x = K.Input((15, 13, 3), name="img")
    h = rec("resc", L.Rescaling(1 / 2.0, offset=-0.5, name="resc")(x))
    h = rec("pad", L.ZeroPadding2D(((1, 0), (2, 1)), name="pad")(h))
    h = rec("c1", L.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="c1")(h))
    h = rec("bn1", L.BatchNormalization(name="bn1")(h))
    d = rec("dw", L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw")(h))
    d = rec("bn2", L.BatchNormalization(center=False, scale=False, epsilon=1e-5, name="bn2")(d))
    d = rec("act", L.Activation("relu", name="act")(d))
    s = rec(
        "sep",
        L.SeparableConv2D(8, 3, strides=2, padding="same", use_bias=False, name="sep")(d),
    )
    p = rec("c1x1", L.Conv2D(8, 1, strides=2, activation="sigmoid", name="c1x1")(h))
    a = rec("add", L.Add(name="add")([s, p]))
    a = rec("relu", L.ReLU(name="relu")(a))
    m1 = rec("mp", L.MaxPooling2D(3, strides=2, padding="same", name="mp")(a))
    m2 = rec("ap", L.AveragePooling2D(3, strides=2, padding="same", name="ap")(a))
    c = rec("cat", L.Concatenate(name="cat")([m1, m2]))
    c = rec("leaky", _leaky(K, 0.2, "leaky")(c))
    g = rec("gap", L.GlobalAveragePooling2D(name="gap")(c))
    gm = rec("gmp", L.GlobalMaxPooling2D(keepdims=True, name="gmp")(c))
    f = rec("flat", L.Flatten(name="flat")(gm))
    f2 = rec("flat2", L.Flatten(name="flat2")(c))
    j = rec("cat2", L.Concatenate(name="cat2")([g, f, f2]))
    j = rec("drop", L.Dropout(0.5, name="drop")(j))
    j = rec("fc1", L.Dense(12, activation="tanh", name="fc1")(j))
    j = rec("lin", L.Activation("linear", name="lin")(j))
    j = rec("fc2", L.Dense(7, name="fc2")(j))
    y = rec("soft", L.Softmax(name="soft")(j))
    return K.Model(x, y, name="zoo"), P


@case("k3", "tfk")
def seq(K):
    """Sequential with an explicit Input and a fused final softmax."""
    L = K.layers
    model = K.Sequential(
        [
            K.Input((10, 9, 2)),
            L.Conv2D(4, 3, padding="same", activation="relu", name="sc"),
            L.MaxPooling2D(2, name="pool"),
            L.Conv2D(5, (2, 3), strides=(2, 1), name="sc2"),
            _leaky(K, 0.3, "lk"),
            L.Flatten(name="fl"),
            L.Dense(6, activation="sigmoid", name="d1"),
            L.Dense(4, activation="softmax", name="out"),
        ],
        name="s",
    )
    return model, {layer.name: layer.output for layer in model.layers}


@case("k3", "tfk")
def nested(K):
    """A frozen nested functional model with BN (mixed trainability), a nested Sequential,
    a shared layer called twice and an Add of both calls."""
    L = K.layers
    xi = K.Input((8, 8, 3), name="inner_in")
    c1 = L.Conv2D(4, 3, padding="same", name="ic1")
    c1.trainable = False
    h = L.BatchNormalization(name="ibn")(c1(xi))
    h = L.Conv2D(4, 3, padding="same", activation="relu", name="ic2")(h)
    inner = K.Model(xi, h, name="inner")
    seqi = K.Sequential(
        [K.Input((8, 8, 4)), L.Conv2D(3, 1, name="sq1"), L.BatchNormalization(name="sqbn")],
        name="seqi",
    )
    P = {}
    x = K.Input((8, 8, 3), name="x")
    shared = L.Conv2D(3, 3, padding="same", activation="relu", name="shared")
    a = P["shared"] = shared(x)
    b = P["shared:1"] = shared(a)
    s = P["sum"] = L.Add(name="sum")([a, b])
    i1 = P["inner"] = inner(s)
    i2 = P["inner:1"] = inner(x)
    q = P["seqi"] = seqi(i1)
    m = P["merge"] = L.Concatenate(name="merge")([q, i2])
    g = P["g"] = L.GlobalAveragePooling2D(name="g")(m)
    y = P["top"] = L.Dense(2, name="top")(g)
    return K.Model(x, [y, i2], name="nested"), P


@case("k3", "tfk")
def multi(K):
    """Two inputs (an image and a vector), two outputs."""
    L = K.layers
    a = K.Input((6, 6, 2), name="a")
    v = K.Input((3,), name="v")
    h = L.Conv2D(3, 2, activation="relu", name="conv")(a)
    h = L.Flatten(name="f")(h)
    j = L.Concatenate(name="j")([h, L.Dense(4, name="vd")(v)])
    y1 = L.Dense(3, activation="softmax", name="y1")(j)
    y2 = L.Dense(1, name="y2")(j)
    model = K.Model([a, v], [y1, y2], name="multi")
    return model, {n: model.get_layer(n).output for n in ("conv", "f", "vd", "j", "y1", "y2")}


@case("k3")
def cf(K):
    """A channels_first model: Conv/BN(axis=1)/MaxPool/AvgPool/GAP/Flatten/Dense/Concatenate."""
    L, P, fmt = K.layers, {}, "channels_first"

    def rec(key, t):
        P[key] = t
        return t

    x = K.Input((3, 9, 8), name="x")
    h = rec("c1", L.Conv2D(4, 3, padding="same", activation="relu", data_format=fmt, name="c1")(x))
    h = rec("bn", L.BatchNormalization(axis=1, name="bn")(h))
    h = rec("pad", L.ZeroPadding2D(1, data_format=fmt, name="pad")(h))
    h = rec("mp", L.MaxPooling2D(2, data_format=fmt, name="mp")(h))
    d = rec("dw", L.DepthwiseConv2D(3, padding="same", data_format=fmt, name="dw")(h))
    c = rec("cat", L.Concatenate(axis=1, name="cat")([h, d]))
    a = rec("ap", L.AveragePooling2D(2, strides=1, data_format=fmt, name="ap")(c))
    g = rec("gap", L.GlobalAveragePooling2D(data_format=fmt, name="gap")(a))
    f = rec("fl", L.Flatten(data_format=fmt, name="fl")(a))
    j = rec("j", L.Concatenate(name="j")([f, g]))
    y = rec("out", L.Dense(5, activation="softmax", name="out")(j))
    return K.Model(x, y, name="cf"), P


#: activation strings of each producer (tf.keras has no silu, hard_silu, relu6, leaky_relu)
ACTIVATION_STRINGS = {
    "k3": ["elu", "selu", "gelu", "swish", "silu", "softplus", "softsign", "hard_sigmoid",
           "hard_silu", "hard_swish", "exponential", "relu6", "leaky_relu"],
    "tfk": ["elu", "selu", "gelu", "swish", "softplus", "softsign", "hard_sigmoid",
            "exponential"],
}  # fmt: skip


@case("k3", "tfk")
def acts(K):
    """Every activation minidecnn loads beyond relu/sigmoid/tanh/softmax: as Activation
    layers on one feature map scaled by 3 (so hard_sigmoid's flat parts, |z| > 3, are
    reached), fused into Conv2D/Dense, and the ELU and ReLU(max_value) layer classes."""
    L, P = K.layers, {}

    def rec(key, t):
        P[key] = t
        return t

    producer = "k3" if K.__name__ == "keras" else "tfk"
    x = K.Input((6, 5, 3), name="x")
    h = rec("c", L.Conv2D(4, 3, padding="same", activation="gelu", name="c")(x))
    z = rec("wide", L.Rescaling(3.0, name="wide")(L.Conv2D(4, 1, name="c1")(x)))
    branches = [rec(a, L.Activation(a, name=a)(z)) for a in ACTIVATION_STRINGS[producer]]
    branches.append(rec("elu_layer", L.ELU(alpha=0.5, name="elu_layer")(z)))
    branches.append(rec("capped", L.ReLU(max_value=1.5, name="capped")(z)))
    j = rec("cat", L.Concatenate(name="cat")([h, *branches]))
    g = rec("gap", L.GlobalAveragePooling2D(name="gap")(j))
    d = rec("d", L.Dense(5, activation="softplus", name="d")(g))
    y = rec("out", L.Dense(3, activation="selu", name="out")(d))
    return K.Model(x, y, name="acts"), P


@case("k3", "tfk")
def deferred(K):
    """A Sequential built with model.build() instead of an Input."""
    L = K.layers
    model = K.Sequential(
        [
            L.Conv2D(3, 3, activation="relu", name="dc"),
            L.Flatten(name="df"),
            L.Dense(2, name="dd"),
        ],
        name="deferred",
    )
    model.build((None, 6, 5, 2))
    return model, {}


def randomize(model, seed):
    """Random weights of a modest scale; BN variances positive."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        name = getattr(v, "path", None) or v.name
        shape = tuple(v.shape)
        if "moving_variance" in name:
            value = np.abs(rng.normal(size=shape)) + 0.1
        elif "gamma" in name:
            value = 1 + 0.2 * rng.normal(size=shape)
        elif len(shape) >= 2:
            value = rng.normal(size=shape) / np.sqrt(np.prod(shape[:-1]))
        else:
            value = 0.2 * rng.normal(size=shape)
        v.assign(value.astype("float32"))


def _inputs(model, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, *t.shape[1:])).astype("float32") for t in model.inputs]


def _reference(K, model, probes, xs):
    keys = list(probes)
    outs = {}
    if keys:
        probe = K.Model(model.inputs, [probes[k] for k in keys])
        vals = probe.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        vals = vals if isinstance(vals, list) else [vals]
        outs = dict(zip(keys, (np.asarray(v) for v in vals)))
    pred = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return outs, [np.asarray(p) for p in (pred if isinstance(pred, list) else [pred])]


def _save_k3(model, folder, name):
    paths = {
        "keras": os.path.join(folder, f"{name}.keras"),
        "folder": os.path.join(folder, f"{name}_dir"),
        "weights_h5": os.path.join(folder, f"{name}.weights.h5"),
        "legacy_h5": os.path.join(folder, f"{name}.h5"),
    }
    model.save(paths["keras"])
    model.save(paths["folder"], zipped=False)
    model.save_weights(paths["weights_h5"])
    model.save(paths["legacy_h5"])
    return paths


def _save_tfk(model, folder, name):
    paths = {
        "legacy_h5": os.path.join(folder, f"{name}.h5"),
        "legacy_weights": os.path.join(folder, f"{name}_w.h5"),
        "keras": os.path.join(folder, f"{name}.keras"),
        "weights_h5": os.path.join(folder, f"{name}.weights.h5"),
    }
    model.save(paths["legacy_h5"])
    model.save_weights(paths["legacy_weights"])
    model.save(paths["keras"])
    model.save_weights(paths["weights_h5"])
    return paths


def _keras_module(producer):
    if producer == "k3":
        return optional_import("keras")
    return optional_import("tf_keras")


@pytest.fixture(scope="session")
def keras_files(tmp_path_factory):
    """Lazily built ``{(case, producer): Fixture}``: each reference model saved every way."""
    folder = str(tmp_path_factory.mktemp("keras_files"))
    cache = _CACHE

    def get(name, producer):
        if (name, producer) not in cache:
            import warnings

            K = _keras_module(producer)
            builder, _ = CASES[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model, probes = builder(K)
                randomize(model, seed=sum(map(ord, name)))
                xs = _inputs(model, seed=7)
                outs, preds = _reference(K, model, probes, xs)
                save = _save_k3 if producer == "k3" else _save_tfk
                paths = save(model, folder, f"{name}_{producer}")
                config = model.to_json()
            cache[(name, producer)] = {
                "paths": paths,
                "x": xs if len(xs) > 1 else xs[0],
                "layers": outs,
                "preds": preds,
                "config": json.loads(config),
                "cf": name == "cf",
            }
        return cache[(name, producer)]

    return get


def to_nhwc(a, cf):
    return a.transpose(0, 2, 3, 1) if cf and a.ndim == 4 else a


def assert_close(ours, ref, what, rtol=1e-5):
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != Keras {ref.shape}"
    scale = max(np.abs(ref).max(), 1e-6)
    err = np.abs(ours - ref).max()
    assert err <= rtol * scale, f"{what}: max error {err:.3g} > {rtol} x max|y| = {scale:.3g}"


def assert_matches_keras(model, fx):
    """Predictions and every recorded layer call of ``fx`` match Keras."""
    x = fx["x"]
    if fx["cf"]:
        x = x.transpose(0, 2, 3, 1)
    out = model.forward(x)
    outs = out if isinstance(out, list) else [out]
    assert len(outs) == len(fx["preds"])
    for k, (o, r) in enumerate(zip(outs, fx["preds"])):
        assert_close(o, to_nhwc(r, fx["cf"]), f"output {k}")
    for key, ref in fx["layers"].items():
        node = model.keras_nodes[key] if hasattr(model, "keras_nodes") else key
        assert_close(model.activations[node], to_nhwc(ref, fx["cf"]), f"layer {key} ({node})")


def vgg_minidecnn(blocks, fc, classes, input_shape, include_top=True):
    """A VGG built with minidecnn layers and Keras' layer names (VGG16: blocks
    ``[(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]``, fc 4096, 1000 classes)."""
    import minidecnn as mdc
    from minidecnn import layers as L

    x = mdc.Input(input_shape, name="input_layer")
    h = x
    for b, (filters, convs) in enumerate(blocks, start=1):
        for c in range(1, convs + 1):
            name = f"block{b}_conv{c}"
            h = L.ReLU(name=f"{name}_relu")(L.Conv2D(filters, 3, padding="same", name=name)(h))
        h = L.MaxPool2D(2, name=f"block{b}_pool")(h)
    if include_top:
        h = L.Flatten(name="flatten")(h)
        h = L.ReLU(name="fc1_relu")(L.Dense(fc, name="fc1")(h))
        h = L.ReLU(name="fc2_relu")(L.Dense(fc, name="fc2")(h))
        h = L.Softmax(name="predictions_softmax")(L.Dense(classes, name="predictions")(h))
    return mdc.Model(x, h, name="vgg")


def write_release_layout(path, named_weights, input_name="input_1"):
    """Write weights the way the 2016 VGG16 ImageNet files are laid out (Keras 1, TF dim
    ordering): root ``layer_names`` as bytes, no version attributes, one group per layer
    with datasets ``<layer>_W_1:0`` and ``<layer>_b_1:0`` directly inside it.

    ``named_weights`` is ``[(layer name, [kernel, bias] or [])]`` in model order.
    """
    import h5py

    with h5py.File(path, "w") as f:
        names = [input_name] + [n for n, _ in named_weights]
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.create_group(input_name).attrs["weight_names"] = []
        for name, arrays in named_weights:
            g = f.create_group(name)
            wnames = [f"{name}_{s}_1:0" for s in ("W", "b")[: len(arrays)]]
            g.attrs["weight_names"] = [w.encode() for w in wnames]
            for w, a in zip(wnames, arrays):
                g.create_dataset(w, data=np.asarray(a, np.float32))
