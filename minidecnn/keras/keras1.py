"""Keras 1 layer configurations, rewritten in the Keras 2 vocabulary the converter reads.

Keras 1 (2015–2017) named the same layers differently: ``Convolution2D(nb_filter,
nb_row, nb_col, border_mode, subsample, dim_ordering, bias)``, ``Dense(output_dim)``,
``Dropout(p)``, ``Merge(mode="sum" | "concat")`` and ``dim_ordering="th" | "tf"`` for
what Keras 2 calls ``data_format``. Keras 2 read those files by renaming the
arguments when a model was loaded; :func:`upgrade_entry` does the same, one layer
entry at a time, so the rest of the loader sees only Keras 2/3 configurations:

=====================================  ==========================================
Keras 1                                Keras 2
=====================================  ==========================================
``Convolution2D``                      ``Conv2D``
``SeparableConvolution2D``             ``SeparableConv2D``
``AtrousConvolution2D``                ``Conv2D`` with ``dilation_rate`` (refused
                                       later unless 1: no dilated convolutions)
``nb_filter``; ``nb_row, nb_col``      ``filters``; ``kernel_size``
``subsample``; ``border_mode``         ``strides``; ``padding``
``dim_ordering="th"`` / ``"tf"``       ``data_format="channels_first"`` / ``"channels_last"``
``bias``                               ``use_bias``
``output_dim`` (Dense)                 ``units``
``p`` (Dropout)                        ``rate``
``ZeroPadding2D(padding=(t, b, l, r))``  ``padding=((t, b), (l, r))``
``Merge(mode="sum")``                  ``Add``
``Merge(mode="concat", concat_axis)``  ``Concatenate(axis)``
=====================================  ==========================================

Arguments that only mattered for training (``init``, ``W_regularizer``,
``W_constraint``, ...) are dropped. What has no Keras 2 equivalent that minidecnn
computes is refused with :class:`~minidecnn.errors.UnsupportedLayerError`: a
``Merge`` whose mode is a Python function (code stored in the file, never run),
the other merge modes, ``border_mode="full"``, ``BatchNormalization(mode=1 or 2)``
and the Keras 1 layers minidecnn has no counterpart for.

Two Keras 1 semantics matter for the weights, and the loader honours them:

* ``dim_ordering="th"`` models store convolution kernels as ``(F, C, KH, KW)`` and
  their ``Flatten`` flattens in ``(C, H, W)`` order; :func:`uses_th` tells the
  loader to convert both (see :func:`minidecnn.keras.load_weights`'s
  ``data_format``).
* ``BatchNormalization``'s ``running_std`` weight holds the moving *variance* from
  Keras 1.1 on (``K.batch_normalization(x, mean, var, ...)``); Keras 1.0 stored a
  standard deviation and used ``(x - mean) / (std + epsilon)``, which minidecnn does
  not compute, so :func:`check_batchnorm_version` refuses those files.
"""

from __future__ import annotations

from ..errors import ModelFileError, UnsupportedLayerError

#: Keras 1 class name -> Keras 2 class name
CLASSES = {
    "Convolution2D": "Conv2D",
    "SeparableConvolution2D": "SeparableConv2D",
    "AtrousConvolution2D": "Conv2D",
}
#: Keras 1 classes with no minidecnn counterpart (the message says which)
REFUSED = {
    "Deconvolution2D": "a transposed convolution layer",
    "Convolution1D": "a 1-D convolution",
    "Convolution3D": "a 3-D convolution",
    "AtrousConvolution1D": "a 1-D convolution",
    "LocallyConnected2D": "an unshared convolution",
    "MaxoutDense": "a maxout layer",
    "Highway": "a highway layer",
}
#: Keras 1 argument -> Keras 2 argument (values unchanged)
RENAMED = {
    "nb_filter": "filters",
    "subsample": "strides",
    "border_mode": "padding",
    "bias": "use_bias",
    "output_dim": "units",
    "atrous_rate": "dilation_rate",
}
#: Keras 1 arguments that only mattered for training or bookkeeping
DROPPED = {
    "init", "W_regularizer", "b_regularizer", "W_constraint", "b_constraint",
    "W_learning_rate_multiplier", "b_learning_rate_multiplier", "input_dim",
    "input_length", "beta_init", "gamma_init", "input_dtype", "sparse", "weights",
    "depthwise_initializer", "pointwise_initializer",
}  # fmt: skip
#: Keras 1 merge modes that a minidecnn layer computes
MERGES = {"sum": "Add", "concat": "Concatenate"}
#: arguments of a Keras 1 Merge layer that carry no information once mode is known
_MERGE_BOOKKEEPING = {
    "name", "mode", "mode_type", "concat_axis", "dot_axes", "output_shape",
    "output_shape_type", "output_mask", "output_mask_type", "arguments", "trainable",
}  # fmt: skip


