"""Read MNIST-format IDX files (MNIST, Fashion-MNIST, EMNIST, KMNIST), raw or gzipped.

The IDX format is a 4-byte magic number, one big-endian ``uint32`` per dimension,
then the array in C order, big-endian::

    byte 0, 1   0x00 0x00
    byte 2      the type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte 3      the number of dimensions, ``ndim``
    then        ndim x uint32 sizes (MNIST images: N, 28, 28; labels: N)
    then        prod(sizes) values

A gzipped file is recognised by its own magic bytes (``1f 8b``), whatever its name.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from ..errors import DataFileError

#: IDX type code -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_NDIM = 8


def _read_bytes(path, where):
    if not os.path.exists(path):
        raise DataFileError(
            f"{where}: no such file {os.fspath(path)!r}. Expected an IDX file such as "
            f"'train-images-idx3-ubyte.gz'. Check the path (Debian's dataset-fashion-mnist "
            f"package installs them under /usr/share/datasets/fashion-mnist)."
        )
    if os.path.isdir(path):
        raise DataFileError(
            f"{where}: {os.fspath(path)!r} is a folder. Expected the path of one IDX file "
            f"inside it, for example '<folder>/train-images-idx3-ubyte.gz'."
        )
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFileError(
                f"{where}: {os.fspath(path)!r} starts like a gzip file but cannot be "
                f"decompressed ({exc}). Expected a complete .gz file; download or copy it "
                f"again."
            ) from None
    return data


def load_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray
        Shape and dtype from the header, in native byte order. MNIST images come
        as ``uint8`` of shape ``(N, 28, 28)``, labels as ``uint8`` of shape ``(N,)``.
        For a model, convert the images with ``x.astype("float32")[..., None] / 255``
        (NHWC with one channel, values in ``[0, 1]``).

    Raises
    ------
    DataFileError
        A missing file, a bad gzip stream, a wrong magic number or type code, or a
        payload whose size does not match the header (truncated or with trailing
        bytes). The message says which.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> load_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    where = "load_idx"
    path = os.fspath(path)
    data = _read_bytes(path, where)
    if len(data) < 4:
        raise DataFileError(
            f"{where}: {path!r} is too short to be an IDX file. Expected at least a 4-byte "
            f"header, received {len(data)} bytes."
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataFileError(
            f"{where}: {path!r} is not an IDX file: wrong magic number. Expected the first "
            f"two bytes to be 0x00 0x00, received 0x{zero0:02x} 0x{zero1:02x}."
        )
    if code not in IDX_DTYPES:
        codes = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
        raise DataFileError(
            f"{where}: {path!r} has an unknown IDX type code. Expected one of {codes}, "
            f"received 0x{code:02x}."
        )
    if not 1 <= ndim <= _MAX_NDIM:
        raise DataFileError(
            f"{where}: {path!r} declares {ndim} dimensions. Expected 1 to {_MAX_NDIM} "
            f"(MNIST images have 3, labels 1)."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(
            f"{where}: {path!r} is truncated inside its header. Expected {header} header "
            f"bytes for {ndim} dimensions, received {len(data)}."
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    received = len(data) - header
    if received != expected:
        problem = "truncated" if received < expected else "longer than its header says"
        raise DataFileError(
            f"{where}: {path!r} is {problem}. Expected {expected} data bytes for shape "
            f"{shape} of {dtype.name}, received {received}."
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
