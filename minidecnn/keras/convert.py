"""One Keras layer configuration -> minidecnn layers (the mapping table lives here).

Each converter reads the options minidecnn understands, refuses the options it
cannot honour (naming the layer, the option and its value), and ignores options
that only matter for training in Keras (initialisers, regularisers, constraints,
``trainable``, ``dtype``). A fused activation becomes a layer of its own, placed
after the affine layer; see :mod:`minidecnn.keras` for the naming rule.

``channels_first`` models are computed in NHWC: the converter receives
``ctx.channels_first`` and maps Keras axes of rank-4 tensors
``(N, C, H, W) -> (N, H, W, C)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from .. import layers as L
from ..errors import UnsupportedLayerError
from .config import MODEL_CLASSES

#: activation name -> minidecnn layer class or factory (``linear`` / None add nothing).
#: ``hard_sigmoid`` is not here: its formula depends on the Keras that wrote the file
#: (see :func:`make_activation`).
ACTIVATIONS = {
    "relu": L.ReLU,
    "relu6": partial(L.ReLU, max_value=6.0),
    "leaky_relu": partial(L.LeakyReLU, 0.2),  # keras.activations.leaky_relu's default
    "elu": L.ELU,
    "selu": L.SELU,
    "gelu": L.GELU,  # the string means the exact erf form in Keras 3 and tf.keras
    "silu": L.Swish,
    "swish": L.Swish,
    "softplus": L.Softplus,
    "softsign": L.Softsign,
    "hard_silu": L.HardSiLU,  # Keras 3 only: x * relu6(x + 3) / 6
    "hard_swish": L.HardSiLU,
    "exponential": L.Exponential,
    "sigmoid": L.Sigmoid,
    "tanh": L.Tanh,
    "softmax": L.Softmax,
}
#: every activation name the loader accepts
ACTIVATION_NAMES = sorted([*ACTIVATIONS, "hard_sigmoid", "linear"])
#: Keras options that only matter for training or bookkeeping
_IGNORED = {
    "name", "trainable", "dtype", "dtype_policy", "autocast", "input_dtype",
    "kernel_initializer", "bias_initializer", "depthwise_initializer",
    "pointwise_initializer", "beta_initializer", "gamma_initializer",
    "moving_mean_initializer", "moving_variance_initializer", "kernel_regularizer",
    "bias_regularizer", "activity_regularizer", "depthwise_regularizer",
    "pointwise_regularizer", "beta_regularizer", "gamma_regularizer",
    "kernel_constraint", "bias_constraint", "depthwise_constraint",
    "pointwise_constraint", "beta_constraint", "gamma_constraint", "lora_rank",
    "lora_alpha", "quantization_config", "momentum", "seed", "noise_shape",
    "batch_input_shape", "batch_shape", "synchronized", "shared_object_id",
}  # fmt: skip


def supported_list() -> str:
    return ", ".join(sorted(CONVERTERS)) + ", and nested Functional/Sequential models"


@dataclass
class Context:
    """What a converter needs to know besides the layer's own config."""

    where: str
    channels_first: bool = False
    taken: set = field(default_factory=set)  # layer names already used in this model
    keras3: bool | None = None  # written by Keras 3 (True), Keras 1/2 (False), unknown (None)

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def axis(self, keras_axis, rank: int, name: str, cls: str, option="axis") -> int:
        """Our axis (negative, counted from the end) for a Keras axis of a rank-``rank`` tensor."""
        if isinstance(keras_axis, list | tuple):
            if len(keras_axis) != 1:
                raise refuse(self, name, cls, f"{option}={keras_axis!r} (several axes)")
            keras_axis = keras_axis[0]
        if not isinstance(keras_axis, int) or not -rank <= keras_axis < rank:
            raise refuse(self, name, cls, f"{option}={keras_axis!r}")
        k = keras_axis % rank
        if self.channels_first and rank == 4:
            k = {0: 0, 1: 3, 2: 1, 3: 2}[k]
        if k == 0:
            raise refuse(self, name, cls, f"{option}={keras_axis!r} (the batch axis)")
        return k - rank


