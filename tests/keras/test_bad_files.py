"""Broken, hostile and unsupported files: a clear minidecnn error, never a crash,
never a half-built model, never code from the file executed."""

import json
import os
import shutil
import zipfile

import h5py
import numpy as np
import pytest
from kerasrefs import keras_files  # noqa: F401

import minidecnn as mdc
from minidecnn.errors import ModelFileError, UnsupportedLayerError


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"load_keras\('nope.h5'\): no such file"):
        mdc.load_keras(tmp_path / "nope.h5")
    assert issubclass(ModelFileError, ValueError)


def test_empty_file(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"the file is empty \(0 bytes\)"):
        mdc.load_keras(tmp_path / "empty.h5")


def test_random_bytes(tmp_path):
    (tmp_path / "noise.keras").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="this is not a Keras file"):
        mdc.load_keras(tmp_path / "noise.keras")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_hdf5(keras_files, tmp_path, fraction):  # noqa: F811
    src = keras_files("zoo", "k3")["paths"]["legacy_h5"]
    data = open(src, "rb").read()
    path = tmp_path / "cut.h5"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match="truncated"):
        mdc.load_keras(path)


def test_truncated_archive(keras_files, tmp_path):  # noqa: F811
    data = open(keras_files("zoo", "k3")["paths"]["keras"], "rb").read()
    path = tmp_path / "cut.keras"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="archive is damaged"):
        mdc.load_keras(path)


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_member_escaping_its_folder(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("zoo", "k3")
    with zipfile.ZipFile(fx["paths"]["keras"]) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for evil in ("../evil.txt", "/etc/evil", "assets/../../evil"):
        path = _zip(tmp_path / "evil.keras", {**members, evil: b"x"})
        with pytest.raises(ModelFileError, match="unsafe path"):
            mdc.load_keras(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_archive_without_weights_or_with_bad_json(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("zoo", "k3")
    with zipfile.ZipFile(fx["paths"]["keras"]) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    path = _zip(tmp_path / "a.keras", {"config.json": members["config.json"]})
    with pytest.raises(ModelFileError, match=r"the archive has no model\.weights\.h5"):
        mdc.load_keras(path)
    path = _zip(tmp_path / "b.keras", {**members, "config.json": b"{not json"})
    with pytest.raises(ModelFileError, match="is not valid JSON"):
        mdc.load_keras(path)
    path = _zip(tmp_path / "c.keras", {**members, "config.json": b'{"layers": [1, 2]}'})
    with pytest.raises(ModelFileError, match="expected a JSON object with 'class_name'"):
        mdc.load_keras(path)


def test_hdf5_that_is_not_keras(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(ModelFileError, match="not a Keras model or weights file"):
        mdc.load_keras(tmp_path / "other.h5")


def test_pre_1_0_layout_is_refused(tmp_path):
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f.attrs["nb_layers"] = 1
        f.create_group("layer_0").attrs["nb_params"] = 0
    with pytest.raises(ModelFileError, match=r"pre-1\.0 Keras layout"):
        mdc.load_keras(tmp_path / "old.h5")


def test_weights_only_file_needs_a_config(keras_files):  # noqa: F811
    fx = keras_files("seq", "k3")
    with pytest.raises(ModelFileError, match="holds only weights, no architecture"):
        mdc.load_keras(fx["paths"]["weights_h5"])


def test_weights_that_do_not_fit_the_config(keras_files):  # noqa: F811
    fx = keras_files("seq", "k3")
    config = json.loads(json.dumps(fx["config"]))
    config["config"]["layers"][1]["config"]["filters"] = 7
    with pytest.raises(ModelFileError, match=r"Expected shape \(3, 3, 2, 7\), received"):
        mdc.load_keras(fx["paths"]["weights_h5"], config=config)
    with pytest.raises(ModelFileError, match="Expected shape"):
        mdc.load_keras(fx["paths"]["legacy_h5"], config=config)


def _edited_archive(fx, tmp_path, edit, name="edited.keras"):
    with zipfile.ZipFile(fx["paths"]["keras"]) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    edit(config["config"]["layers"])
    members["config.json"] = json.dumps(config).encode()
    return _zip(tmp_path / name, members)


def _layer(layers, name):
    return next(entry for entry in layers if entry["config"]["name"] == name)


@pytest.mark.parametrize(
    ("layer", "change", "message"),
    [
        ("c1", {"class_name": "FancyConv"}, "has class 'FancyConv', which minidecnn does not"),
        ("c1", {"config.dilation_rate": [2, 2]}, "uses dilation_rate=[2, 2]"),
        ("c1", {"config.groups": 3}, "uses groups=3"),
        ("c1", {"config.activation": "mish"}, "uses activation='mish'"),
        ("c1", {"config.padding": "causal"}, "uses padding='causal'"),
        ("bn1", {"config.renorm": True}, "uses renorm=True"),
        ("relu", {"config.threshold": 0.5}, "uses threshold=0.5"),
        ("c1", {"config.data_format": "channels_first"}, "the model mixes data formats"),
        ("c1", {"class_name": "Deconvolution2D"}, "has the Keras 1 class 'Deconvolution2D'"),
        ("c1", {"config.border_mode": "full"}, "border_mode='full' (only 'valid' and 'same')"),
        (
            "c1",
            {"module": "my_package.layers", "registered_name": "my_package>MyConv"},
            "it is a custom object",
        ),
    ],
)
def test_unsupported_layers_and_options_are_named(
    keras_files,  # noqa: F811
    tmp_path,
    layer,
    change,
    message,
):
    fx = keras_files("zoo", "k3")

    def edit(layers):
        entry = _layer(layers, layer)
        for key, value in change.items():
            if key.startswith("config."):
                entry["config"][key[7:]] = value
            else:
                entry[key] = value

    path = _edited_archive(fx, tmp_path, edit)
    with pytest.raises(UnsupportedLayerError) as err:
        mdc.load_keras(path)
    msg = str(err.value)
    assert message in msg and repr(layer) in msg
    if "mixes" not in msg:
        assert "Conv2D, Dense, DepthwiseConv2D" in msg  # the supported list


def _lambda_model(keras, marker):
    def touch(x):
        with open(marker, "w") as f:
            f.write("executed")
        return x

    x = keras.Input((4,), name="x")
    y = keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    y = keras.layers.Dense(2, name="d")(y)
    return keras.Model(x, y), touch


def test_lambda_layer_is_refused_without_running_it(tmp_path):
    from conftest import optional_import

    keras = optional_import("keras")
    marker = tmp_path / "marker.txt"
    model, _ = _lambda_model(keras, marker)
    model.save(tmp_path / "lam.keras")
    model.save(tmp_path / "lam.h5")
    for name in ("lam.keras", "lam.h5"):
        with pytest.raises(UnsupportedLayerError, match=r"layer 'double' is a Lambda layer") as e:
            mdc.load_keras(tmp_path / name)
        assert "never executes code from a file" in str(e.value)
    assert not marker.exists()


def test_bfloat16_weights_are_refused(keras_files, tmp_path):  # noqa: F811
    fx = keras_files("seq", "k3")
    path = tmp_path / "bf.weights.h5"
    shutil.copy(fx["paths"]["weights_h5"], path)
    with h5py.File(path, "r+") as f:
        f["layers/conv2d/vars/0"].attrs["dtype"] = "bfloat16"
    with pytest.raises(ModelFileError, match="has dtype bfloat16"):
        mdc.load_keras(path, config=fx["config"])


def test_failed_load_keras_builds_nothing_and_failed_load_weights_changes_nothing(
    keras_files,  # noqa: F811
    tmp_path,
):
    fx = keras_files("seq", "k3")
    model = mdc.load_keras(fx["paths"]["keras"])
    before = model.get_weights()
    path = tmp_path / "bad.weights.h5"
    shutil.copy(fx["paths"]["weights_h5"], path)
    with h5py.File(path, "r+") as f:  # the last layer's kernel no longer fits
        del f["layers/dense_1/vars/0"]
        f["layers/dense_1/vars/0"] = np.zeros((6, 5), np.float32)
    with pytest.raises(ModelFileError, match=r"Expected shape \(6, 4\), received \(6, 5\)"):
        model.load_weights(path)
    after = model.get_weights()
    assert all(np.array_equal(before[k][p], after[k][p]) for k in before for p in before[k])
    assert os.path.exists(path)
