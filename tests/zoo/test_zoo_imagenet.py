"""ImageNet preprocessing and labels: hand-checked numbers, the shipped class index, Keras."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

import numpy as np
import pytest
from conftest import optional_import

from minidecnn.errors import DTypeError, ModelFileError, NotFiniteError, ShapeError
from minidecnn.zoo import (
    decode_predictions,
    deprocess_input,
    load_class_index,
    preprocess_input,
)

KERAS_CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"  # the hash Keras checks


def shipped_bytes():
    return resources.files("minidecnn.zoo").joinpath("data/imagenet_class_index.json").read_bytes()


# ---------------------------------------------------------------------------- class index


def test_shipped_class_index_is_keras_file_byte_for_byte():
    assert hashlib.md5(shipped_bytes()).hexdigest() == KERAS_CLASS_INDEX_MD5


def test_shipped_class_index_content():
    index = load_class_index()
    assert sorted(index) == list(range(1000))
    wnids = [index[i][0] for i in range(1000)]
    assert all(re.fullmatch(r"n\d{8}", w) for w in wnids)
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000  # classes are sorted wnids
    assert index[0] == ("n01440764", "tench")
    assert index[1] == ("n01443537", "goldfish")
    assert index[2] == ("n01484850", "great_white_shark")
    assert index[134] == ("n02012849", "crane") and index[517] == ("n03126707", "crane")
    assert index[638] == ("n03710637", "maillot") and index[639] == ("n03710721", "maillot")
    assert index[999] == ("n15075141", "toilet_tissue")


def test_user_class_index_file(tmp_path):
    path = tmp_path / "three.json"
    path.write_text(json.dumps({"0": ["w0", "cat"], "1": ["w1", "dog"], "2": ["w2", "owl"]}))
    out = decode_predictions(np.array([[0.1, 0.3, 0.6]]), top=2, class_index=path)
    assert out == [[("w2", "owl", 0.6), ("w1", "dog", 0.3)]]
    assert decode_predictions([[1.0, 0.0, 0.0]], top=1, class_index=str(path))[0][0][1] == "cat"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot be read as JSON"),
        ("[1, 2]", "not a class index"),
        ('{"0": ["w0", "cat"], "2": ["w2", "owl"]}', "entry '1' is None"),
        ('{"0": ["w0"]}', r"entry '0' is \['w0'\]"),
    ],
)
def test_bad_class_index_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelFileError, match=message):
        decode_predictions(np.zeros((1, 2)), class_index=path)


def test_missing_class_index_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"no such file.*leave class_index=None"):
        decode_predictions(np.zeros((1, 1000)), class_index=tmp_path / "nope.json")


# ---------------------------------------------------------------------------- decode


def test_decode_orders_by_score_and_keeps_ties_in_class_order():
    preds = np.zeros((2, 1000), np.float32)
    preds[0, [5, 3, 7]] = [0.5, 0.5, 0.9]
    preds[1, 999] = 1.0
    out = decode_predictions(preds, top=3)
    assert [c[1] for c in out[0]] == ["cock", "tiger_shark", "electric_ray"]  # 7, then 3, 5
    assert [round(c[2], 6) for c in out[0]] == [0.9, 0.5, 0.5]
    assert out[1][0] == ("n15075141", "toilet_tissue", 1.0)
    assert len(out) == 2 and all(len(row) == 3 for row in out)
    assert all(isinstance(c[2], float) for row in out for c in row)


@pytest.mark.parametrize(
    ("preds", "error", "message"),
    [
        (np.zeros(1000), ShapeError, r"Expected \(N, 1000\).*received \(1000,\).*preds\[None\]"),
        (np.zeros((2, 10)), ShapeError, r"received \(2, 10\)"),
        (np.zeros((2, 1000, 1)), ShapeError, r"received \(2, 1000, 1\)"),
        (np.full((1, 1000), np.nan), NotFiniteError, "contains 1000 NaN"),
        (np.array([["a"] * 1000]), DTypeError, "dtype <U1"),
    ],
)
def test_decode_rejects_bad_predictions(preds, error, message):
    with pytest.raises(error, match=message):
        decode_predictions(preds)


@pytest.mark.parametrize("top", [0, 1001, -1, 2.5, True])
def test_decode_rejects_top_out_of_range(top):
    with pytest.raises(ValueError, match=f"Expected an int from 1 to 1000, received top={top!r}"):
        decode_predictions(np.zeros((1, 1000)), top=top)


def test_decode_matches_keras_given_the_same_index(monkeypatch, rng):
    optional_import("keras")
    from keras.src.applications import imagenet_utils

    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", json.loads(shipped_bytes()))
    preds = rng.random((3, 1000)).astype(np.float32)
    theirs = imagenet_utils.decode_predictions(preds, top=4)
    ours = decode_predictions(preds, top=4)
    assert [[c[:2] for c in row] for row in ours] == [[tuple(c[:2]) for c in r] for r in theirs]
    np.testing.assert_array_equal(
        [[c[2] for c in r] for r in ours], [[c[2] for c in r] for r in theirs]
    )


# ---------------------------------------------------------------------------- preprocess


def test_preprocess_hand_example():
    out = preprocess_input(np.array([[[[10.0, 20.0, 30.0]]]], np.float32))
    np.testing.assert_allclose(out.ravel(), [-73.939, -96.779, -113.68], rtol=1e-6)
    assert out.dtype == np.float32 and out.shape == (1, 1, 1, 3)


def test_preprocess_never_modifies_its_input_and_keeps_float64():
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 5, 3))
    before = x.copy()
    out = preprocess_input(x)
    np.testing.assert_array_equal(x, before)
    assert out.dtype == np.float64 and not np.shares_memory(out, x)
    np.testing.assert_allclose(deprocess_input(out), x, rtol=1e-12, atol=1e-9)


def test_preprocess_accepts_uint8_images():
    x = np.array([[[0, 128, 255]]], np.uint8)
    out = preprocess_input(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), [255 - 103.939, 128 - 116.779, 0 - 123.68], rtol=1e-6)


@pytest.mark.parametrize(
    ("shape", "hint"),
    [
        ((2, 3, 8, 8), "channels-first.*transpose\\(0, 2, 3, 1\\)"),
        ((8, 8, 4), "received \\(8, 8, 4\\)"),
    ],
)
def test_preprocess_needs_three_channels_last(shape, hint):
    with pytest.raises(ShapeError, match=f"Expected an array of shape \\(..., 3\\).*{hint}"):
        preprocess_input(np.zeros(shape, np.float32))


def test_preprocess_matches_keras(rng):
    keras = optional_import("keras")
    x = rng.uniform(0, 255, (2, 6, 5, 3)).astype(np.float32)
    theirs = keras.applications.vgg16.preprocess_input(x.copy())
    np.testing.assert_allclose(preprocess_input(x), np.asarray(theirs), rtol=1e-6, atol=1e-5)
