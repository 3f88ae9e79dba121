"""Keras 1 whole-model files and old channels_first Flattens, checked against real Keras 3.

Keras 1 cannot be installed next to today's NumPy, so its files are written here with
h5py exactly as Keras 1.2's ``model.save`` laid them out: root attributes
``keras_version`` (bytes) and ``model_config`` (Keras 1 JSON: ``Convolution2D``,
``nb_filter``, ``border_mode``, ``dim_ordering``, ``Merge``...), and a
``model_weights`` group with ``layer_names`` and one group per layer. The weights
come from a Keras 3 model that computes the same function, which is the reference:

* ``dim_ordering="tf"``: Keras 1 stored kernels ``(KH, KW, C, F)`` like Keras 3.
* ``dim_ordering="th"``: Keras 1 stored kernels ``(F, C, KH, KW)`` (Keras 2 read them
  back with ``transpose(2, 3, 1, 0)``), and its Flatten flattened the ``(C, H, W)``
  tensor as it was, which a Keras 3 ``Flatten(data_format="channels_last")`` on a
  channels_first tensor reproduces.
"""

from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest
from conftest import optional_import
from kerasrefs import assert_close, randomize, to_nhwc

import minidecnn as mdc
from minidecnn.errors import ModelFileError, UnsupportedLayerError

_REG = {
    "W_regularizer": None,
    "b_regularizer": None,
    "activity_regularizer": None,
    "W_constraint": None,
    "b_constraint": None,
    "init": "glorot_uniform",
}


def conv1(name, filters, kernel, ordering, activation="linear", border="valid", **extra):
    """A Keras 1.2 ``Convolution2D`` configuration."""
    cfg = {
        "name": name,
        "trainable": True,
        "nb_filter": filters,
        "nb_row": kernel[0],
        "nb_col": kernel[1],
        "activation": activation,
        "border_mode": border,
        "subsample": [1, 1],
        "dim_ordering": ordering,
        "bias": True,
        **_REG,
        **extra,
    }
    return {"class_name": "Convolution2D", "config": cfg}


def layer1(cls, name, **cfg):
    return {"class_name": cls, "config": {"name": name, "trainable": True, **cfg}}


def merge1(name, mode, concat_axis=-1, **extra):
    cfg = {
        "name": name,
        "mode": mode,
        "concat_axis": concat_axis,
        "dot_axes": -1,
        "mode_type": "raw",
        "output_shape": None,
        "output_shape_type": "raw",
        "output_mask": None,
        "output_mask_type": "raw",
        "arguments": {},
        **extra,
    }
    return {"class_name": "Merge", "config": cfg}


def functional1(name, entries, calls, inputs, outputs):
    """A Keras 1 ``Model`` config: Keras 1 wrote 3-element ``[name, node, tensor]`` refs."""
    layers = []
    for entry in entries:
        lname = entry["config"]["name"]
        nodes = [[[src, 0, 0] for src in calls[lname]]] if lname in calls else []
        layers.append({**entry, "name": lname, "inbound_nodes": nodes})
    return {
        "class_name": "Model",
        "config": {
            "name": name,
            "layers": layers,
            "input_layers": [[n, 0, 0] for n in inputs],
            "output_layers": [[n, 0, 0] for n in outputs],
        },
    }


