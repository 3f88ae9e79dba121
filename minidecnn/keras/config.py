"""Reading a Keras model configuration (any dialect) into one neutral description.

Keras has written model configurations in several dialects (Keras 1 class and
argument names, rewritten by :mod:`minidecnn.keras.keras1`; Keras 2 lists of
``[name, node_index, tensor_index, kwargs]``, Keras 3 ``{"args", "kwargs"}`` calls
with ``__keras_tensor__`` records, Sequential configs as a bare list, a dict with
``layers``, with or without an ``InputLayer``...). This module turns each of them
into a :class:`ModelSpec`: a list of :class:`LayerSpec` whose calls name their
inputs as ``(layer name, call number)``, so the builder never sees a dialect.

``node_index`` in a config is not always the call number: a nested model built
from ``Input`` owns a construction node 0 that Keras 2 counts and Keras 3 counts
only in ``input_layers``/``output_layers``. :func:`_call_number` applies that
table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ModelFileError
from .keras1 import upgrade_entry

MODEL_CLASSES = ("Functional", "Model", "Sequential")
#: top-level packages of built-in Keras objects (Keras 3, tf-keras, tf.keras)
KERAS_MODULES = ("keras", "tf_keras", "tensorflow")

#: refs are (layer name, call number); tensor index is always 0 for our layers
Ref = tuple[str, int]


@dataclass
class LayerSpec:
    """One Keras layer of a model configuration.

    Attributes
    ----------
    class_name : str
    name : str
    config : dict
        The layer's own arguments (``filters``, ``kernel_size``, ...).
    calls : list of list of Ref
        One entry per call in this model; each lists the call's input tensors.
    model : ModelSpec or None
        For a nested model (a model used as a layer), its own description.
    """

    class_name: str
    name: str
    config: dict
    calls: list[list[Ref]] = field(default_factory=list)
    model: ModelSpec | None = None


@dataclass
class ModelSpec:
    """A model configuration in neutral form.

    Attributes
    ----------
    class_name : {"Functional", "Sequential"}
    name : str
    layers : list of LayerSpec
        Keras' ``model.layers`` order: InputLayers included for a functional model
        and dropped for a Sequential, exactly as Keras numbers weight slots.
    inputs : list of (str, tuple)
        Input layer names with their shapes (without the batch axis).
    outputs : list of Ref
    """

    class_name: str
    name: str
    layers: list[LayerSpec]
    inputs: list[tuple[str, tuple]]
    outputs: list[Ref]

    def layer(self, name: str) -> LayerSpec:
        for spec in self.layers:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _fail(where, what):
    raise ModelFileError(f"{where}: the model configuration is malformed: {what}.")


def _name_of(entry: dict) -> str:
    cfg = entry.get("config")
    name = entry.get("name")
    if name is None and isinstance(cfg, dict):
        name = cfg.get("name")
    return name


def batch_shape(cfg: dict):
    """The ``batch_shape`` (Keras 3) or ``batch_input_shape`` (Keras 2) of a layer config."""
    for key in ("batch_shape", "batch_input_shape"):
        value = cfg.get(key)
        if value is not None:
            return _plain(value)
    return None


def _plain(value):
    """Undo Keras' JSON helpers: ``{"class_name": "__tuple__", "items": [...]}`` -> list."""
    if isinstance(value, dict) and value.get("class_name") in ("__tuple__", "TensorShape"):
        return [_plain(v) for v in value.get("items", [])]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _shape_without_batch(shape, where, layer):
    try:
        dims = tuple(int(d) for d in shape[1:])
    except (TypeError, ValueError):
        dims = None
    if not dims or any(d < 1 for d in dims):
        raise ModelFileError(
            f"{where}: input layer {layer!r} has shape {shape!r}. Expected a fixed shape "
            f"such as [null, 224, 224, 3]; minidecnn needs every input dimension but the "
            f"batch to be known."
        )
    return dims