def is_keras1(entry: dict) -> bool:
    """True when a layer entry uses Keras 1 class names or arguments."""
    cls, cfg = entry.get("class_name"), entry.get("config")
    if cls in CLASSES or cls in REFUSED or cls == "Merge":
        return True
    if not isinstance(cfg, dict):
        return False
    keras1_keys = {"nb_filter", "border_mode", "dim_ordering", "output_dim", "subsample"}
    if keras1_keys & cfg.keys():
        return True
    if cls == "Dropout" and "p" in cfg and "rate" not in cfg:
        return True
    padding = cfg.get("padding")
    if cls == "ZeroPadding2D" and (isinstance(padding, dict) or _four(padding)):
        return True
    return cls == "BatchNormalization" and "mode" in cfg


def upgrade_entry(entry: dict, where: str) -> dict:
    """A Keras 1 layer entry rewritten in Keras 2 terms (other entries returned as they are).

    Parameters
    ----------
    entry : dict
        ``{"class_name": ..., "config": {...}, "inbound_nodes": ...}`` from a model
        configuration.
    where : str
        The call being served, for messages.

    Returns
    -------
    dict
        A new entry; ``inbound_nodes`` and ``name`` are kept.

    Raises
    ------
    UnsupportedLayerError
        Keras 1 layers and options minidecnn cannot compute.
    """
    if not is_keras1(entry):
        return entry
    cls, cfg = entry["class_name"], dict(entry["config"])
    name = cfg.get("name", entry.get("name"))
    if cls in REFUSED:
        raise _refuse(where, name, cls, f"it is {REFUSED[cls]}, which minidecnn does not have")
    if cls == "Merge":
        cls, cfg = _merge(cfg, name, where)
    else:
        cls = CLASSES.get(cls, cls)
        cfg = _arguments(cfg, cls, name, where)
    out = dict(entry)
    out["class_name"], out["config"] = cls, cfg
    return out


def _arguments(cfg: dict, cls: str, name, where) -> dict:
    out = {}
    for key, value in cfg.items():
        if key in DROPPED:
            continue
        if key == "dim_ordering":
            out["data_format"] = _data_format(value, name, cls, where)
        elif key == "border_mode":
            if value not in ("valid", "same"):
                raise _refuse(where, name, cls, f"border_mode={value!r} (only 'valid' and 'same')")
            out["padding"] = value
        elif key == "p" and cls == "Dropout":
            out["rate"] = value
        elif key == "mode" and cls == "BatchNormalization":
            if value != 0:
                raise _refuse(
                    where, name, cls,
                    f"mode={value!r}: Keras 1 BatchNormalization mode 1 normalises each "
                    f"sample and mode 2 uses the batch statistics at test time; only mode 0 "
                    f"(moving statistics) is supported",
                )  # fmt: skip
        elif key in ("nb_row", "nb_col"):
            continue  # joined into kernel_size below
        elif key in RENAMED:
            out[RENAMED[key]] = value
        else:
            out[key] = value
    if "nb_row" in cfg or "nb_col" in cfg:
        out["kernel_size"] = [cfg.get("nb_row"), cfg.get("nb_col")]
    if cls == "ZeroPadding2D":
        out["padding"] = _padding(cfg.get("padding", (1, 1)), name, where)
    return out