@dataclass
class Conversion:
    """The minidecnn layers for one Keras layer, applied in order; ``weighted`` owns weights."""

    layers: list
    weighted: object = None


def refuse(ctx, name, cls, option, why="") -> UnsupportedLayerError:
    why = f" ({why})" if why else ""
    return UnsupportedLayerError(
        f"{ctx.where}: layer {name!r} of class {cls!r} uses {option}, which minidecnn does "
        f"not support{why}. Expected the supported classes and options: {supported_list()}. "
        f"Rebuild the model without it, or load only the weights into a model built with "
        f"minidecnn."
    )


def _check_options(ctx, name, cls, cfg, allowed):
    for key, value in cfg.items():
        if key in _IGNORED or key in allowed:
            continue
        raise refuse(ctx, name, cls, f"the option {key}={value!r}", "unknown option")


def _require(ctx, name, cls, cfg, key, ok_values):
    value = cfg.get(key, ok_values[0])
    if _plain(value) not in ok_values:
        raise refuse(ctx, name, cls, f"{key}={value!r}", f"supported: {ok_values}")


def _plain(v):
    if isinstance(v, list | tuple):
        return tuple(_plain(x) for x in v)
    return v


def _data_format(ctx, name, cls, cfg):
    fmt = cfg.get("data_format") or ("channels_first" if ctx.channels_first else "channels_last")
    if fmt not in ("channels_last", "channels_first"):
        raise refuse(ctx, name, cls, f"data_format={fmt!r}")
    if (fmt == "channels_first") != ctx.channels_first:
        raise refuse(
            ctx,
            name,
            cls,
            f"data_format={fmt!r}",
            "the rest of the model uses the other data format; minidecnn converts a "
            "channels_first model to NHWC only when every layer is channels_first",
        )


def activation_name(value, ctx, name, cls) -> str | None:
    """The activation of a layer config as a plain name (``None`` for linear)."""
    if isinstance(value, dict):  # Keras 3 serialises custom activations as objects
        module = value.get("module") or "keras"
        if not str(module).startswith("keras") or not isinstance(value.get("config"), str):
            raise refuse(ctx, name, cls, f"a custom activation {value!r}")
        value = value["config"]
    if value in (None, "linear"):
        return None
    if value not in ACTIVATION_NAMES:
        raise refuse(ctx, name, cls, f"activation={value!r}", f"supported: {ACTIVATION_NAMES}")
    return value


def make_activation(act, ctx, name, cls, layer_name):
    """The minidecnn layer for the activation ``act`` (a name from :data:`ACTIVATION_NAMES`).

    ``"hard_sigmoid"`` is ``relu6(x + 3) / 6`` in Keras 3 and ``clip(0.2 x + 0.5, 0, 1)``
    in Keras 1/2 and tf.keras; ``ctx.keras3`` says which Keras wrote the file.
    """
    if act != "hard_sigmoid":
        return ACTIVATIONS[act](name=layer_name)
    if ctx.keras3 is None:
        raise refuse(
            ctx, name, cls, "activation='hard_sigmoid' in a configuration whose Keras version "
            "is unknown", "Keras 3 computes relu6(x + 3) / 6, Keras 1/2 and tf.keras "
            "clip(0.2 x + 0.5, 0, 1), and neither the file nor the configuration says which "
            "wrote it; load the file Keras saved the model in (it records keras_version)",
        )  # fmt: skip
    if ctx.keras3:
        return L.HardSigmoid(slope=1 / 6, offset=0.5, name=layer_name)
    return L.HardSigmoid(slope=0.2, offset=0.5, name=layer_name)


def _with_activation(ctx, layer, cfg, name, cls, rank):
    act = activation_name(cfg.get("activation"), ctx, name, cls)
    if act == "softmax" and ctx.channels_first and rank == 4:
        raise refuse(ctx, name, cls, "activation='softmax' on a channels_first image tensor")
    if act is None:
        return Conversion([layer], weighted=layer)
    after = make_activation(act, ctx, name, cls, ctx.unique(f"{name}_{act}"))
    return Conversion([layer, after], weighted=layer)


