"""``load_keras``: a Keras file (with its architecture) -> a minidecnn model with its weights."""

from __future__ import annotations

import os

from ..errors import ModelFileError
from . import files, keras1
from .build import build_model, channels_first_model
from .config import parse_model, written_by_keras3
from .weights import (
    check_k3_count,
    check_options,
    make_plan,
    plan_k3_spec,
    plan_legacy,
    set_flatten_shapes,
)


def load_keras(path, config=None, kernel_convention="auto", data_format=None):
    """Load a Keras model file into a minidecnn :class:`~minidecnn.model.Model`.

    Parameters
    ----------
    path : str or Path
        A whole-model file (legacy ``.h5`` from Keras 1/2/3, ``.keras`` archive or
        its unzipped folder), or a weights-only file (legacy ``.h5``,
        ``.weights.h5``) together with ``config``.
    config : dict, str or Path, optional
        The Keras model configuration: ``model.to_json()`` text, its parsed dict, or
        a path to a JSON file (a ``.keras`` archive's ``config.json`` works too).
        Required for weights-only files; overrides the file's own otherwise.
    kernel_convention : {"auto", "tensorflow", "theano"}
        See :func:`minidecnn.keras.load_weights`.
    data_format : {None, "channels_last", "channels_first"}
        Layout of a Keras 1 weights file (see :func:`minidecnn.keras.load_weights`).

    Returns
    -------
    Model
        Float32, NHWC. ``model.keras_nodes`` maps each Keras layer call
        (``"name"``, ``"name:1"``) to the node key holding the same output.

    Raises
    ------
    ModelFileError
        Missing, empty, damaged or hostile file; weights that do not fit.
    UnsupportedLayerError
        A layer class or option minidecnn cannot build (Lambda and custom layers
        included: nothing from a file is ever executed).

    Examples
    --------
    >>> import minidecnn as mdc
    >>> mdc.load_keras("missing.h5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    minidecnn.errors.ModelFileError: load_keras('missing.h5'): no such file. ...
    """
    where = (
        f"load_keras('{os.path.basename(os.fspath(path))}')"
        if isinstance(path, str | os.PathLike)
        else "load_keras"
    )
    check_options(kernel_convention, data_format, where)
    with files.guard(where), files.open_keras_file(path) as kfile:
        cfg = kfile.config if config is None else files.load_config_argument(config, where)
        if cfg is None:
            raise ModelFileError(
                f"{where}: this file holds only weights, no architecture. Expected a "
                f"whole-model file, or pass config=... (the model's JSON from Keras' "
                f"model.to_json(), or a .keras archive's config.json); or build the model "
                f"with minidecnn and call model.load_weights(path)."
            )
        spec = parse_model(cfg, where)
        channels_first = channels_first_model(spec, where)
        keras3 = written_by_keras3(cfg, kfile.keras_version)
        built = build_model(spec, where, channels_first, keras3)
        entries = list(keras1.layer_entries(cfg))
        if any(keras1.is_keras1(e) for e in entries):
            keras1.check_batchnorm_version(entries, kfile.keras_version, where)
            if keras1.uses_th(entries) and data_format is None:
                data_format = "channels_first"  # Keras 1 'th': kernels stored (F, C, KH, KW)
        plan = make_plan(kfile, kernel_convention, data_format, where)
        built.model._keras_chw_flattens = _chw_flattens(spec) if channels_first else set()
        set_flatten_shapes(plan, built.model, where)
        if kfile.family in (files.LEGACY_MODEL, files.LEGACY_WEIGHTS):
            targets = [
                (s.name, _unwrap(built.targets[s.name]))
                for s in spec.layers
                if s.name in built.targets and _has_weights(built.targets[s.name])
            ]
            file_names = {n for n, w in _legacy_weighted(kfile.weights)}
            by_name = {n for n, _ in targets} == file_names
            plan_legacy(plan, kfile.weights, targets, by_name, where, labels="quiet")
        else:
            plan_k3_spec(plan, kfile.weights, built, where)
            check_k3_count(kfile.weights, built.model, where)
        plan.commit(plan.read(), swap=True)
    model = built.model
    model.keras_nodes = built.keras_nodes
    model._keras_built = built  # lets load_weights pair a Keras-written file by the config
    return model


def _unwrap(target):
    from .build import Built

    return target.model if isinstance(target, Built) else target


def _has_weights(target) -> bool:
    from .build import Built

    if isinstance(target, Built):
        return any(leaf.params or leaf.buffers for leaf in target.model.leaf_layers())
    return bool(target.params or target.buffers)


def _legacy_weighted(group):
    from .weights import legacy_layers

    return [(n, w) for n, w in legacy_layers(group) if w]


def _chw_flattens(spec) -> set:
    """Names of the Flatten layers of a channels_first model that flatten in (C, H, W) order.

    Keras 1 and Keras <= 2.1.5 flattened the (N, C, H, W) tensor as it was, and so does
    a later Flatten with ``data_format="channels_last"``; ``"channels_first"`` flattens
    in (H, W, C) order, which is what our NHWC Flatten does.
    """
    names = set()
    for layer in spec.layers:
        if layer.model is not None:
            names |= _chw_flattens(layer.model)
        elif layer.class_name == "Flatten" and layer.config.get("data_format") in (
            None,
            "channels_last",
        ):
            names.add(layer.name)
    return names
