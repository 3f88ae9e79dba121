"""Opening Keras files safely: which family a path is, HDF5 attributes, the ``.keras`` archive.

Five file families exist (see :mod:`minidecnn.keras`). This module only answers
"what is this file and where are its parts"; it never builds layers.

Detection order:

1. a folder holding ``config.json`` and ``model.weights.h5``: an unzipped ``.keras``;
2. bytes starting with the ZIP magic ``PK\\x03\\x04``: a ``.keras`` archive;
3. an HDF5 file, recognised by what its root holds:

   * attribute ``layer_names`` (or ``layer_names0``, ...): legacy weights-only ``.h5``;
   * group ``model_weights``: legacy whole-model ``.h5`` (its config in ``model_config``);
   * attribute ``nb_layers``: the pre-1.0 Keras layout, refused;
   * group ``layers``, ``vars`` or ``_layer_checkpoint_dependencies``: Keras 3 weights;

4. a ``.json`` file with a ``weight_map``: sharded Keras 3 weights, merged in memory.

Every failure (missing, empty, random bytes, truncated, hostile zip member names)
raises :class:`~minidecnn.errors.ModelFileError` before anything is built.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field

import h5py
import numpy as np

from ..errors import MinidecnnError, ModelFileError

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: a config.json larger than this is refused: real CNN configs are a few hundred KB
MAX_CONFIG_BYTES = 64 * 2**20

LEGACY_MODEL = "legacy_model"  # family A: whole model in HDF5
LEGACY_WEIGHTS = "legacy_weights"  # family B: weights only, HDF5 (e.g. the VGG16 release)
KERAS3_ARCHIVE = "keras3_archive"  # family C: .keras zip or folder
KERAS3_WEIGHTS = "keras3_weights"  # family D: .weights.h5


def decode(value) -> str:
    """One attribute value as ``str``: ``bytes`` are UTF-8, 0-d arrays are unwrapped."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8")
    return str(value)


def read_list_attr(obj, name: str) -> list[str]:
    """A list-of-strings attribute, whatever h5py and Keras made of it.

    Handles ``str`` and ``bytes`` elements (vlen and fixed-length strings), the empty
    float64 array Keras writes for an empty list, and lists that Keras split into
    ``name0``, ``name1``, ... because HDF5 limits one attribute to 64 KiB.
    """
    if name in obj.attrs:
        parts = [obj.attrs[name]]
    else:
        parts, k = [], 0
        while f"{name}{k}" in obj.attrs:
            parts.append(obj.attrs[f"{name}{k}"])
            k += 1
    out = []
    for part in parts:
        arr = np.asarray(part)
        if arr.size == 0:
            continue
        out.extend(decode(v) for v in arr.reshape(-1))
    return out


def has_list_attr(obj, name: str) -> bool:
    return name in obj.attrs or f"{name}0" in obj.attrs


def read_str_attr(obj, name: str) -> str | None:
    """A scalar string attribute (``keras_version``, ``backend``, ``model_config``) or None."""
    if name not in obj.attrs:
        return None
    return decode(obj.attrs[name])