def _pair(v):
    v = _plain(v)
    return (v, v) if isinstance(v, int) else tuple(v)


_CONV = {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
         "groups", "activation", "use_bias", "depth_multiplier"}  # fmt: skip


def _conv_common(ctx, name, cls, cfg):
    _check_options(ctx, name, cls, cfg, _CONV)
    _data_format(ctx, name, cls, cfg)
    _require(ctx, name, cls, cfg, "dilation_rate", [(1, 1), 1, (1,)])
    _require(ctx, name, cls, cfg, "groups", [1])
    _require(ctx, name, cls, cfg, "padding", ["valid", "same"])


def conv2d(cfg, name, ctx, rank):
    _conv_common(ctx, name, "Conv2D", cfg)
    if "depth_multiplier" in cfg:
        raise refuse(ctx, name, "Conv2D", "the option depth_multiplier")
    layer = L.Conv2D(
        int(cfg["filters"]),
        _pair(cfg["kernel_size"]),
        strides=_pair(cfg.get("strides", 1)),
        padding=cfg.get("padding", "valid"),
        use_bias=bool(cfg.get("use_bias", True)),
        name=name,
    )
    return _with_activation(ctx, layer, cfg, name, "Conv2D", rank)


def depthwise_conv2d(cfg, name, ctx, rank):
    _conv_common(ctx, name, "DepthwiseConv2D", cfg)
    if "filters" in cfg and cfg["filters"] is not None:
        raise refuse(ctx, name, "DepthwiseConv2D", f"filters={cfg['filters']!r}")
    layer = L.DepthwiseConv2D(
        _pair(cfg["kernel_size"]),
        strides=_pair(cfg.get("strides", 1)),
        padding=cfg.get("padding", "valid"),
        depth_multiplier=int(cfg.get("depth_multiplier", 1)),
        use_bias=bool(cfg.get("use_bias", True)),
        name=name,
    )
    return _with_activation(ctx, layer, cfg, name, "DepthwiseConv2D", rank)


def separable_conv2d(cfg, name, ctx, rank):
    _conv_common(ctx, name, "SeparableConv2D", cfg)
    layer = L.SeparableConv2D(
        int(cfg["filters"]),
        _pair(cfg["kernel_size"]),
        strides=_pair(cfg.get("strides", 1)),
        padding=cfg.get("padding", "valid"),
        depth_multiplier=int(cfg.get("depth_multiplier", 1)),
        use_bias=bool(cfg.get("use_bias", True)),
        name=name,
    )
    return _with_activation(ctx, layer, cfg, name, "SeparableConv2D", rank)


def dense(cfg, name, ctx, rank):
    _check_options(ctx, name, "Dense", cfg, {"units", "activation", "use_bias"})
    if ctx.channels_first and rank == 4:
        raise refuse(
            ctx, name, "Dense", "a 4-D input in a channels_first model",
            "it acts on the width axis there, which NHWC cannot reproduce",
        )  # fmt: skip
    layer = L.Dense(int(cfg["units"]), use_bias=bool(cfg.get("use_bias", True)), name=name)
    return _with_activation(ctx, layer, cfg, name, "Dense", rank)


def batch_normalization(cfg, name, ctx, rank):
    allowed = {"axis", "epsilon", "center", "scale", "renorm", "renorm_clipping",
               "renorm_momentum", "fused", "virtual_batch_size", "adjustment"}  # fmt: skip
    _check_options(ctx, name, "BatchNormalization", cfg, allowed)
    _require(ctx, name, "BatchNormalization", cfg, "renorm", [False])
    for key in ("virtual_batch_size", "adjustment"):
        _require(ctx, name, "BatchNormalization", cfg, key, [None])
    axis = ctx.axis(cfg.get("axis", -1), rank, name, "BatchNormalization")
    if axis != -1:
        raise refuse(
            ctx, name, "BatchNormalization", f"axis={cfg.get('axis')!r}",
            "only the channel axis is supported",
        )  # fmt: skip
    layer = L.BatchNormalization(
        epsilon=float(cfg.get("epsilon", 1e-3)),
        center=bool(cfg.get("center", True)),
        scale=bool(cfg.get("scale", True)),
        name=name,
    )
    return Conversion([layer], weighted=layer)


