"""load_idx: generated IDX files (raw, gzipped, every type), broken files, Fashion-MNIST."""

import gzip
import os
import struct

import numpy as np
import pytest

from minidecnn.data import load_idx
from minidecnn.data.idx import IDX_DTYPES
from minidecnn.errors import DataFileError

CODES = {np.dtype(dt).newbyteorder("="): code for code, dt in IDX_DTYPES.items()}


def idx_bytes(array, code=None):
    """The IDX encoding of ``array``, written independently of the reader."""
    array = np.asarray(array)
    code = CODES[array.dtype] if code is None else code
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(tmp_path, name, data, compress=False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_round_trip_every_type(tmp_path, rng, dtype, compress):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is None:
        array = rng.normal(size=(3, 4, 5)).astype(dtype)
    else:
        array = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    path = write(tmp_path, "data-idx3", idx_bytes(array), compress)
    out = load_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_mnist_like_pair_and_gzip_detected_by_content(tmp_path, rng):
    images = rng.integers(0, 256, size=(7, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    img = write(tmp_path, "train-images-idx3-ubyte.gz", idx_bytes(images), compress=True)
    lab = write(tmp_path, "labels-no-extension", idx_bytes(labels), compress=True)
    np.testing.assert_array_equal(load_idx(img), images)
    np.testing.assert_array_equal(load_idx(str(lab)), labels)
    assert load_idx(img).flags.writeable


def test_zero_images_is_an_empty_array(tmp_path):
    out = load_idx(write(tmp_path, "empty-idx3", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert out.shape == (0, 28, 28)


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))


@pytest.mark.parametrize(
    ("data", "compress", "text"),
    [
        (
            b"",
            False,
            (
                "is too short to be an IDX file. Expected at least a 4-byte header, "
                "received 0 bytes."
            ),
        ),
        (
            b"\x89PNG\r\n\x1a\n",
            False,
            (
                "is not an IDX file: wrong magic number. Expected the first two bytes "
                "to be 0x00 0x00, received 0x89 0x50."
            ),
        ),
        (
            bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]),
            False,
            (
                "has an unknown IDX type code. Expected one of 0x08, 0x09, 0x0b, 0x0c, "
                "0x0d, 0x0e, received 0x07."
            ),
        ),
        (bytes([0, 0, 0x08, 0]), False, "declares 0 dimensions. Expected 1 to 8"),
        (
            bytes([0, 0, 0x08, 3, 0, 0, 0, 1]),
            False,
            (
                "is truncated inside its header. Expected 16 header bytes for 3 "
                "dimensions, received 8."
            ),
        ),
        (
            GOOD[:-1],
            False,
            ("is truncated. Expected 12 data bytes for shape (3, 4) of uint8, received 11."),
        ),
        (
            GOOD + b"\x00",
            False,
            (
                "is longer than its header says. Expected 12 data bytes for shape (3, "
                "4) of uint8, received 13."
            ),
        ),
        (GOOD[:-5], True, "is truncated. Expected 12 data bytes"),
        (gzip.compress(GOOD)[:-12], False, "starts like a gzip file but cannot be decompressed"),
    ],
)
def test_bad_files(tmp_path, data, compress, text):
    path = write(tmp_path, "bad-idx", data, compress)
    with pytest.raises(DataFileError) as info:
        load_idx(path)
    message = str(info.value)
    assert message.startswith(f"load_idx: {str(path)!r} ")  # names the file first
    assert text in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(
        DataFileError, match=(r"load_idx: no such file .*nothing-here\.gz'\. Expected an IDX file")
    ):
        load_idx(tmp_path / "nothing-here.gz")
    with pytest.raises(
        DataFileError, match=(r"is a folder\. Expected the path of one IDX file inside it")
    ):
        load_idx(tmp_path)


FASHION = os.environ.get("MINIDECNN_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not os.path.isdir(FASHION),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
@pytest.mark.parametrize(("split", "n"), [("t10k", 10000), ("train", 60000)])
def test_fashion_mnist_from_debian(split, n):
    images = load_idx(os.path.join(FASHION, f"{split}-images-idx3-ubyte.gz"))
    labels = load_idx(os.path.join(FASHION, f"{split}-labels-idx1-ubyte.gz"))
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert np.array_equal(np.bincount(labels), np.full(10, n // 10))  # balanced classes
    assert images.max() == 255 and images.min() == 0
    assert 60 < images.mean() < 90  # mostly dark background, a grey garment in the middle
    # the garment sits in the middle: the centre is brighter than the border on average
    assert images[:, 10:18, 10:18].mean() > 2 * images[:, :, :3].mean()