def parse_json(text, where: str):
    """``json.loads`` with a :class:`ModelFileError` naming the file part on failure."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(
            f"{where}: the model configuration is not valid JSON ({str(exc)[:200]}). "
            f"Expected the JSON text Keras writes, received {str(text)[:80]!r}..."
        ) from None


@dataclass
class KerasFile:
    """An opened Keras file: its family, its configuration (if any) and its weights.

    Attributes
    ----------
    family : str
        One of ``LEGACY_MODEL``, ``LEGACY_WEIGHTS``, ``KERAS3_ARCHIVE``, ``KERAS3_WEIGHTS``.
    path : str
    config : dict or None
        The model configuration (``model_config`` or ``config.json``), parsed.
    weights : h5py.Group
        Legacy: the group holding ``layer_names`` (the root or ``model_weights``).
        Keras 3: the root of the weights file.
    keras_version, backend : str or None
        Producer attributes (legacy files; ``metadata.json`` for archives).
    """

    family: str
    path: str
    config: dict | None
    weights: h5py.Group
    keras_version: str | None = None
    backend: str | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)

    def close(self):
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def guard(where):
    """Turn the errors a damaged or hostile file provokes (in h5py, in a malformed
    configuration) into one :class:`ModelFileError`; our own errors pass through."""
    try:
        yield
    except MinidecnnError:
        raise
    except (OSError, KeyError, IndexError, TypeError, AttributeError, ValueError,
            RuntimeError, RecursionError, UnicodeDecodeError) as exc:  # fmt: skip
        raise ModelFileError(
            f"{where}: the file is damaged or is not what it claims to be "
            f"({type(exc).__name__}: {str(exc)[:200]}). Expected an intact file written by "
            f"Keras; save or copy it again."
        ) from None


def _where(path) -> str:
    return f"load_keras('{os.path.basename(str(path))}')"


def open_keras_file(path) -> KerasFile:
    """Detect the family of ``path`` and open it (use as a context manager).

    Raises
    ------
    ModelFileError
        Missing or empty file, unknown content, truncated HDF5, hostile archive,
        or an obsolete layout.
    """
    if not isinstance(path, str | os.PathLike):
        raise ModelFileError(
            f"load_keras: invalid path. Expected a file path (str or pathlib.Path), "
            f"received {type(path).__name__}."
        )
    path = os.fspath(path)
    where = _where(path)
    if os.path.isdir(path):
        return _open_archive_folder(path, where)
    if not os.path.exists(path):
        raise ModelFileError(
            f"{where}: no such file. Expected an existing .h5, .keras or .weights.h5 file, "
            f"received the path {path!r}. Check the spelling and the working directory."
        )
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise ModelFileError(
            f"{where}: the file is empty (0 bytes). Expected a Keras HDF5 file or a .keras "
            f"archive, received an empty file. It was probably cut off while being written "
            f"or copied; save or download it again."
        )
    if head.startswith(ZIP_MAGIC):
        return _open_archive_zip(path, where)
    if head.lstrip().startswith(b"{") and path.endswith(".json"):
        return _open_sharded(path, where)
    if head != HDF5_MAGIC:
        raise ModelFileError(
            f"{where}: this is not a Keras file. Expected an HDF5 file (.h5, .weights.h5) "
            f"or a .keras zip archive, received a file starting with bytes {head!r}."
        )
    stack = contextlib.ExitStack()
    h5 = stack.enter_context(_h5open(path, where))
    try:
        return _classify_hdf5(h5, path, where, stack)
    except BaseException:
        stack.close()
        raise


@contextlib.contextmanager
def _h5open(source, where):
    try:
        h5 = h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        reason = str(exc)
        hint = ""
        if "truncat" in reason.lower() or "eof" in reason.lower():
            hint = " The file is truncated (shorter than HDF5 says it is); copy it again."
        raise ModelFileError(
            f"{where}: HDF5 cannot read this file ({reason}).{hint} Expected a complete "
            f"Keras HDF5 file, received an unreadable one."
        ) from None
    try:
        yield h5
    finally:
        h5.close()


def _classify_hdf5(h5, path, where, stack) -> KerasFile:
    version = read_str_attr(h5, "keras_version")
    backend = read_str_attr(h5, "backend")
    if has_list_attr(h5, "layer_names"):
        return KerasFile(LEGACY_WEIGHTS, path, None, h5, version, backend, stack)
    if "model_weights" in h5 and isinstance(h5["model_weights"], h5py.Group):
        text = read_str_attr(h5, "model_config")
        if text is None:
            raise ModelFileError(
                f"{where}: the file has weights but no model_config attribute. Expected a "
                f"whole-model file from model.save(...), received a file without the model "
                f"architecture. Build the model and call model.load_weights(path), or pass "
                f"config=... (the Keras model.to_json() text) to load_keras."
            )
        config = parse_json(text, where)
        weights = h5["model_weights"]
        version = read_str_attr(weights, "keras_version") or version
        backend = read_str_attr(weights, "backend") or backend
        return KerasFile(LEGACY_MODEL, path, config, weights, version, backend, stack)
    if "nb_layers" in h5.attrs:
        raise ModelFileError(
            f"{where}: this file uses the pre-1.0 Keras layout (attribute nb_layers, groups "
            f"layer_0, layer_1, ...), which minidecnn does not read. Expected a file written "
            f"by Keras 1.0 or later. Load it with Keras 1 and save it again."
        )
    if any(k in h5 for k in ("layers", "vars", "_layer_checkpoint_dependencies")):
        return KerasFile(KERAS3_WEIGHTS, path, None, h5, version, backend, stack)
    raise ModelFileError(
        f"{where}: this HDF5 file is not a Keras model or weights file. Expected the "
        f"attribute 'layer_names', a group 'model_weights' or a group 'layers', received "
        f"root groups {sorted(h5.keys())[:10]} and attributes {sorted(h5.attrs.keys())[:10]}."
    )


def _open_sharded(path, where) -> KerasFile:
    """Sharded Keras 3 weights (``save_weights(..., max_shard_size=...)``, Keras >= 3.10).

    ``<name>.weights.json`` maps each layer's inner path (``/layers/conv2d/vars``) to
    the shard file(s) beside it that hold its arrays; every shard has the
    ``.weights.h5`` layout. The shards are merged, group by group, into one HDF5 file
    held in memory, which is then read like a single ``.weights.h5``.
    """
    if os.path.getsize(path) > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{where}: the shard index is larger than {MAX_CONFIG_BYTES} bytes.")
    with open(path, "rb") as f:
        index = parse_json(f.read().decode("utf-8"), where)
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise ModelFileError(
            f"{where}: this JSON file is not a Keras shard index. Expected an object with a "
            f"'weight_map' of inner paths to shard files (written by Keras' "
            f"save_weights(..., max_shard_size=...)), received keys "
            f"{sorted(index)[:10] if isinstance(index, dict) else type(index).__name__}."
        )
    shards = []
    for files in weight_map.values():
        for name in [files] if isinstance(files, str) else files:
            if (
                not isinstance(name, str)
                or os.path.basename(name) != name
                or name in ("", "..", ".")
            ):
                raise ModelFileError(
                    f"{where}: the shard index names the shard {name!r}. Expected plain file "
                    f"names of shards beside the index; a path is never followed."
                )
            if name not in shards:
                shards.append(name)
    folder = os.path.dirname(os.path.abspath(path))
    stack = contextlib.ExitStack()
    try:
        merged = stack.enter_context(h5py.File(io.BytesIO(), "w"))
        for name in shards:
            shard_path = os.path.join(folder, name)
            if not os.path.isfile(shard_path):
                raise ModelFileError(
                    f"{where}: the shard {name!r} listed in the index is missing. Expected "
                    f"every shard next to {os.path.basename(path)}; copy all of them."
                )
            with _h5open(shard_path, f"{where} shard {name!r}") as shard:
                _merge_group(shard, merged, where)
        kfile = _classify_hdf5(merged, path, where, stack)
        if kfile.family != KERAS3_WEIGHTS:
            raise ModelFileError(
                f"{where}: the shards are not Keras 3 weights. Expected shards with the "
                f".weights.h5 layout (a group 'layers'), received a {kfile.family} file."
            )
        return kfile
    except BaseException:
        stack.close()
        raise


def _merge_group(src, dst, where) -> None:
    """Copy ``src``'s groups, datasets and attributes into ``dst`` (an array may not repeat)."""
    for key, value in src.attrs.items():
        dst.attrs[key] = value
    for key, item in src.items():
        if isinstance(item, h5py.Dataset):
            if key in dst:
                raise ModelFileError(
                    f"{where}: the array {item.name!r} is in more than one shard. Expected "
                    f"each array in exactly one shard; the shards do not belong together."
                )
            src.copy(item, dst, name=key)
        elif isinstance(item, h5py.Group):
            _merge_group(item, dst.require_group(key), where)


