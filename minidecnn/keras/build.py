"""A :class:`~minidecnn.keras.config.ModelSpec` -> a minidecnn :class:`~minidecnn.model.Model`.

The builder walks the Keras calls in dependency order (a layer's second call may
need a tensor made after its first), converts each Keras layer once (a shared
layer is the same minidecnn layer called again), and records for every Keras
call which minidecnn node holds the same numbers: ``keras_nodes["conv"]`` is
``"conv_relu"`` when the Keras ``conv`` had a fused ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MinidecnnError, ModelFileError
from ..graph import Input
from ..model import Model
from .config import ModelSpec
from .convert import Context, convert_layer


@dataclass
class Built:
    """A model built from a Keras configuration, with the bookkeeping the weight loader needs.

    Attributes
    ----------
    model : Model
    spec : ModelSpec
    keras_nodes : dict of str to str
        Keras node key (``"name"``, ``"name:1"`` for a second call) -> our node key
        (or input name) holding the same output.
    targets : dict of str to (Layer or Built)
        Keras layer name -> the minidecnn layer that owns its weights, or the
        :class:`Built` of a nested model. Layers without weights are absent.
    """

    model: Model
    spec: ModelSpec
    keras_nodes: dict = field(default_factory=dict)
    targets: dict = field(default_factory=dict)


def channels_first_model(spec: ModelSpec, where: str) -> bool:
    """True when the layers say ``data_format="channels_first"``; refuses a mixture."""
    seen = {}

    def scan(s):
        for layer in s.layers:
            if layer.model is not None:
                scan(layer.model)
            elif layer.class_name != "Flatten":
                fmt = layer.config.get("data_format")
                if fmt in ("channels_first", "channels_last"):
                    seen.setdefault(fmt, layer.name)

    scan(spec)
    if len(seen) == 2:
        from ..errors import UnsupportedLayerError

        raise UnsupportedLayerError(
            f"{where}: the model mixes data formats (layer {seen['channels_first']!r} is "
            f"channels_first, layer {seen['channels_last']!r} channels_last). Expected one "
            f"data format throughout: minidecnn converts a channels_first model to NHWC only "
            f"as a whole."
        )
    return "channels_first" in seen


def _key(name, k):
    return name if k == 0 else f"{name}:{k}"


def build_model(spec: ModelSpec, where: str, channels_first: bool, keras3=None) -> Built:
    """Build ``spec`` (recursively for nested models) into a minidecnn model.

    ``keras3`` says whether Keras 3 wrote the configuration (None: unknown); only
    ``activation="hard_sigmoid"`` depends on it (see :func:`.config.written_by_keras3`).

    Raises
    ------
    UnsupportedLayerError, ModelFileError
        Unsupported layers/options, or a configuration whose shapes or references
        do not fit together.
    """
    names = {s.name for s in spec.layers} | {n for n, _ in spec.inputs}
    ctx = Context(where=where, channels_first=channels_first, taken=set(names), keras3=keras3)
    built = Built(model=None, spec=spec)
    values = {}
    inputs = []
    for name, dims in spec.inputs:
        if channels_first and len(dims) == 3:
            dims = (dims[1], dims[2], dims[0])  # (C, H, W) -> (H, W, C)
        t = Input(dims, name=name)
        inputs.append(t)
        values[(name, 0)] = t
        built.keras_nodes[name] = name

    conversions = {}  # Keras layer name -> Conversion or Built, made at the first call
    pending = [(s, k) for s in spec.layers for k in range(len(s.calls))]
    done_calls = {s.name: 0 for s in spec.layers}
    while pending:
        progress, waiting = False, []
        for s, k in pending:
            refs = s.calls[k]
            if done_calls[s.name] != k or any(r not in values for r in refs):
                waiting.append((s, k))
                continue
            values[(s.name, k)] = _call(s, [values[r] for r in refs], conversions, ctx, built)
            built.keras_nodes[_key(s.name, k)] = values[(s.name, k)].name
            done_calls[s.name] += 1
            progress = True
        if not progress:
            missing = sorted({f"{r[0]} (call {r[1]})" for s, k in waiting for r in s.calls[k]
                              if r not in values})  # fmt: skip
            raise ModelFileError(
                f"{where}: the model configuration refers to tensors that no layer makes: "
                f"{missing[:5]}. Expected every call's inputs to be made by earlier calls; "
                f"the file is damaged or from an unsupported Keras dialect."
            )
        pending = waiting
    try:
        outputs = [values[r] for r in spec.outputs]
    except KeyError as exc:
        raise ModelFileError(
            f"{where}: the model output {exc.args[0]} is never computed. Expected "
            f"output_layers to name calls present in the configuration."
        ) from None
    try:
        built.model = Model(
            inputs if len(inputs) > 1 else inputs[0],
            outputs if len(outputs) > 1 else outputs[0],
            name=spec.name,
        )
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{where}: the model cannot be assembled: {exc}") from None
    return built


def _call(spec, tensors, conversions, ctx, built):
    """Apply Keras layer ``spec`` to ``tensors``; returns our output tensor."""
    where = ctx.where
    rank = len(tensors[0].shape)
    if spec.name not in conversions:
        if spec.model is not None:
            inner_where = f"{where} (nested model {spec.name!r})"
            inner = build_model(spec.model, inner_where, ctx.channels_first, ctx.keras3)
            inner.model.name = spec.name
            conversions[spec.name] = inner
            built.targets[spec.name] = inner
        else:
            conv = convert_layer(spec, ctx, rank)
            conversions[spec.name] = conv
            if conv.weighted is not None:
                built.targets[spec.name] = conv.weighted
    conv = conversions[spec.name]
    try:
        if isinstance(conv, Built):
            return conv.model(tensors if len(tensors) > 1 else tensors[0])
        if not conv.layers:
            if len(tensors) != 1:
                raise ValueError(f"expected one input, received {len(tensors)}")
            return tensors[0]
        first = conv.layers[0]
        if first.multi_input:
            t = first(list(tensors))
        elif len(tensors) == 1:
            t = first(tensors[0])
        else:
            raise ValueError(f"expected one input tensor, received {len(tensors)}")
        for layer in conv.layers[1:]:
            t = layer(t)
        return t
    except MinidecnnError:
        raise
    except (ValueError, TypeError) as exc:
        shapes = [t.shape for t in tensors]
        raise ModelFileError(
            f"{where}: layer {spec.name!r} ({spec.class_name}) cannot be applied to inputs "
            f"of shape {shapes} (NHWC): {exc}"
        ) from None
