"""Weights into models built with minidecnn: every family, topological and by name,
Theano-era conversions, attribute quirks rewritten with h5py, and clear mismatch errors."""

import json
import shutil

import h5py
import numpy as np
import pytest
from kerasrefs import assert_close, assert_matches_keras, keras_files  # noqa: F401

import minidecnn as mdc
from minidecnn import layers as L
from minidecnn.errors import ModelFileError


def seq_model(extra_dense=False, sc_filters=4, names=True):
    """The Keras ``seq`` reference model, built with minidecnn layers."""
    n = (lambda s: s) if names else (lambda s: None)
    layers = [
        mdc.Input((10, 9, 2), name="seq_in"),
        L.Conv2D(sc_filters, 3, padding="same", name=n("sc")),
        L.ReLU(),
        L.MaxPool2D(2, name=n("pool")),
        L.Conv2D(5, (2, 3), strides=(2, 1), name=n("sc2")),
        L.LeakyReLU(0.3, name=n("lk")),
        L.Flatten(name=n("fl")),
        L.Dense(6, name=n("d1")),
        L.Sigmoid(),
    ]
    if extra_dense:
        layers.append(L.Dense(6, name="extra"))
    layers += [L.Dense(4, name=n("out")), L.Softmax()]
    return mdc.Sequential(layers)


def _predict_matches(model, fx):
    assert_close(model.forward(fx["x"]), fx["preds"][0], "prediction")


@pytest.mark.parametrize(
    ("producer", "kind", "by_name"),
    [
        ("k3", "weights_h5", False),
        ("k3", "weights_h5", True),
        ("k3", "keras", False),
        ("k3", "legacy_h5", False),
        ("k3", "legacy_h5", True),
        ("tfk", "legacy_weights", False),
        ("tfk", "legacy_weights", True),
        ("tfk", "legacy_h5", True),
        ("tfk", "keras", False),
    ],
)
def test_load_weights_into_a_minidecnn_model(keras_files, producer, kind, by_name):  # noqa: F811
    fx = keras_files("seq", producer)
    model = seq_model()
    assert model.load_weights(fx["paths"][kind], by_name=by_name) is model
    _predict_matches(model, fx)


def test_topological_load_ignores_names(keras_files):  # noqa: F811
    fx = keras_files("seq", "tfk")
    model = seq_model(names=False)
    with pytest.warns(UserWarning, match="loaded by position although 4 layer names differ"):
        model.load_weights(fx["paths"]["legacy_weights"])
    _predict_matches(model, fx)
    with pytest.raises(ModelFileError, match="by_name=True matched no layer"):
        model.load_weights(fx["paths"]["legacy_weights"], by_name=True)


def test_layer_count_mismatch_is_refused_and_model_unchanged(keras_files):  # noqa: F811
    fx = keras_files("seq", "tfk")
    model = seq_model(extra_dense=True)
    before = model.get_weights()
    with pytest.raises(ModelFileError, match=r"layer count mismatch. The model has 5 layers"):
        model.load_weights(fx["paths"]["legacy_weights"])
    with pytest.raises(ModelFileError, match=r"'layers/dense_1/vars/0' of layer 'extra' does"):
        model.load_weights(fx["paths"]["weights_h5"])
    convs_only = mdc.Sequential(
        [
            mdc.Input((10, 9, 2)),
            L.Conv2D(4, 3, padding="same", name="sc"),
            L.MaxPool2D(2),
            L.Conv2D(5, (2, 3), strides=(2, 1), name="sc2"),
        ]
    )
    with pytest.raises(ModelFileError, match=r"layer count mismatch. The model has 2 layers"):
        convs_only.load_weights(fx["paths"]["weights_h5"])
    after = model.get_weights()
    assert all(np.array_equal(before[k][p], after[k][p]) for k in before for p in before[k])