def check_member_name(name: str, where: str) -> None:
    """Refuse archive member paths that would escape the archive's folder."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise ModelFileError(
            f"{where}: the archive holds a member with an unsafe path {name!r}, which "
            f"points outside the archive's folder. Expected relative member names such as "
            f"'config.json'. minidecnn refuses such archives; do not trust this file."
        )


def _open_archive_zip(path, where) -> KerasFile:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(
            f"{where}: the .keras archive is damaged ({exc}). Expected a complete zip "
            f"archive written by model.save('model.keras'), received an unreadable one."
        ) from None
    stack = contextlib.ExitStack()
    stack.callback(zf.close)
    try:
        for info in infos:
            check_member_name(info.filename, where)
        names = {info.filename: info for info in infos}
        for member in ("config.json", "model.weights.h5"):
            if member not in names:
                extra = ""
                if member == "model.weights.h5" and "model.weights.npz" in names:
                    extra = " (this archive stores its weights as .npz, which is not supported)"
                raise ModelFileError(
                    f"{where}: the archive has no {member}{extra}. Expected a .keras "
                    f"archive with config.json and model.weights.h5, received members "
                    f"{sorted(names)[:10]}."
                )
        info = names["config.json"]
        if info.file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(
                f"{where}: config.json is {info.file_size} bytes. Expected at most "
                f"{MAX_CONFIG_BYTES} bytes for a model configuration."
            )
        config = parse_json(_read_member(zf, "config.json", where), where)
        version = None
        if "metadata.json" in names and names["metadata.json"].file_size < MAX_CONFIG_BYTES:
            meta = parse_json(_read_member(zf, "metadata.json", where), where)
            if isinstance(meta, dict) and isinstance(meta.get("keras_version"), str):
                version = meta["keras_version"]
        # h5py needs a seekable file; a temporary copy keeps memory flat for big models.
        tmp = stack.enter_context(tempfile.TemporaryFile())
        try:
            with zf.open("model.weights.h5") as src:
                shutil.copyfileobj(src, tmp, 2**22)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ModelFileError(
                f"{where}: model.weights.h5 cannot be read from the archive ({exc}). "
                f"Expected an intact archive; save the model again."
            ) from None
        tmp.seek(0)
        h5 = stack.enter_context(_h5open(tmp, where + " model.weights.h5"))
        return KerasFile(KERAS3_ARCHIVE, path, config, h5, version, None, stack)
    except BaseException:
        stack.close()
        raise


def _read_member(zf, name, where) -> bytes:
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(
            f"{where}: {name} cannot be read from the archive ({exc}). Expected an intact "
            f".keras archive; save the model again."
        ) from None


def _open_archive_folder(path, where) -> KerasFile:
    config_path = os.path.join(path, "config.json")
    weights_path = os.path.join(path, "model.weights.h5")
    if not (os.path.isfile(config_path) and os.path.isfile(weights_path)):
        raise ModelFileError(
            f"{where}: this folder is not an unzipped .keras model. Expected config.json and "
            f"model.weights.h5 inside it, received {sorted(os.listdir(path))[:10]}."
        )
    if os.path.getsize(config_path) > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{where}: config.json is larger than {MAX_CONFIG_BYTES} bytes.")
    with open(config_path, "rb") as f:
        config = parse_json(f.read(), where)
    version = None
    meta_path = os.path.join(path, "metadata.json")
    if os.path.isfile(meta_path) and os.path.getsize(meta_path) < MAX_CONFIG_BYTES:
        with open(meta_path, "rb") as f:
            meta = parse_json(f.read(), where)
        if isinstance(meta, dict) and isinstance(meta.get("keras_version"), str):
            version = meta["keras_version"]
    stack = contextlib.ExitStack()
    try:
        h5 = stack.enter_context(_h5open(weights_path, where + " model.weights.h5"))
    except BaseException:
        stack.close()
        raise
    return KerasFile(KERAS3_ARCHIVE, path, config, h5, version, None, stack)


def load_config_argument(config, where: str) -> dict:
    """The ``config=`` argument of ``load_keras``: a dict, JSON text or a path to JSON."""
    if isinstance(config, dict):
        return config
    if isinstance(config, bytes):
        config = config.decode("utf-8", errors="replace")
    if isinstance(config, os.PathLike) or (
        isinstance(config, str) and not config.lstrip().startswith(("{", "["))
    ):
        p = os.fspath(config)
        if not os.path.isfile(p):
            raise ModelFileError(
                f"{where}: config={p!r} is neither JSON text nor an existing file. Expected "
                f"the Keras model config as a dict, as model.to_json() text, or a path to a "
                f"JSON file."
            )
        if os.path.getsize(p) > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{where}: config file {p!r} is too large.")
        with open(p, "rb") as f:
            config = f.read()
    if not isinstance(config, str | bytes):
        raise ModelFileError(
            f"{where}: invalid config. Expected a dict, JSON text or a path, received "
            f"{type(config).__name__}."
        )
    parsed = parse_json(config, where)
    if not isinstance(parsed, dict):
        raise ModelFileError(
            f"{where}: invalid config. Expected a JSON object with 'class_name' and "
            f"'config', received a JSON {type(parsed).__name__}."
        )
    return parsed
