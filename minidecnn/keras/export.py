"""Write minidecnn models in Keras 3's formats: ``.weights.h5`` and ``.keras``.

* :func:`save_weights` writes a Keras 3 weights file (``model.save_weights`` in
  Keras): one HDF5 group per layer at the path Keras would use, described in
  :mod:`minidecnn.keras.layout`. It is also minidecnn's checkpoint format; the
  arrays are stored in the model's dtype (float32 unless converted with ``astype``).
* :func:`save_keras` writes a whole-model ``.keras`` archive (a zip of
  ``metadata.json``, ``config.json`` and ``model.weights.h5``) that
  ``keras.saving.load_model`` opens and that predicts what minidecnn predicts.

Each minidecnn layer becomes the Keras layer of the same kind (activations stay
separate layers: ``ReLU``, ``Softmax``, ``Activation("sigmoid")``...), so the
Keras model computes the same function. Everything is checked before a byte is
written, and files are written to a temporary name and then renamed, so a failed
save never leaves a half-written file behind.

Examples
--------
>>> import os, tempfile, h5py
>>> import minidecnn as mdc
>>> from minidecnn.layers import Dense
>>> model = mdc.Sequential([mdc.Input((3,)), Dense(2, name="d")], name="tiny")
>>> with tempfile.TemporaryDirectory() as folder:
...     save_weights(model, os.path.join(folder, "tiny.weights.h5"))
...     with h5py.File(os.path.join(folder, "tiny.weights.h5")) as f:
...         print(sorted(f["layers/dense/vars"]), f["layers/dense/vars"].attrs["name"])
['0', '1'] d
"""

from __future__ import annotations

import datetime
import json
import os
import zipfile
from pathlib import Path

import h5py

from ..errors import ModelFileError, UnsupportedLayerError
from ..model import Model
from .export_config import model_config
from .layout import weight_slots

#: The Keras release this writer's layout and config were checked against.
KERAS_FORMAT_VERSION = "3.15.1"


def _check_model(model, where):
    if not isinstance(model, Model):
        raise TypeError(
            f"{where}: expected a minidecnn Model or Sequential, received "
            f"{type(model).__name__}. Wrap a single layer in a model first, for example "
            f"mdc.Sequential([mdc.Input(shape), layer])."
        )
    slots = weight_slots(model)
    seen = {}
    for slot in slots:
        if "/" in slot.name:
            raise UnsupportedLayerError(
                f"{where}: the name {slot.name!r} contains '/'. Expected names without "
                f"'/', which Keras forbids, received {slot.name!r}. Rename the layer."
            )
        if slot.layer is None or slot.path == "":
            continue
        other = seen.setdefault(id(slot.layer), slot.path)
        if other != slot.path:
            raise UnsupportedLayerError(
                f"{where}: layer {slot.name!r} belongs to two models (at {other!r} and "
                f"{slot.path!r}). Expected each layer in one model only, received a layer "
                f"shared across a nested model. Keras stores such a layer once and cannot "
                f"reload it; share it within one model instead."
            )
    return slots


def _check_path(path, suffix, where, other_hint):
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"{where}: expected a file path (str or pathlib.Path), received {type(path).__name__}."
        )
    path = Path(path)
    if not path.name.endswith(suffix):
        raise ModelFileError(
            f"{where}: the file name must end with {suffix!r}. Expected a name such as "
            f"'model{suffix}', received {path.name!r}. {other_hint}"
        )
    if not path.parent.is_dir():
        raise ModelFileError(
            f"{where}: the folder {str(path.parent)!r} does not exist. Expected an existing "
            f"folder, received {str(path)!r}. Create it first (os.makedirs)."
        )
    return path


def _write_weights_h5(target, slots) -> None:
    """Create every group of ``slots`` (with its ``name`` attribute and arrays) in ``target``."""
    with h5py.File(target, "w") as f:
        f.create_group("layers")
        for slot in slots:
            group = f.require_group(f"{slot.path}/vars" if slot.path else "vars")
            group.attrs["name"] = slot.name
            for i, array in enumerate(slot.arrays()):
                group.create_dataset(str(i), data=array)


def _replace_atomically(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_weights(model: Model, path) -> None:
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file.

    Parameters
    ----------
    model : Model or Sequential
        Any built minidecnn model, nested models included.
    path : str or pathlib.Path
        Must end with ``.weights.h5`` (Keras' rule for this format). An existing file
        is replaced.

    Raises
    ------
    ModelFileError
        A wrong suffix or a missing folder.
    UnsupportedLayerError
        A layer Keras cannot represent (the message names it).

    Notes
    -----
    Groups: ``/vars`` (the model), ``/layers/<class>[_k]/vars`` per layer, in
    Keras' order and naming (see :mod:`minidecnn.keras.layout`); each holds the
    layer's arrays as datasets ``"0"``, ``"1"``, ... (kernel, bias; BatchNormalization
    gamma, beta, moving_mean, moving_variance) and an attribute ``name``.
    A real Keras model with the same layers loads it with ``model.load_weights``.
    """
    where = "save_weights"
    slots = _check_model(model, where)
    path = _check_path(
        path, ".weights.h5", where, "For a whole model with its architecture use .keras."
    )
    _replace_atomically(path, lambda tmp: _write_weights_h5(tmp, slots))


def save_keras(model: Model, path) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` archive (or weights only, for ``.weights.h5``).

    Parameters
    ----------
    model : Model or Sequential
        Any built minidecnn model (functional, Sequential, nested; shared layers).
    path : str or pathlib.Path
        ``*.keras`` for the whole model; ``*.weights.h5`` for :func:`save_weights`.

    Raises
    ------
    ModelFileError
        A wrong suffix or a missing folder.
    UnsupportedLayerError
        A layer or option Keras cannot represent (the message names it).

    Notes
    -----
    The archive holds ``metadata.json`` (the Keras format version it follows and
    the date), ``config.json`` (the architecture in Keras 3's serialisation, see
    :mod:`minidecnn.keras.export_config`) and ``model.weights.h5`` (as written by
    :func:`save_weights`), stored uncompressed as Keras does. Keras opens it with
    ``keras.saving.load_model(path)``; nothing in it is code.
    """
    where = "save_keras"
    if isinstance(path, str | os.PathLike) and Path(path).name.endswith(".weights.h5"):
        save_weights(model, path)
        return
    slots = _check_model(model, where)
    path = _check_path(
        path, ".keras", where, "For weights only use a name ending with '.weights.h5'."
    )
    config = json.dumps({**model_config(model), "compile_config": None})
    metadata = json.dumps(
        {
            "keras_version": KERAS_FORMAT_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        }
    )

    def write(tmp):
        weights_tmp = tmp.with_name(tmp.name + ".h5")
        try:
            _write_weights_h5(weights_tmp, slots)
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
                zf.writestr("metadata.json", metadata)
                zf.writestr("config.json", config)
                zf.write(weights_tmp, "model.weights.h5")
        finally:
            if weights_tmp.exists():
                weights_tmp.unlink()

    _replace_atomically(path, write)
