"""Keras weight arrays -> minidecnn parameters.

Where the arrays are
--------------------
* Legacy HDF5 (Keras 1/2/3 ``.h5``): one group per layer name listed in
  ``layer_names``; the group's ``weight_names`` lists its datasets in order.
* Keras 3 (``.keras``, ``.weights.h5``): ``layers/<snake_class>[_k]/vars/0, 1, ...``,
  where the path comes from the class names and order of ``model.layers``, not from
  the layer names (``conv2d``, ``conv2d_1``, ... counted per class and per model).

How layers are paired
---------------------
* topologically (Keras' default): the k-th layer *with weights* in the file gets
  the k-th layer with weights in the model;
* by name (``by_name=True``): each file layer goes to the model layer of that name.

Inside one layer the arrays come in Keras' order and get our names::

    Conv2D, Dense          kernel, bias                        -> W, b
    DepthwiseConv2D        depthwise_kernel (Keras 3: kernel), bias -> W, b
    SeparableConv2D        depthwise_kernel, pointwise_kernel, bias
                                                  -> depthwise_W, pointwise_W, b
    BatchNormalization     gamma, beta, moving_mean, moving_variance (same names)

A nested model's group lists the weights of all its sublayers, trainable ones
first, so they are routed by name (``.../<sublayer>/<variable>``) instead.

Every array is checked (count, shape, floating dtype) before any parameter
changes, so a failed load leaves the model as it was.
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np

from .. import layers as L
from ..errors import ModelFileError, UnknownNameError, UnsupportedLayerError
from ..layers.base import snake_case
from ..model import Model, Sequential
from . import files

KERNEL_CONVENTIONS = ("auto", "tensorflow", "theano")
DATA_FORMATS = (None, "channels_last", "channels_first")


# ---------------------------------------------------------------------------- one layer


def expected_keys(layer) -> list[str]:
    """Our parameter names of ``layer`` in Keras' saving order (params, then buffers)."""
    return [*layer.params, *layer.buffers]


def _store(layer):
    return {**layer.params, **layer.buffers}


def variable_key(layer, variable: str) -> str | None:
    """Our parameter name for a Keras variable name (``kernel`` -> ``W`` ...)."""
    var = variable.split(":")[0].split("/")[-1]
    if isinstance(layer, L.SeparableConv2D):
        table = {"depthwise_kernel": "depthwise_W", "pointwise_kernel": "pointwise_W"}
    elif isinstance(layer, L.BatchNormalization):
        table = {k: k for k in ("gamma", "beta", "moving_mean", "moving_variance")}
    else:
        table = {"kernel": "W", "depthwise_kernel": "W", "W": "W"}
    table.setdefault("bias", "b")
    table.setdefault("b", "b")
    return table.get(var)