def _pool(cls_name, cls):
    def convert(cfg, name, ctx, rank):
        options = {"pool_size", "strides", "padding", "data_format"}
        _check_options(ctx, name, cls_name, cfg, options)
        _data_format(ctx, name, cls_name, cfg)
        _require(ctx, name, cls_name, cfg, "padding", ["valid", "same"])
        strides = cfg.get("strides")
        layer = cls(
            _pair(cfg.get("pool_size", 2)),
            strides=None if strides is None else _pair(strides),
            padding=cfg.get("padding", "valid"),
            name=name,
        )
        return Conversion([layer])

    return convert


def _global_pool(cls_name, cls):
    def convert(cfg, name, ctx, rank):
        _check_options(ctx, name, cls_name, cfg, {"data_format", "keepdims"})
        _data_format(ctx, name, cls_name, cfg)
        return Conversion([cls(keepdims=bool(cfg.get("keepdims", False)), name=name)])

    return convert


def flatten(cfg, name, ctx, rank):
    _check_options(ctx, name, "Flatten", cfg, {"data_format"})
    fmt = cfg.get("data_format")
    # channels_first model, data_format None or "channels_last": Keras flattens in
    # (C, H, W) order, and the loader permutes the next Dense's rows (chw_flatten_dense)
    if not ctx.channels_first and fmt == "channels_first" and rank == 4:
        raise refuse(ctx, name, "Flatten", "data_format='channels_first' in an NHWC model")
    return Conversion([L.Flatten(name=name)])


def zero_padding2d(cfg, name, ctx, rank):
    _check_options(ctx, name, "ZeroPadding2D", cfg, {"padding", "data_format"})
    _data_format(ctx, name, "ZeroPadding2D", cfg)
    return Conversion([L.ZeroPadding2D(_plain(cfg.get("padding", 1)), name=name)])


def dropout(cfg, name, ctx, rank):
    _check_options(ctx, name, "Dropout", cfg, {"rate"})
    return Conversion([L.Dropout(float(cfg.get("rate", 0.0)), name=name)])


def rescaling(cfg, name, ctx, rank):
    _check_options(ctx, name, "Rescaling", cfg, {"scale", "offset"})
    scale, offset = _plain(cfg.get("scale", 1.0)), _plain(cfg.get("offset", 0.0))
    per_channel = isinstance(scale, tuple) or isinstance(offset, tuple)
    if ctx.channels_first and rank == 4 and per_channel:
        raise refuse(ctx, name, "Rescaling", "per-channel scale/offset in a channels_first model")
    for v in (scale, offset):
        if isinstance(v, dict):
            raise refuse(ctx, name, "Rescaling", f"a scale or offset stored as {v!r}")
    return Conversion([L.Rescaling(scale, offset, name=name)])


def re_lu(cfg, name, ctx, rank):
    _check_options(ctx, name, "ReLU", cfg, {"max_value", "negative_slope", "threshold"})
    _require(ctx, name, "ReLU", cfg, "threshold", [0, 0.0])
    slope = float(cfg.get("negative_slope", 0.0))
    max_value = cfg.get("max_value")
    if slope and max_value is not None:
        raise refuse(
            ctx, name, "ReLU", f"negative_slope={slope!r} together with max_value={max_value!r}"
        )
    if slope:
        return Conversion([L.LeakyReLU(slope, name=name)])
    if max_value is not None and (
        isinstance(max_value, bool)
        or not isinstance(max_value, int | float)
        or not 0 < max_value < float("inf")
    ):
        raise refuse(ctx, name, "ReLU", f"max_value={max_value!r}", "expected a number > 0")
    return Conversion([L.ReLU(max_value=max_value, name=name)])


def elu(cfg, name, ctx, rank):
    _check_options(ctx, name, "ELU", cfg, {"alpha"})
    return Conversion([L.ELU(float(cfg.get("alpha", 1.0)), name=name)])