def test_shape_mismatch_names_layer_and_shapes_and_changes_nothing(keras_files):  # noqa: F811
    fx = keras_files("seq", "k3")
    model = seq_model(sc_filters=3)
    before = model.get_weights()
    for kind in ("weights_h5", "legacy_h5"):
        with pytest.raises(ModelFileError) as err:
            model.load_weights(fx["paths"][kind])
        msg = str(err.value)
        assert "does not fit Conv2D 'sc'.W. Expected shape (3, 3, 2, 3), " in msg
        assert "received (3, 3, 2, 4)" in msg
    after = model.get_weights()
    assert all(np.array_equal(before[k][p], after[k][p]) for k in before for p in before[k])


def _rewrite_legacy(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def _set_list_attr(obj, name, values, how):
    for key in [k for k in obj.attrs if k == name or k[len(name) :].isdigit()]:
        if key.startswith(name):
            del obj.attrs[key]
    if how == "str":
        obj.attrs.create(name, values, dtype=h5py.string_dtype())
    elif how == "bytes":
        obj.attrs[name] = np.array([v.encode() for v in values], dtype="S")
    else:  # chunked, as Keras writes lists longer than 64 KiB
        arr = np.array([v.encode() for v in values], dtype="S")
        for k, part in enumerate(np.array_split(arr, 2)):
            obj.attrs[f"{name}{k}"] = part


@pytest.mark.parametrize("how", ["str", "bytes", "chunked"])
def test_string_attribute_variants(keras_files, tmp_path, how):  # noqa: F811
    fx = keras_files("zoo", "tfk")

    def edit(f):
        g = f["model_weights"]
        names = mdc.keras.files.read_list_attr(g, "layer_names")
        _set_list_attr(g, "layer_names", names, how)
        for lname in names:
            wn = mdc.keras.files.read_list_attr(g[lname], "weight_names")
            if wn:
                _set_list_attr(g[lname], "weight_names", wn, how)
        version = "2.21.0" if how == "str" else b"2.21.0"
        f.attrs["keras_version"] = version
        f.attrs["model_config"] = (
            f.attrs["model_config"].encode()
            if how == "bytes"
            else (mdc.keras.files.decode(f.attrs["model_config"]))
        )

    path = _rewrite_legacy(fx["paths"]["legacy_h5"], tmp_path / f"zoo_{how}.h5", edit)
    if how == "chunked":
        with h5py.File(path) as f:
            assert "layer_names" not in f["model_weights"].attrs
            assert "layer_names1" in f["model_weights"].attrs
    assert_matches_keras(mdc.load_keras(path), fx)


def test_keras3_checkpoint_dependencies_alias(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("zoo", "k3")
    path = tmp_path / "alias.weights.h5"
    shutil.copy(fx["paths"]["weights_h5"], path)
    with h5py.File(path, "r+") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
    assert_matches_keras(mdc.load_keras(path, config=fx["config"]), fx)


def test_nested_mixed_trainability_is_routed_by_name(keras_files):  # noqa: F811
    fx = keras_files("nested", "tfk")
    with h5py.File(fx["paths"]["legacy_weights"]) as f:
        names = mdc.keras.files.read_list_attr(f["inner"], "weight_names")
    # trainable weights first: the frozen ic1 comes after ibn's gamma/beta and ic2
    assert names.index("ic1/kernel:0") > names.index("ic2/kernel:0")
    assert_matches_keras(mdc.load_keras(fx["paths"]["legacy_weights"], config=fx["config"]), fx)


def _theano_file(src, dst, keras1):
    """A Theano-era copy of the tf-keras ``seq`` weights: flipped kernels; for Keras 1,
    also (F, C, KH, KW) kernels and Dense rows in (C, H, W) order."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        if keras1:
            del f.attrs["keras_version"]
            del f.attrs["backend"]
        else:
            f.attrs["backend"] = "theano"
            f.attrs["keras_version"] = "2.0.8"
        for lname in ("sc", "sc2"):
            ds = f[lname][mdc.keras.files.read_list_attr(f[lname], "weight_names")[0]]
            k = ds[()][::-1, ::-1]
            if keras1:
                k = k.transpose(3, 2, 0, 1)
            name = ds.name
            del f[name]
            f[name] = k
        if keras1:
            ds = f["d1"][mdc.keras.files.read_list_attr(f["d1"], "weight_names")[0]]
            w = ds[()]  # rows in (H, W, C) order; the flatten input is (2, 2, 5)
            w = w.reshape(2, 2, 5, -1).transpose(2, 0, 1, 3).reshape(20, -1)
            ds[...] = w
    return dst


def test_theano_backend_kernels_are_flipped_back(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("seq", "tfk")
    path = _theano_file(fx["paths"]["legacy_weights"], tmp_path / "th2.h5", keras1=False)
    model = seq_model().load_weights(path)  # auto: the file says backend="theano"
    _predict_matches(model, fx)
    unflipped = seq_model().load_weights(path, kernel_convention="tensorflow")
    assert not np.allclose(unflipped.forward(fx["x"]), fx["preds"][0], atol=1e-3)


def test_keras1_theano_layout_with_options(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("seq", "tfk")
    path = _theano_file(fx["paths"]["legacy_weights"], tmp_path / "th1.h5", keras1=True)
    with pytest.raises(ModelFileError, match=r"pass data_format='channels_first'"):
        seq_model().load_weights(path)
    model = seq_model()
    model.load_weights(path, kernel_convention="theano", data_format="channels_first")
    _predict_matches(model, fx)
    loaded = mdc.load_keras(
        path, config=fx["config"], kernel_convention="theano", data_format="channels_first"
    )
    _predict_matches(loaded, fx)


def test_data_format_option_is_refused_for_keras2_files(keras_files):  # noqa: F811
    fx = keras_files("seq", "tfk")
    with pytest.raises(ModelFileError, match="describes Keras 1 'th' weight files"):
        seq_model().load_weights(fx["paths"]["legacy_weights"], data_format="channels_first")
    with pytest.raises(ValueError, match="invalid kernel_convention"):
        seq_model().load_weights(fx["paths"]["legacy_weights"], kernel_convention="caffe")


def test_file_with_another_layer_order_loads_by_name_only(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("seq", "tfk")

    def swap_sc_and_sc2(f):
        names = mdc.keras.files.read_list_attr(f, "layer_names")
        i, j = names.index("sc"), names.index("sc2")
        names[i], names[j] = names[j], names[i]
        _set_list_attr(f, "layer_names", names, "bytes")

    path = _rewrite_legacy(fx["paths"]["legacy_weights"], tmp_path / "order.h5", swap_sc_and_sc2)
    with pytest.raises(ModelFileError, match=r"of layer 'sc2' does not fit Conv2D 'sc'\.W"):
        seq_model().load_weights(path)
    _predict_matches(seq_model().load_weights(path, by_name=True), fx)


def test_sequential_config_without_input_layer_uses_build_input_shape(keras_files):  # noqa: F811
    fx = keras_files("deferred", "k3")
    config = json.loads(json.dumps(fx["config"]))
    layers = config["config"]["layers"]
    assert layers[0]["class_name"] == "InputLayer"
    del layers[0]
    assert config["config"]["build_input_shape"] == [None, 6, 5, 2]
    model = mdc.load_keras(fx["paths"]["weights_h5"], config=config)
    assert model.input_shape == (6, 5, 2)
    _predict_matches(model, fx)


def test_keras_weights_into_a_loaded_branching_model_pair_by_its_config(tmp_path):
    """Keras orders the layers of a branching graph by depth; splitting a branch's fused
    activations into their own layers changes that order in our graph, so a Keras-written
    ``.weights.h5`` must be paired through the configuration the model was loaded from
    (and a file our own writer made from the loaded model must still load too)."""
    from conftest import optional_import

    keras = optional_import("keras")
    inp = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="a1")(inp)
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="a2")(a)
    b = keras.layers.Conv2D(4, 3, padding="same", name="b1")(inp)
    b = keras.layers.Conv2D(4, 3, padding="same", name="b2")(b)
    b = keras.layers.Conv2D(4, 3, padding="same", name="b3")(b)
    out = keras.layers.Conv2D(2, 1, name="head")(keras.layers.Add()([a, b]))
    km = keras.Model(inp, out)
    km.save(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    for w in km.weights:
        w.assign(0.3 * rng.standard_normal(w.shape).astype("float32"))
    km.save_weights(tmp_path / "other.weights.h5")
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")

    model = mdc.load_keras(tmp_path / "m.keras").load_weights(tmp_path / "other.weights.h5")
    assert_close(model.forward(x), np.asarray(km.predict(x, verbose=0)), "prediction")

    model.save_weights(tmp_path / "ours.weights.h5")
    again = mdc.load_keras(tmp_path / "m.keras").load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_array_equal(again.forward(x), model.forward(x))


# -- sharded Keras 3 weights (save_weights(..., max_shard_size=...), Keras >= 3.10) ---------


def _sharded(tmp_path):
    """A Keras 3 model whose weights Keras writes as two shards and an index."""
    import warnings

    from conftest import optional_import
    from kerasrefs import randomize

    K = optional_import("keras")
    L3 = K.layers
    model = K.Sequential(
        [
            K.Input((8, 8, 3)),
            L3.Conv2D(4, 3, activation="relu", name="c"),
            L3.BatchNormalization(name="bn"),
            L3.Flatten(name="fl"),
            L3.Dense(300, activation="relu", name="d"),
            L3.Dense(300, name="e"),
        ]
    )
    randomize(model, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save_weights(tmp_path / "w.weights.h5", max_shard_size=0.0004)  # GB
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    return model, x, np.asarray(model.predict(x, verbose=0))


def test_sharded_keras3_weights_load(tmp_path):
    keras_model, x, pred = _sharded(tmp_path)
    index = json.loads((tmp_path / "w.weights.json").read_text())
    assert len({s for files in index["weight_map"].values() for s in files}) == 2
    model = mdc.load_keras(tmp_path / "w.weights.json", config=keras_model.to_json())
    assert_close(model.forward(x), pred, "prediction from shards")
    model.get_layer("e").params["W"][...] = 0
    model.load_weights(tmp_path / "w.weights.json")
    assert_close(model.forward(x), pred, "prediction after load_weights from shards")


def test_broken_shard_sets_are_refused(tmp_path):
    keras_model, _, _ = _sharded(tmp_path)
    config = keras_model.to_json()
    index_path = tmp_path / "w.weights.json"
    index = json.loads(index_path.read_text())

    (tmp_path / "w_00001.weights.h5").rename(tmp_path / "moved.h5")
    with pytest.raises(ModelFileError, match=r"shard 'w_00001\.weights\.h5' listed in the index"):
        mdc.load_keras(index_path, config=config)

    hostile = dict(index, weight_map={k: ["../w_00000.weights.h5"] for k in index["weight_map"]})
    index_path.write_text(json.dumps(hostile))
    with pytest.raises(ModelFileError, match="a path is never followed"):
        mdc.load_keras(index_path, config=config)

    index_path.write_text(json.dumps({"metadata": {}}))
    with pytest.raises(ModelFileError, match="is not a Keras shard index"):
        mdc.load_keras(index_path, config=config)

    twice = {k: ["w_00000.weights.h5", "moved.h5"] for k in index["weight_map"]}
    shutil.copy(tmp_path / "w_00000.weights.h5", tmp_path / "moved.h5")
    index_path.write_text(json.dumps({"weight_map": twice}))
    with pytest.raises(ModelFileError, match="is in more than one shard"):
        mdc.load_keras(index_path, config=config)