class Plan:
    """The arrays to read and where they go; nothing changes until :meth:`commit`."""

    def __init__(self, where, kernel_convention="tensorflow", keras1_channels_first=False):
        self.where = where
        self.flip = kernel_convention == "theano"
        self.keras1_cf = keras1_channels_first
        self.items = []  # (layer, key, dataset, transform)
        self.flatten_shapes = {}  # Dense -> (H, W, C) of a Flatten the file saw as (C, H, W)

    def add_layer(self, layer, named_datasets, label):
        """Pair a plain layer's arrays with its parameters, in order."""
        keys = expected_keys(layer)
        if len(named_datasets) != len(keys):
            raise ModelFileError(
                f"{self.where}: layer {label!r} has {len(named_datasets)} weight arrays in the "
                f"file ({[n for n, _ in named_datasets]}) but minidecnn's {type(layer).__name__} "
                f"{layer.name!r} expects {len(keys)} ({keys}). Expected the same layer type "
                f"and options (use_bias, center, scale) in the file and the model."
            )
        for key, (wname, ds) in zip(keys, named_datasets):
            self._add(layer, key, wname, ds, label)

    def add_nested(self, model, named_datasets, label):
        """Route a nested model's arrays to its sublayers by their names."""
        routed = {}
        for wname, ds in named_datasets:
            parts = wname.split(":")[0].split("/")
            if len(parts) < 2:
                raise ModelFileError(
                    f"{self.where}: nested model {label!r} stores a weight named {wname!r}. "
                    f"Expected names like 'sublayer/kernel:0' to route it to a sublayer."
                )
            try:
                sub = model.get_layer(parts[-2])
            except UnknownNameError:
                raise ModelFileError(
                    f"{self.where}: nested model {label!r} stores weight {wname!r} for a "
                    f"sublayer {parts[-2]!r} that the model does not have. Expected the "
                    f"sublayer names of {model.name!r}: "
                    f"{[n for n, _ in model.named_layers()]}."
                ) from None
            key = variable_key(sub, parts[-1])
            if key is None or key not in _store(sub):
                raise ModelFileError(
                    f"{self.where}: nested model {label!r}: weight {wname!r} has no place in "
                    f"{type(sub).__name__} {sub.name!r}. Expected one of {expected_keys(sub)}."
                )
            if (sub, key) in routed:
                raise ModelFileError(f"{self.where}: weight {wname!r} appears twice.")
            routed[(sub, key)] = (wname, ds)
        for sub in model.leaf_layers():
            for key in expected_keys(sub):
                if (sub, key) not in routed:
                    raise ModelFileError(
                        f"{self.where}: nested model {label!r} has no weight for "
                        f"{sub.name}.{key}. Expected {len(routed)} + missing arrays; the file "
                        f"and the model do not have the same layers."
                    )
        for (sub, key), (wname, ds) in routed.items():
            self._add(sub, key, wname, ds, f"{label}/{sub.name}")

    def add_target(self, target, named_datasets, label):
        if isinstance(target, Model):
            self.add_nested(target, named_datasets, label)
        else:
            self.add_layer(target, named_datasets, label)

    def _add(self, layer, key, wname, ds, label):
        if not isinstance(ds, h5py.Dataset):
            raise ModelFileError(
                f"{self.where}: weight {wname!r} of layer {label!r} is missing or is not an "
                f"array. Expected an HDF5 dataset; the file is damaged."
            )
        if ds.dtype.kind != "f" or ds.attrs.get("dtype") in ("bfloat16", b"bfloat16"):
            raise ModelFileError(
                f"{self.where}: weight {wname!r} of layer {label!r} has dtype "
                f"{ds.attrs.get('dtype', ds.dtype)}. Expected float16, float32 or float64."
            )
        transform, shape = self._transform(layer, key, tuple(ds.shape))
        expected = _store(layer)[key].shape
        if shape != expected:
            hint = ""
            if (
                len(expected) == 4
                and tuple(ds.shape) == (expected[3], expected[2], expected[0], expected[1])
                and not self.keras1_cf
            ):
                hint = (
                    " The array looks like a Keras 1 channels_first ('th') kernel "
                    "(F, C, KH, KW): pass data_format='channels_first'."
                )
            raise ModelFileError(
                f"{self.where}: weight {wname!r} of layer {label!r} does not fit "
                f"{type(layer).__name__} {layer.name!r}.{key}. Expected shape {expected}, "
                f"received {tuple(ds.shape)}.{hint} Check that the file belongs to this model."
            )
        self.items.append((layer, key, ds, transform, wname))

    def _transform(self, layer, key, shape):
        """The conversion for Theano-era files, and the shape it produces."""
        steps = []
        if isinstance(layer, L.Conv2D) and key == "W" and len(shape) == 4:
            if self.keras1_cf:  # (F, C, KH, KW) -> (KH, KW, C, F)
                steps.append(lambda a: a.transpose(2, 3, 1, 0))
                shape = (shape[2], shape[3], shape[1], shape[0])
            if self.flip:  # Theano convolved: flip both spatial axes
                steps.append(lambda a: a[::-1, ::-1])
        if isinstance(layer, L.Dense) and key == "W":  # rows of a (C, H, W) Flatten
            hwc = self.flatten_shapes.get(layer)
            if hwc is not None:
                H, W, C = hwc
                steps.append(
                    lambda a: a.reshape(C, H, W, -1).transpose(1, 2, 0, 3).reshape(H * W * C, -1)
                )
        return steps, shape

    def read(self):
        """Read every array (validated above) into new arrays; nothing is assigned yet."""
        out = []
        for layer, key, ds, steps, wname in self.items:
            target = _store(layer)[key]
            try:
                arr = np.empty(ds.shape, dtype=target.dtype)
                if arr.size:
                    ds.read_direct(arr)
            except (OSError, ValueError, TypeError) as exc:
                raise ModelFileError(
                    f"{self.where}: weight {wname!r} cannot be read ({exc}). Expected an intact "
                    f"file; it may be truncated."
                ) from None
            for step in steps:
                arr = step(arr)
            out.append((layer, key, arr))
        return out

    def commit(self, arrays, swap=False):
        """Assign arrays read by :meth:`read`: swap them in (no copy; the params dicts stay
        the same objects, their entries become the new arrays) or copy into the old ones."""
        for layer, key, arr in arrays:
            store = layer.params if key in layer.params else layer.buffers
            if swap:
                store[key] = np.ascontiguousarray(arr)
            else:
                np.copyto(store[key], arr)