def parse_model(config: dict, where: str) -> ModelSpec:
    """Parse a model configuration envelope ``{"class_name": ..., "config": ...}``.

    Raises
    ------
    ModelFileError
        Not a model configuration, a dialect minidecnn does not read, or broken references.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        _fail(where, "expected a JSON object with 'class_name' and 'config'")
    cls = config["class_name"]
    if cls not in MODEL_CLASSES:
        raise ModelFileError(
            f"{where}: the top-level object is a {cls!r}. Expected a model configuration "
            f"(class_name one of {list(MODEL_CLASSES)}); subclassed models cannot be "
            f"rebuilt from a file."
        )
    return _parse(config, where, build_config=config.get("build_config"))


def _parse(config, where, build_config=None) -> ModelSpec:
    _check_builtin(config, where, "model")
    cls = config["class_name"]
    body = config.get("config")
    if cls == "Sequential":
        return _parse_sequential(body, where, build_config)
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        _fail(where, f"the functional model config has no 'layers' list (class {cls})")
    return _parse_functional(body, where)


def _check_builtin(entry, where, what):
    """Refuse objects Keras would import from user code (custom or registered classes)."""
    module = entry.get("module")
    registered = entry.get("registered_name")
    custom = (isinstance(module, str) and module.split(".")[0] not in KERAS_MODULES) or (
        isinstance(registered, str) and registered != entry.get("class_name")
    )
    if custom:
        name = _name_of(entry)
        from .convert import supported_list

        raise _unsupported(
            where,
            name,
            entry.get("class_name"),
            f"it is a custom object (module {module!r}, registered as {registered!r}); "
            f"minidecnn never imports or runs code named in a file",
            supported_list(),
        )


def _unsupported(where, name, cls, why, supported):
    from ..errors import UnsupportedLayerError

    return UnsupportedLayerError(
        f"{where}: layer {name!r} of class {cls!r} is not supported: {why}. Expected one of "
        f"the supported layer classes: {supported}."
    )


def _entries(layers, where):
    out = []
    for entry in layers:
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            _fail(where, f"a layer entry is not an object with 'class_name': {str(entry)[:80]}")
        if not isinstance(entry.get("config"), dict):
            _fail(where, f"layer entry {entry.get('class_name')!r} has no 'config' object")
        _check_builtin(entry, where, "layer")
        entry = upgrade_entry(entry, where)  # Keras 1 names -> Keras 2 (keras1.py)
        name = _name_of(entry)
        if not isinstance(name, str) or not name:
            _fail(where, f"a {entry['class_name']} layer has no name")
        out.append(entry)
    names = [_name_of(e) for e in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        _fail(where, f"duplicate layer names {dup}")
    return out


def _nested(entry, where):
    if entry["class_name"] in MODEL_CLASSES:
        inner_where = f"{where} (nested model {_name_of(entry)!r})"
        return _parse(entry, inner_where, build_config=entry.get("build_config"))
    return None


def _parse_sequential(body, where, build_config) -> ModelSpec:
    if isinstance(body, list):  # Keras <= 2.1.6: a bare list of layers
        layers, name = body, "sequential"
    elif isinstance(body, dict) and isinstance(body.get("layers"), list):
        layers, name = body["layers"], body.get("name", "sequential")
    else:
        _fail(where, "the Sequential config has no 'layers' list")
    entries = _entries(layers, where)
    input_name, shape = None, None
    if entries and entries[0]["class_name"] == "InputLayer":
        first = entries.pop(0)
        input_name = _name_of(first)
        shape = batch_shape(first["config"])
    elif entries:
        shape = batch_shape(entries[0]["config"])
    if shape is None and isinstance(body, dict):
        shape = _plain(body.get("build_input_shape"))
    if shape is None and isinstance(build_config, dict):
        shape = _plain(build_config.get("input_shape"))
    if not entries:
        _fail(where, f"the Sequential model {name!r} has no layers")
    if shape is None:
        raise ModelFileError(
            f"{where}: Sequential model {name!r} has no input shape (no InputLayer, no "
            f"batch_input_shape, no build_input_shape). Expected a model that was built; "
            f"in Keras, start it with keras.Input(shape) and save it again."
        )
    if input_name is None:
        input_name = f"{name}_input"
    dims = _shape_without_batch(shape, where, input_name)
    specs, prev = [], (input_name, 0)
    for entry in entries:
        if entry["class_name"] == "InputLayer":
            _fail(where, f"InputLayer {_name_of(entry)!r} in the middle of a Sequential")
        spec = LayerSpec(entry["class_name"], _name_of(entry), entry["config"], [[prev]])
        spec.model = _nested(entry, where)
        specs.append(spec)
        prev = (spec.name, 0)
    return ModelSpec("Sequential", name, specs, [(input_name, dims)], [prev])


def _is_k3_call(call) -> bool:
    return isinstance(call, dict)


def _k3_tensors(value, out):
    """Collect ``keras_history`` triples of ``__keras_tensor__`` records, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            hist = value.get("config", {}).get("keras_history")
            if not isinstance(hist, list) or len(hist) != 3:
                raise ValueError(f"tensor record without keras_history: {str(value)[:80]}")
            out.append(tuple(hist))
        else:
            for v in value.values():
                _k3_tensors(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _k3_tensors(v, out)
    return out


def _normalise_io(value):
    """``input_layers``/``output_layers``: a bare triple, a list of triples, or a dict."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    return [tuple(v[:3]) for v in value]


def _parse_functional(body, where) -> ModelSpec:
    entries = _entries(body["layers"], where)
    name = body.get("name", "functional")
    by_name = {_name_of(e): e for e in entries}
    k3 = any(_is_k3_call(c) for e in entries for c in (e.get("inbound_nodes") or []))
    if not k3 and not any(e.get("inbound_nodes") for e in entries):
        k3 = any("module" in e for e in entries)
    nested = {n: _nested(e, where) for n, e in by_name.items()}

    def call_number(ref, in_io):
        lname, node_index, tensor_index = ref
        if lname not in by_name:
            _fail(where, f"a call refers to a layer {lname!r} that is not in the model")
        if tensor_index not in (0, None):
            raise ModelFileError(
                f"{where}: layer {lname!r} is used through its output number {tensor_index}. "
                f"Expected layers with one output each; minidecnn does not support "
                f"multi-output layers or nested multi-output models."
            )
        return lname, _call_number(by_name[lname], nested[lname], int(node_index), k3, in_io)

    specs, inputs = [], []
    for entry in entries:
        lname, cls = _name_of(entry), entry["class_name"]
        if cls == "InputLayer":
            shape = batch_shape(entry["config"])
            if shape is None:
                _fail(where, f"InputLayer {lname!r} has no batch_shape")
            inputs.append((lname, _shape_without_batch(shape, where, lname)))
        calls = []
        for call in entry.get("inbound_nodes") or []:
            try:
                if _is_k3_call(call):
                    refs = _k3_tensors(call.get("args", []), [])
                    kw = _k3_tensors(call.get("kwargs", {}), [])
                    if kw:
                        raise ValueError("tensors passed as keyword arguments are not supported")
                else:
                    refs = [tuple(r[:3]) for r in call]
            except (TypeError, ValueError, AttributeError, IndexError) as exc:
                _fail(where, f"layer {lname!r} has an unreadable call ({exc})")
            if not refs:
                _fail(where, f"layer {lname!r} has a call without input tensors")
            calls.append([call_number(r, False) for r in refs])
        spec = LayerSpec(cls, lname, entry["config"], calls, nested[lname])
        specs.append(spec)
    declared = [r[0] for r in _normalise_io(body.get("input_layers", []))]
    if sorted(declared) != sorted(n for n, _ in inputs):
        _fail(where, f"input_layers {declared} do not match the InputLayers")
    order = {n: i for i, n in enumerate(declared)}
    inputs.sort(key=lambda item: order[item[0]])
    try:
        outputs = [call_number(r, True) for r in _normalise_io(body.get("output_layers", []))]
    except (TypeError, ValueError, IndexError) as exc:
        _fail(where, f"output_layers cannot be read ({exc})")
    if not outputs:
        _fail(where, "the model has no output_layers")
    return ModelSpec("Functional", name, specs, inputs, outputs)


def _call_number(entry, nested, node_index, k3, in_io) -> int:
    """Map a config ``node_index`` to the call number of the referenced layer (see above)."""
    cls = entry["class_name"]
    if cls == "InputLayer":
        return 0
    if nested is None:
        return node_index
    if nested.class_name == "Functional":
        return node_index - 1 if (not k3 or in_io) else node_index
    # a nested Sequential: it owns a construction node when it was built with an input
    has_input = _sequential_has_input(entry)
    if has_input and not k3:
        return node_index - 1
    return node_index


def _sequential_has_input(entry) -> bool:
    body = entry.get("config")
    layers = body if isinstance(body, list) else (body or {}).get("layers", [])
    if not layers:
        return False
    first = layers[0]
    if first.get("class_name") == "InputLayer":
        return True
    return batch_shape(first.get("config", {})) is not None


def written_by_keras3(config, keras_version) -> bool | None:
    """Whether Keras 3 (True) or Keras 1/2 / tf.keras (False) wrote ``config``; None if unknown.

    Only ``activation="hard_sigmoid"`` needs this (Keras 3 changed its formula). The
    configuration's own dialect decides first, because it is what holds the activation:
    Keras 3 calls layers with ``{"args", "kwargs"}`` records, gives its InputLayers a
    ``batch_shape`` and its layers a ``DTypePolicy`` object; Keras 1/2 write
    ``[name, node, tensor, kwargs]`` lists and ``batch_input_shape``. A configuration
    without any of these (a Sequential without an input, say) falls back on the
    ``keras_version`` the file records.

    >>> written_by_keras3({"class_name": "InputLayer", "config": {"batch_shape": [None, 2]}}, None)
    True
    >>> written_by_keras3({"class_name": "Dense", "config": {"units": 2}}, "2.15.0")
    False
    >>> written_by_keras3({"class_name": "Dense", "config": {"units": 2}}, None) is None
    True
    """
    votes = set()

    def walk(value):
        if isinstance(value, dict):
            cfg = value.get("config")
            if isinstance(cfg, dict):
                if "batch_shape" in cfg:
                    votes.add(True)
                if "batch_input_shape" in cfg:
                    votes.add(False)
                dtype = cfg.get("dtype")
                if isinstance(dtype, dict) and "DTypePolicy" in str(dtype.get("class_name")):
                    votes.add(True)
            for call in value.get("inbound_nodes") or []:
                votes.add(isinstance(call, dict))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(config)
    if len(votes) == 1:
        return votes.pop()
    if isinstance(keras_version, str) and keras_version[:1].isdigit():
        return int(keras_version.split(".")[0]) >= 3
    return None