def _data_format(value, name, cls, where) -> str:
    formats = {"th": "channels_first", "tf": "channels_last"}
    if value not in formats:
        raise _refuse(where, name, cls, f"dim_ordering={value!r} (expected 'th' or 'tf')")
    return formats[value]


def _padding(value, name, where):
    """Keras 1 ZeroPadding2D: ``(h, w)``, ``(top, bottom, left, right)`` or a dict."""
    if isinstance(value, dict):
        keys = ("top_pad", "bottom_pad", "left_pad", "right_pad")
        t, b, left, r = (int(value.get(k, 0)) for k in keys)
        return [[t, b], [left, r]]
    if _four(value):
        t, b, left, r = (int(v) for v in value)
        return [[t, b], [left, r]]
    return value


def _four(value) -> bool:
    return isinstance(value, list | tuple) and len(value) == 4


def _merge(cfg: dict, name, where):
    mode, mode_type = cfg.get("mode", "sum"), cfg.get("mode_type", "raw")
    if mode_type != "raw" or not isinstance(mode, str):
        raise _refuse(
            where, name, "Merge",
            "its mode is a Python function stored in the file, and minidecnn never runs "
            "code from a file",
        )  # fmt: skip
    if cfg.get("layers"):
        raise _refuse(
            where, name, "Merge",
            "it merges whole Sequential models (the Keras 1 Sequential branching API)",
        )  # fmt: skip
    if mode not in MERGES:
        raise _refuse(where, name, "Merge", f"mode={mode!r} (supported: {sorted(MERGES)})")
    unknown = sorted(set(cfg) - _MERGE_BOOKKEEPING)
    if unknown:
        raise _refuse(where, name, "Merge", f"the arguments {unknown}")
    out = {"name": name}
    if mode == "concat":
        out["axis"] = cfg.get("concat_axis", -1)
    return MERGES[mode], out


def layer_entries(config):
    """Every layer entry (``{"class_name": ..., "config": {...}}``) of a raw
    configuration, nested models included."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict | list):
            yield config
        for value in config.values():
            yield from layer_entries(value)
    elif isinstance(config, list):
        for value in config:
            yield from layer_entries(value)


def uses_th(entries) -> bool:
    """True when any of the layer ``entries`` says ``dim_ordering="th"``."""
    return any(
        isinstance(e["config"], dict) and e["config"].get("dim_ordering") == "th" for e in entries
    )


def check_batchnorm_version(entries, keras_version, where) -> None:
    """Refuse Keras 1.0 files with BatchNormalization (their ``running_std`` is a std).

    ``entries``: the model's layer entries (:func:`layer_entries`).

    Raises
    ------
    ModelFileError
        The file has no ``keras_version`` (Keras before 1.0.7) or a 1.0.x one and a
        BatchNormalization layer.
    """
    if not any(e["class_name"] == "BatchNormalization" for e in entries):
        return
    if keras_version is None or keras_version.startswith("1.0"):
        raise ModelFileError(
            f"{where}: the model has BatchNormalization and was saved by Keras "
            f"{keras_version or 'before 1.0.7'}, which stored a moving standard deviation "
            f"and divided by (std + epsilon). Expected a file from Keras 1.1 or later "
            f"(moving variance); load the model in Keras 1.1+ and save it again."
        )


def _refuse(where, name, cls, why) -> UnsupportedLayerError:
    from .convert import supported_list

    return UnsupportedLayerError(
        f"{where}: layer {name!r} has the Keras 1 class {cls!r} and cannot be converted: "
        f"{why}. Expected the Keras 1 equivalents of: {supported_list()}. Rebuild the "
        f"model without it, or load only the weights into a model built with minidecnn."
    )