# ---------------------------------------------------------------------------- legacy files


def legacy_layers(group) -> list[tuple[str, list[str]]]:
    """``[(layer name, weight names)]`` in ``layer_names`` order."""
    out = []
    for name in files.read_list_attr(group, "layer_names"):
        sub = group.get(name)
        if not isinstance(sub, h5py.Group):
            raise ModelFileError(
                f"{files._where(group.file.filename)}: layer_names lists {name!r} but the "
                f"file has no group of that name. Expected one group per listed layer; the "
                f"file is damaged."
            )
        out.append((name, files.read_list_attr(sub, "weight_names")))
    return out


def _datasets(group, lname, wnames):
    sub = group[lname]
    return [(w, sub.get(w)) for w in wnames]


def plan_legacy(plan, group, targets, by_name, where, labels=None):
    """Pair a legacy weights group with ``targets`` (``[(name, layer or Model)]``, in order)."""
    file_layers = [(n, w) for n, w in legacy_layers(group) if w]
    if by_name:
        by = {}
        for n, t in targets:
            by.setdefault(n, []).append(t)
        matched = 0
        for lname, wnames in file_layers:
            for target in by.get(lname, []):
                plan.add_target(target, _datasets(group, lname, wnames), lname)
                matched += 1
        if not matched:
            raise ModelFileError(
                f"{where}: by_name=True matched no layer. Expected layer names shared by the "
                f"file and the model; the file has {[n for n, _ in file_layers][:8]}, the "
                f"model has {[n for n, _ in targets][:8]}. Use by_name=False to load by "
                f"position."
            )
        return
    if len(file_layers) != len(targets):
        raise ModelFileError(
            f"{where}: layer count mismatch. The model has {len(targets)} layers with weights "
            f"({[n for n, _ in targets][:6]}...), the file has {len(file_layers)} "
            f"({[n for n, _ in file_layers][:6]}...). Expected the same number to load by "
            f"position; use by_name=True if the names match."
        )
    differ = []
    for (lname, wnames), (tname, target) in zip(file_layers, targets):
        if lname != tname:
            differ.append((lname, tname))
        plan.add_target(target, _datasets(group, lname, wnames), lname)
    if differ and labels != "quiet":
        warnings.warn(
            f"{where}: loaded by position although {len(differ)} layer names differ, e.g. "
            f"file {differ[0][0]!r} -> model {differ[0][1]!r}.",
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- Keras 3 files


def _child(group, name):
    """``group[name]``, with the ``_layer_checkpoint_dependencies`` alias of TF 2.13/2.14."""
    if name in group:
        return group[name]
    if name == "layers" and "_layer_checkpoint_dependencies" in group:
        return group["_layer_checkpoint_dependencies"]
    return None


def k3_vars(root, path, label, where, expected_name=None):
    """The datasets of ``<path>/vars`` in order ``0, 1, ...``."""
    group = root
    for part in path.split("/"):
        group = _child(group, part) if isinstance(group, h5py.Group) else None
        if group is None:
            raise ModelFileError(
                f"{where}: the weights file has no group {path!r} for layer {label!r}. Expected "
                f"a file saved from the same architecture (Keras 3 finds weights by the class "
                f"and order of the layers, not by their names)."
            )
    vars_group = group.get("vars")
    if not isinstance(vars_group, h5py.Group):
        return []
    stored = vars_group.attrs.get("name")
    if expected_name is not None and stored is not None:
        if files.decode(stored) != expected_name:
            raise ModelFileError(
                f"{where}: slot {path!r} holds layer {files.decode(stored)!r} but the "
                f"configuration puts layer {expected_name!r} there. Expected the weights "
                f"file that was saved with this configuration."
            )
    keys = sorted(vars_group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    return [(f"{path}/vars/{k}", vars_group[k]) for k in keys]


def _slot_paths(items, prefix):
    """``[(path, item)]`` with Keras 3's per-class counters: conv2d, conv2d_1, ..."""
    counts, out = {}, []
    for class_name, item in items:
        base = snake_case(class_name)
        k = counts.get(base, 0)
        counts[base] = k + 1
        out.append((f"{prefix}layers/{base if k == 0 else f'{base}_{k}'}", item))
    return out


KERAS_CLASS = {
    L.Conv2D: "Conv2D",
    L.DepthwiseConv2D: "DepthwiseConv2D",
    L.SeparableConv2D: "SeparableConv2D",
    L.Dense: "Dense",
    L.BatchNormalization: "BatchNormalization",
}


def _keras_class(layer):
    if isinstance(layer, Sequential):
        return "Sequential"
    if isinstance(layer, Model):
        return "Functional"
    return KERAS_CLASS.get(type(layer), type(layer).__name__)


def k3_weighted_slots(group, prefix="") -> list[str]:
    """Paths of the layer groups of a Keras 3 weights file that hold arrays."""
    out = []
    layers = _child(group, "layers")
    for name, child in layers.items() if layers is not None else []:
        if not isinstance(child, h5py.Group):
            continue
        vars_group = child.get("vars")
        if isinstance(vars_group, h5py.Group) and len(vars_group):
            out.append(f"{prefix}layers/{name}")
        out += k3_weighted_slots(child, f"{prefix}layers/{name}/")
    return out


def check_k3_count(root, model, where):
    """Keras 3 files: as many layers with weights in the file as in the model."""
    slots = k3_weighted_slots(root)
    leaves = [lay for lay in model.leaf_layers() if _store(lay)]
    if len(slots) != len(leaves):
        raise ModelFileError(
            f"{where}: layer count mismatch. The model has {len(leaves)} layers with weights "
            f"({[lay.name for lay in leaves][:6]}...), the file has {len(slots)} "
            f"({slots[:6]}...). Expected the same architecture as the saved model."
        )


def plan_k3_model(plan, root, model, where):
    """Keras 3 weights into a minidecnn model: the slots the writer uses
    (:func:`minidecnn.keras.layout.weight_slots`: Keras' graph order, not ours)."""
    from .layout import weight_slots

    for slot in weight_slots(model):
        if slot.keys:
            plan.add_layer(slot.layer, k3_vars(root, slot.path, slot.name, where), slot.name)


def plan_k3_spec(plan, root, built, where, prefix=""):
    """Keras 3 weights into a model built from a configuration: slots from the config."""
    items = [(s.class_name, s) for s in built.spec.layers]
    for path, spec in _slot_paths(items, prefix):
        target = built.targets.get(spec.name)
        if target is None:
            continue
        if spec.model is not None:
            plan_k3_spec(plan, root, target, where, prefix=path + "/")
        else:
            plan.add_layer(target, k3_vars(root, path, spec.name, where, spec.name), spec.name)


def plan_k3_by_name(plan, root, model, where):
    """Keras >= 3.6 writes each layer's name on its ``vars`` group; match on those."""
    found = {}

    def walk(group, path):
        for name, child in group.items():
            if not isinstance(child, h5py.Group):
                continue
            vars_group = child.get("vars")
            named = isinstance(vars_group, h5py.Group) and "name" in vars_group.attrs
            if named and len(vars_group):
                found.setdefault(files.decode(vars_group.attrs["name"]), f"{path}{name}")
            sub = _child(child, "layers")
            if sub is not None:
                walk(sub, f"{path}{name}/layers/")

    top = _child(root, "layers")
    if top is not None:
        walk(top, "layers/")
    if not found:
        raise ModelFileError(
            f"{where}: this Keras 3 weights file stores no layer names (Keras < 3.6), so "
            f"by_name=True cannot match anything. Expected a file from Keras 3.6 or later; "
            f"use by_name=False to load by position."
        )
    matched = 0
    for _, layer in model._named_leaves():
        if layer.name in found and _store(layer):
            plan.add_layer(layer, k3_vars(root, found[layer.name], layer.name, where), layer.name)
            matched += 1
    if not matched:
        raise ModelFileError(
            f"{where}: by_name=True matched no layer. The file names {sorted(found)[:8]}; the "
            f"model has {[lay.name for lay in model.leaf_layers() if lay.params][:8]}."
        )


# ---------------------------------------------------------------------------- entry point


def check_options(kernel_convention, data_format, where):
    if kernel_convention not in KERNEL_CONVENTIONS:
        raise ValueError(
            f"{where}: invalid kernel_convention. Expected one of {KERNEL_CONVENTIONS}, "
            f"received kernel_convention={kernel_convention!r}."
        )
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"{where}: invalid data_format. Expected one of {DATA_FORMATS}, received "
            f"data_format={data_format!r}."
        )


def make_plan(kfile, kernel_convention, data_format, where):
    """A :class:`Plan` with the Theano/Keras 1 conversions this file needs."""
    convention = kernel_convention
    if convention == "auto":
        convention = "theano" if (kfile.backend or "").lower() == "theano" else "tensorflow"
    keras1 = kfile.keras_version is None or kfile.keras_version.startswith("1")
    if data_format == "channels_first" and (
        kfile.family not in (files.LEGACY_WEIGHTS, files.LEGACY_MODEL) or not keras1
    ):
        raise ModelFileError(
            f"{where}: data_format='channels_first' describes Keras 1 'th' weight files "
            f"(kernels stored (F, C, KH, KW)). Expected a Keras 1 legacy .h5, received a "
            f"file from Keras {kfile.keras_version}, which stores kernels (KH, KW, C, F) "
            f"whatever the data format. Leave data_format unset."
        )
    if convention == "theano" and kfile.family in (files.KERAS3_ARCHIVE, files.KERAS3_WEIGHTS):
        raise ModelFileError(
            f"{where}: kernel_convention='theano' applies to legacy .h5 files only. Expected "
            f"a legacy .h5 written with the Theano backend, received a Keras 3 file."
        )
    return Plan(where, convention, data_format == "channels_first")


def flatten_inputs(model) -> dict:
    """Dense layers fed directly by a Flatten, with the Flatten's (H, W, C) input shape."""
    out = {}
    for node in model.nodes:
        layer = node.layer
        if isinstance(layer, Model):
            out.update(flatten_inputs(layer))
        elif isinstance(layer, L.Dense):
            src = node.inputs[0].node
            if src is not None and isinstance(src.layer, L.Flatten):
                shape = src.inputs[0].shape[1:]
                if len(shape) == 3:
                    out[layer] = tuple(shape)
    return out


def chw_flatten_dense(model, names, where) -> dict:
    """The Dense layers after the (C, H, W)-order Flattens ``names``, with their (H, W, C).

    A Keras ``channels_first`` model whose Flatten has no ``data_format`` (Keras 1,
    Keras <= 2.1.5) or ``data_format="channels_last"`` flattens the (N, C, H, W)
    tensor as it is; our NHWC Flatten gives (H, W, C) order. The two agree once the
    rows of the Dense that reads the Flatten are permuted, which the weight plan does.

    Raises
    ------
    UnsupportedLayerError
        Such a Flatten feeds anything but one unshared Dense layer, or is an output.
    """
    out = {}

    def refuse(flat, what):
        return UnsupportedLayerError(
            f"{where}: Flatten {flat.layer.name!r} flattens a channels_first tensor in "
            f"(C, H, W) order and {what}. Expected it to feed Dense layers only: minidecnn "
            f"computes in NHWC and reproduces that order by permuting the Dense weights. "
            f"Give the Flatten data_format='channels_first' in Keras and save again."
        )

    def scan(m):
        flat = {
            n.output.id: n
            for n in m.nodes
            if isinstance(n.layer, L.Flatten)
            and n.layer.name in names
            and len(n.inputs[0].shape) == 4
        }
        for t in m.outputs:
            if t.id in flat:
                raise refuse(flat[t.id], "is a model output")
        for node in m.nodes:
            if isinstance(node.layer, Model):
                scan(node.layer)
            for t in node.inputs:
                if t.id not in flat:
                    continue
                if not isinstance(node.layer, L.Dense):
                    raise refuse(flat[t.id], f"feeds {type(node.layer).__name__} {node.key!r}")
                if node.layer in out or node.call_index > 0:
                    raise refuse(flat[t.id], f"feeds the shared Dense {node.layer.name!r}")
                out[node.layer] = tuple(flat[t.id].inputs[0].shape[1:])

    scan(model)
    return out


def set_flatten_shapes(plan, model, where) -> None:
    """Tell ``plan`` which Dense rows to permute: after a Keras (C, H, W) Flatten of a model
    that :func:`~minidecnn.keras.load_keras` built, or every Flatten for Keras 1 'th' files."""
    chw = getattr(model, "_keras_chw_flattens", None)
    if chw:
        plan.flatten_shapes = chw_flatten_dense(model, chw, where)
    elif plan.keras1_cf:
        plan.flatten_shapes = flatten_inputs(model)


def load_weights(model, path, by_name=False, kernel_convention="auto", data_format=None):
    """Load a Keras weights file (or a whole-model file's weights) into ``model``.

    Parameters
    ----------
    model : Model
        A built minidecnn model (Sequential or functional).
    path : str or Path
        Legacy ``.h5`` (weights-only or whole model, Keras 1/2/3), Keras 3
        ``.weights.h5``, or ``.keras``.
    by_name : bool, default False
        False: pair the layers with weights in order (Keras' default; our
        ``model.layers`` order). True: pair layers of the same name; layers missing on
        either side are skipped (Keras 3 files: needs Keras >= 3.6 names).
    kernel_convention : {"auto", "tensorflow", "theano"}
        ``"theano"`` flips Conv2D kernels on both spatial axes (Theano convolved, we
        correlate); ``"auto"`` does so when the file says ``backend="theano"``.
    data_format : {None, "channels_last", "channels_first"}
        For Keras 1 ``th`` files only: kernels stored ``(F, C, KH, KW)`` and Dense
        rows after a Flatten in ``(C, H, W)`` order are converted.

    Returns
    -------
    Model
        ``model`` itself. Every loaded parameter is a new array (read straight from
        the file, in the layer's dtype) put into ``layer.params`` / ``layer.buffers``.

    Raises
    ------
    ModelFileError
        Bad file, layer count mismatch, or arrays whose count or shape does not fit;
        the model is unchanged then.
    """
    if not isinstance(model, Model):
        raise TypeError(
            f"load_weights: expected a minidecnn Model, received {type(model).__name__}."
        )
    where = f"load_weights('{files.os.path.basename(str(path))}')"
    check_options(kernel_convention, data_format, where)
    if not model.built:
        raise ModelFileError(
            f"{where}: model {model.name!r} is not built. Expected a model with an Input; "
            f"give the Sequential an Input or input_shape first."
        )
    with files.guard(where), files.open_keras_file(path) as kfile:
        plan = make_plan(kfile, kernel_convention, data_format, where)
        set_flatten_shapes(plan, model, where)
        if kfile.family in (files.LEGACY_WEIGHTS, files.LEGACY_MODEL):
            targets = [(layer.name, layer) for layer in model.layers if _has_weights(layer)]
            if by_name:
                targets = [(lay.name, lay) for lay in model.leaf_layers() if _store(lay)]
                targets += [(lay.name, lay) for lay in model.layers if isinstance(lay, Model)]
            plan_legacy(plan, kfile.weights, targets, by_name, where)
        elif by_name:
            plan_k3_by_name(plan, kfile.weights, model, where)
        else:
            plan = _plan_k3_positional(kfile, model, kernel_convention, data_format, where)
        plan.commit(plan.read(), swap=True)
    return model


def _plan_k3_positional(kfile, model, kernel_convention, data_format, where):
    """Pair a Keras 3 file's slots with ``model``'s layers by class and order.

    A file written from ``model`` itself (minidecnn's writer: every split activation is
    a layer of its own) follows :func:`~minidecnn.keras.layout.weight_slots`. A model
    that :func:`~minidecnn.keras.load_keras` built from a Keras file may also receive a
    file written by Keras for the original architecture, where the activations are
    fused; in a branching graph Keras' order of those layers can differ from ours, so
    that file is paired through the configuration the model was built from. The
    layouts are tried in that order and the first that fits the file wins.
    """
    built = getattr(model, "_keras_built", None)
    attempts = []
    if built is not None and built.model is model:
        attempts.append(lambda plan: plan_k3_spec(plan, kfile.weights, built, where))
    attempts.append(lambda plan: plan_k3_model(plan, kfile.weights, model, where))
    first_error = None
    for attempt in attempts:
        plan = make_plan(kfile, kernel_convention, data_format, where)
        set_flatten_shapes(plan, model, where)
        try:
            attempt(plan)
            check_k3_count(kfile.weights, model, where)  # slots the model did not use
            return plan
        except ModelFileError as exc:
            first_error = first_error or exc
    raise first_error


def _has_weights(layer) -> bool:
    if isinstance(layer, Model):
        return any(_store(leaf) for leaf in layer.leaf_layers())
    return bool(_store(layer))