def write_keras1(path, config, weights, keras_version="1.2.2"):
    """A Keras 1.2 ``model.save`` file. ``weights``: ``[(layer, [(weight name, array)])]``
    for every layer of the model, in ``model.layers`` order."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version.encode()
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [name.encode() for name, _ in weights]
        for name, named in weights:
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [w.encode() for w, _ in named]
            for w, a in named:
                lg.create_dataset(w, data=np.asarray(a, np.float32))


def keras_reference(build, x):
    """Build the Keras 3 twin, randomise it, and return it with its outputs on ``x``."""
    K = optional_import("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, probes = build(K)
        randomize(model, seed=11)
        keys = list(probes)
        probe = K.Model(model.inputs, [probes[k] for k in keys])
        outs = dict(zip(keys, (np.asarray(v) for v in probe.predict(x, verbose=0))))
        pred = np.asarray(model.predict(x, verbose=0))
    return model, outs, pred


def named(model, layer, suffixes):
    return [(f"{layer}_{s}:0", w) for s, w in zip(suffixes, model.get_layer(layer).get_weights())]


# -- dim_ordering "tf": a Sequential -----------------------------------------------------


def tf_twin(K):
    L, P = K.layers, {}
    x = K.Input((12, 10, 3), name="c1_input")
    h = P["c1"] = L.Conv2D(6, (3, 2), padding="same", activation="relu", name="c1")(x)
    h = P["bn"] = L.BatchNormalization(epsilon=1e-2, name="bn")(h)
    h = P["mp"] = L.MaxPooling2D(2, padding="same", name="mp")(h)
    h = P["zp"] = L.ZeroPadding2D(((1, 0), (2, 1)), name="zp")(h)
    h = P["sc"] = L.SeparableConv2D(5, 3, depth_multiplier=2, activation="relu", name="sc")(h)
    h = P["ap"] = L.AveragePooling2D(2, strides=1, name="ap")(h)
    h = P["gp"] = L.ZeroPadding2D(1, name="gp")(h)
    h = P["fl"] = L.Flatten(name="fl")(h)
    h = P["dr"] = L.Dropout(0.5, name="dr")(h)
    y = L.Dense(4, activation="softmax", name="out")(h)
    return K.Model(x, y), P


def tf_config():
    return {
        "class_name": "Sequential",
        "config": [
            conv1(
                "c1",
                6,
                (3, 2),
                "tf",
                "relu",
                "same",
                batch_input_shape=[None, 12, 10, 3],
                input_dtype="float32",
            ),
            layer1(
                "BatchNormalization",
                "bn",
                epsilon=0.01,
                mode=0,
                axis=-1,
                momentum=0.99,
                gamma_regularizer=None,
                beta_regularizer=None,
            ),
            layer1(
                "MaxPooling2D",
                "mp",
                pool_size=[2, 2],
                strides=[2, 2],
                border_mode="same",
                dim_ordering="tf",
            ),
            layer1("ZeroPadding2D", "zp", padding=[1, 0, 2, 1], dim_ordering="tf"),
            layer1(
                "SeparableConvolution2D",
                "sc",
                nb_filter=5,
                nb_row=3,
                nb_col=3,
                border_mode="valid",
                subsample=[1, 1],
                depth_multiplier=2,
                dim_ordering="tf",
                activation="relu",
                depthwise_regularizer=None,
                pointwise_regularizer=None,
                b_regularizer=None,
                activity_regularizer=None,
                depthwise_constraint=None,
                pointwise_constraint=None,
                b_constraint=None,
                bias=True,
                init="glorot_uniform",
            ),
            layer1(
                "AveragePooling2D",
                "ap",
                pool_size=[2, 2],
                strides=[1, 1],
                border_mode="valid",
                dim_ordering="tf",
            ),
            layer1(
                "ZeroPadding2D",
                "gp",
                padding={"top_pad": 1, "bottom_pad": 1, "left_pad": 1, "right_pad": 1},
            ),
            layer1("Flatten", "fl"),
            layer1("Dropout", "dr", p=0.5),
            layer1(
                "Dense",
                "out",
                output_dim=4,
                activation="softmax",
                bias=True,
                input_dim=None,
                **{k: v for k, v in _REG.items()},
            ),
        ],
    }


def tf_weights(model):
    return [
        ("c1", named(model, "c1", ["W", "b"])),
        ("bn", named(model, "bn", ["gamma", "beta", "running_mean", "running_std"])),
        ("mp", []),
        ("zp", []),
        ("sc", named(model, "sc", ["depthwise_kernel", "pointwise_kernel", "b"])),
        ("ap", []),
        ("gp", []),
        ("fl", []),
        ("dr", []),
        ("out", named(model, "out", ["W", "b"])),
    ]


def test_keras1_sequential_tf_ordering_matches_keras(tmp_path):
    x = np.random.default_rng(3).normal(size=(3, 12, 10, 3)).astype(np.float32)
    twin, outs, pred = keras_reference(tf_twin, x)
    path = tmp_path / "keras1_tf.h5"
    write_keras1(path, tf_config(), tf_weights(twin))

    model = mdc.load_keras(path)
    assert_close(model.forward(x), pred, "predictions")
    for key, ref in outs.items():
        assert_close(model.activations[model.keras_nodes[key]], ref, f"layer {key}")
    assert model.logits == "out"  # the fused softmax is split out
    assert [type(lay).__name__ for lay in model.layers][:3] == [
        "Conv2D",
        "ReLU",
        "BatchNormalization",
    ]


# -- dim_ordering "th": a functional Model with Merge layers -------------------------------


def th_twin(K):
    L, P, fmt = K.layers, {}, "channels_first"
    x = K.Input((3, 9, 8), name="input_1")
    a = P["c1"] = L.Conv2D(4, 3, padding="same", activation="relu", data_format=fmt, name="c1")(x)
    a = P["bn"] = L.BatchNormalization(axis=1, name="bn")(a)
    b = P["b1"] = L.Conv2D(4, 1, data_format=fmt, name="b1")(a)
    s = P["m_sum"] = L.Add(name="m_sum")([a, b])
    p = P["mp"] = L.MaxPooling2D(2, data_format=fmt, name="mp")(s)
    c = P["b2"] = L.Conv2D(
        3, (3, 2), padding="same", activation="relu", data_format=fmt, name="b2"
    )(p)
    m = P["m_cat"] = L.Concatenate(axis=1, name="m_cat")([p, c])
    f = P["fl"] = L.Flatten(data_format="channels_last", name="fl")(m)  # (C, H, W) order
    y = L.Dense(5, activation="softmax", name="out")(f)
    return K.Model(x, y), P


def th_config():
    entries = [
        layer1(
            "InputLayer",
            "input_1",
            batch_input_shape=[None, 3, 9, 8],
            input_dtype="float32",
            sparse=False,
        ),
        conv1("c1", 4, (3, 3), "th", "relu", "same"),
        layer1("BatchNormalization", "bn", epsilon=0.001, mode=0, axis=1, momentum=0.99),
        conv1("b1", 4, (1, 1), "th"),
        merge1("m_sum", "sum"),
        layer1(
            "MaxPooling2D",
            "mp",
            pool_size=[2, 2],
            strides=[2, 2],
            border_mode="valid",
            dim_ordering="th",
        ),
        conv1("b2", 3, (3, 2), "th", "relu", "same"),
        merge1("m_cat", "concat", concat_axis=1),
        layer1("Flatten", "fl"),
        layer1("Dense", "out", output_dim=5, activation="softmax", bias=True, **_REG),
    ]
    calls = {
        "c1": ["input_1"],
        "bn": ["c1"],
        "b1": ["bn"],
        "m_sum": ["bn", "b1"],
        "mp": ["m_sum"],
        "b2": ["mp"],
        "m_cat": ["mp", "b2"],
        "fl": ["m_cat"],
        "out": ["fl"],
    }
    return functional1("k1_th", entries, calls, ["input_1"], ["out"])


def th_weights(model):
    def kernel_th(layer):  # Keras 1 'th': (F, C, KH, KW)
        w, b = model.get_layer(layer).get_weights()
        return [(f"{layer}_W", w.transpose(3, 2, 0, 1)), (f"{layer}_b", b)]

    return [
        ("input_1", []),
        ("c1", kernel_th("c1")),
        ("bn", named(model, "bn", ["gamma", "beta", "running_mean", "running_std"])),
        ("b1", kernel_th("b1")),
        ("m_sum", []),
        ("mp", []),
        ("b2", kernel_th("b2")),
        ("m_cat", []),
        ("fl", []),
        ("out", named(model, "out", ["W", "b"])),
    ]


def test_keras1_functional_th_ordering_with_merges_matches_keras(tmp_path):
    x = np.random.default_rng(4).normal(size=(3, 3, 9, 8)).astype(np.float32)
    twin, outs, pred = keras_reference(th_twin, x)
    path = tmp_path / "keras1_th.h5"
    write_keras1(path, th_config(), th_weights(twin))

    model = mdc.load_keras(path)  # kernels transposed, Dense rows permuted: automatic
    assert model.input_shape == (9, 8, 3)  # NHWC
    assert_close(model.forward(x.transpose(0, 2, 3, 1)), pred, "predictions")
    for key, ref in outs.items():
        if key == "fl":  # Keras flattened (C, H, W); ours is (H, W, C): the same numbers
            ref = ref.reshape(-1, 7, 4, 4).transpose(0, 2, 3, 1).reshape(len(x), -1)
        node = model.keras_nodes[key]
        assert_close(model.activations[node], to_nhwc(ref, True), f"layer {key}")
    assert type(model.get_layer("m_sum")).__name__ == "Add"
    assert type(model.get_layer("m_cat")).__name__ == "Concatenate"

    # the same file again through load_weights into the loaded model
    model.get_layer("out").params["W"][...] = 0
    model.load_weights(path, data_format="channels_first")
    assert_close(model.forward(x.transpose(0, 2, 3, 1)), pred, "predictions after load_weights")


def test_channels_first_flatten_without_data_format_keras2(tmp_path):
    """Keras <= 2.1.5 wrote no data_format for Flatten and flattened (C, H, W): the same
    twin saved by Keras 3's legacy writer, its Flatten's data_format deleted."""
    x = np.random.default_rng(5).normal(size=(2, 3, 9, 8)).astype(np.float32)
    twin, _, pred = keras_reference(th_twin, x)
    path = tmp_path / "k2_cf.h5"
    twin.save(path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for entry in config["config"]["layers"]:
            if entry["class_name"] == "Flatten":
                del entry["config"]["data_format"]
        f.attrs["model_config"] = json.dumps(config).encode()
    model = mdc.load_keras(path)
    assert_close(model.forward(x.transpose(0, 2, 3, 1)), pred, "predictions")


def test_channels_last_flatten_in_a_channels_first_keras3_model(tmp_path):
    """Keras 3: Flatten(data_format="channels_last") on an (N, C, H, W) tensor keeps
    (C, H, W) order; the .keras archive and its .weights.h5 both load and agree."""
    x = np.random.default_rng(6).normal(size=(2, 3, 9, 8)).astype(np.float32)
    twin, _, pred = keras_reference(th_twin, x)
    twin.save(tmp_path / "cf.keras")
    twin.save_weights(tmp_path / "cf.weights.h5")
    model = mdc.load_keras(tmp_path / "cf.keras")
    assert_close(model.forward(x.transpose(0, 2, 3, 1)), pred, "predictions (.keras)")
    model.get_layer("out").params["W"][...] = 0
    model.load_weights(tmp_path / "cf.weights.h5")
    assert_close(model.forward(x.transpose(0, 2, 3, 1)), pred, "predictions (.weights.h5)")


def test_chw_flatten_not_followed_by_dense_is_refused(tmp_path):
    config = th_config()
    layers = config["config"]["layers"]
    layers[-1] = {
        **layer1("Activation", "out", activation="softmax"),
        "name": "out",
        "inbound_nodes": [[["fl", 0, 0]]],
    }
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"input_1"]
        g.create_group("input_1").attrs["weight_names"] = []
    with pytest.raises(UnsupportedLayerError, match=r"flattens a channels_first tensor in \(C"):
        mdc.load_keras(path)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c[4]["config"].update(mode="mul"), r"mode='mul' \(supported: \['concat'"),
        (
            lambda c: c[4]["config"].update(mode="gASVIAAAAAAAAA", mode_type="function"),
            "its mode is a Python function stored in the file",
        ),
        (lambda c: c[2]["config"].update(mode=2), "mode=2: Keras 1 BatchNormalization mode 1"),
        (lambda c: c[1]["config"].update(border_mode="full"), "border_mode='full'"),
        (lambda c: c[3].update(class_name="Deconvolution2D"), "a transposed convolution"),
        (lambda c: c[1]["config"].update(dim_ordering="default"), "dim_ordering='default'"),
    ],
)
def test_keras1_layers_minidecnn_cannot_compute_are_refused(tmp_path, edit, message):
    config = th_config()
    edit(config["config"]["layers"])
    path = tmp_path / "k1.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.create_group("model_weights").attrs["layer_names"] = []
    with pytest.raises(UnsupportedLayerError, match=message) as err:
        mdc.load_keras(path)
    assert "Keras 1 class" in str(err.value)


@pytest.mark.parametrize("version", ["1.0.4", None])
def test_keras_1_0_batchnorm_is_refused(tmp_path, version):
    """Keras 1.0 stored a moving standard deviation, not a variance."""
    path = tmp_path / "k10.h5"
    with h5py.File(path, "w") as f:
        if version:
            f.attrs["keras_version"] = version.encode()
        f.attrs["model_config"] = json.dumps(th_config()).encode()
        f.create_group("model_weights").attrs["layer_names"] = []
    with pytest.raises(ModelFileError, match="stored a moving standard deviation"):
        mdc.load_keras(path)


def test_merge_of_sequential_branches_is_refused(tmp_path):
    branch = {"class_name": "Sequential", "config": [conv1("c", 2, (1, 1), "tf")]}
    config = {
        "class_name": "Sequential",
        "config": [merge1("m", "sum", layers=[branch, branch]), layer1("Flatten", "fl")],
    }
    path = tmp_path / "k1_seq_merge.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.create_group("model_weights").attrs["layer_names"] = []
    with pytest.raises((UnsupportedLayerError, ModelFileError), match="merges whole Sequential"):
        mdc.load_keras(path)