def leaky_re_lu(cfg, name, ctx, rank):
    _check_options(ctx, name, "LeakyReLU", cfg, {"alpha", "negative_slope"})
    slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return Conversion([L.LeakyReLU(float(slope), name=name)])


def activation(cfg, name, ctx, rank):
    _check_options(ctx, name, "Activation", cfg, {"activation"})
    act = activation_name(cfg.get("activation"), ctx, name, "Activation")
    if act is None:
        return Conversion([])  # linear: the output is the input
    if act == "softmax" and ctx.channels_first and rank == 4:
        raise refuse(ctx, name, "Activation", "softmax on a channels_first image tensor")
    return Conversion([make_activation(act, ctx, name, "Activation", name)])


def softmax(cfg, name, ctx, rank):
    _check_options(ctx, name, "Softmax", cfg, {"axis"})
    axis = ctx.axis(cfg.get("axis", -1), rank, name, "Softmax")
    return Conversion([L.Softmax(axis=axis, name=name)])


def add(cfg, name, ctx, rank):
    _check_options(ctx, name, "Add", cfg, set())
    return Conversion([L.Add(name=name)])


def concatenate(cfg, name, ctx, rank):
    _check_options(ctx, name, "Concatenate", cfg, {"axis"})
    axis = ctx.axis(cfg.get("axis", -1), rank, name, "Concatenate")
    return Conversion([L.Concatenate(axis=axis, name=name)])


#: Keras class name -> converter(cfg, name, ctx, input rank including the batch axis)
CONVERTERS = {
    "Activation": activation,
    "Add": add,
    "AveragePooling2D": _pool("AveragePooling2D", L.AveragePooling2D),
    "BatchNormalization": batch_normalization,
    "Concatenate": concatenate,
    "Conv2D": conv2d,
    "Dense": dense,
    "DepthwiseConv2D": depthwise_conv2d,
    "Dropout": dropout,
    "ELU": elu,
    "Flatten": flatten,
    "GlobalAveragePooling2D": _global_pool("GlobalAveragePooling2D", L.GlobalAveragePooling2D),
    "GlobalMaxPooling2D": _global_pool("GlobalMaxPooling2D", L.GlobalMaxPooling2D),
    "InputLayer": None,
    "LeakyReLU": leaky_re_lu,
    "MaxPooling2D": _pool("MaxPooling2D", L.MaxPooling2D),
    "ReLU": re_lu,
    "Rescaling": rescaling,
    "SeparableConv2D": separable_conv2d,
    "Softmax": softmax,
    "ZeroPadding2D": zero_padding2d,
}
#: Keras aliases that name the same layer
ALIASES = {
    "AvgPool2D": "AveragePooling2D",
    "MaxPool2D": "MaxPooling2D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
}


def convert_layer(spec, ctx: Context, rank: int) -> Conversion:
    """Convert one (non-model) Keras layer; ``rank`` is its input rank including the batch.

    Raises
    ------
    UnsupportedLayerError
        Unknown class, Lambda/custom layers, or an unsupported option.
    """
    cls = ALIASES.get(spec.class_name, spec.class_name)
    if cls == "Lambda":
        raise UnsupportedLayerError(
            f"{ctx.where}: layer {spec.name!r} is a Lambda layer, whose computation is Python "
            f"code stored in the file. minidecnn never executes code from a file. Expected "
            f"one of the supported layer classes: {supported_list()}. Replace the Lambda by "
            f"built-in layers in Keras and save again."
        )
    if cls in MODEL_CLASSES or cls not in CONVERTERS or CONVERTERS[cls] is None:
        raise UnsupportedLayerError(
            f"{ctx.where}: layer {spec.name!r} has class {spec.class_name!r}, which "
            f"minidecnn does not support. Expected one of: {supported_list()}."
        )
    try:
        return CONVERTERS[cls](spec.config, spec.name, ctx, rank)
    except UnsupportedLayerError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        from ..errors import ModelFileError

        raise ModelFileError(
            f"{ctx.where}: layer {spec.name!r} ({spec.class_name}) has a configuration "
            f"minidecnn cannot use ({type(exc).__name__}: {exc}). Expected the arguments "
            f"Keras writes for a {spec.class_name}."
        ) from None
