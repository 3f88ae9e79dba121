"""The ``config.json`` of a ``.keras`` archive: a minidecnn model described as Keras 3 does.

Keras 3 wraps every object in the same envelope::

    {"module": "keras.layers", "class_name": "Conv2D", "config": {...},
     "registered_name": null, "build_config": {"input_shape": [null, 32, 32, 3]}}

and, inside a functional model, adds the layer's ``name`` and its ``inbound_nodes``:
one entry per call, ``{"args": [tensor], "kwargs": {}}``, where a tensor is
``{"class_name": "__keras_tensor__", "config": {"shape": ..., "dtype": ...,
"keras_history": [layer name, node index, 0]}}`` and a merge layer receives one
argument that is a list of tensors. The layer configs written here hold only
arguments that every Keras 3 release accepts; anything else takes Keras' default,
which is what minidecnn computes (for example ``activation="linear"`` on Conv2D and
Dense, because minidecnn's activations are layers of their own).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedLayerError
from ..graph import Tensor
from ..layers import activations, conv, core, merge, normalization, pooling
from ..model import Model, Sequential
from .layout import keras_class_name, keras_layer_order

_FUNCTIONAL_MODULE = "keras.src.models.functional"  # where Keras 3 itself says it lives


def _dtype_policy():
    """Keras computes in float32 whatever minidecnn's dtype; the weights file keeps ours."""
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def _pair(v):
    return [int(v[0]), int(v[1])]


def _windowed(layer):
    return {
        "kernel_size": _pair(layer.kernel_size),
        "strides": _pair(layer.strides),
        "padding": layer.padding,
        "data_format": "channels_last",
        "dilation_rate": _pair(getattr(layer, "dilation_rate", (1, 1))),
    }


def _rescaling_value(layer, what):
    v = np.asarray(getattr(layer, what), dtype=np.float64)
    if v.ndim > 1:
        raise UnsupportedLayerError(
            f"Keras export: Rescaling {layer.name!r} has a {what} of shape {v.shape}. "
            f"Expected a scalar or one value per channel, received shape {v.shape}; "
            f"Keras' Rescaling cannot store it."
        )
    return float(v) if v.ndim == 0 else v.tolist()


def _layer_args(layer) -> dict:
    """The Keras constructor arguments (besides name, trainable, dtype) of one layer."""
    if isinstance(layer, conv.SeparableConv2D):
        return {
            "filters": layer.filters,
            **_windowed(layer),
            "depth_multiplier": layer.depth_multiplier,
            "activation": "linear",
            "use_bias": layer.use_bias,
        }
    if isinstance(layer, conv.DepthwiseConv2D):
        return {
            **_windowed(layer),
            "depth_multiplier": layer.depth_multiplier,
            "activation": "linear",
            "use_bias": layer.use_bias,
        }
    if isinstance(layer, conv.Conv2D):
        return {
            "filters": layer.filters,
            **_windowed(layer),
            "groups": 1,
            "activation": "linear",
            "use_bias": layer.use_bias,
        }
    if isinstance(layer, core.Dense):
        return {"units": layer.units, "activation": "linear", "use_bias": layer.use_bias}
    if isinstance(layer, normalization.BatchNormalization):
        return {
            "axis": -1,
            "momentum": layer.momentum,
            "epsilon": layer.epsilon,
            "center": layer.center,
            "scale": layer.scale,
        }
    if isinstance(layer, pooling.MaxPool2D | pooling.AvgPool2D):
        return {
            "pool_size": _pair(layer.pool_size),
            "padding": layer.padding,
            "strides": _pair(layer.strides),
            "data_format": "channels_last",
        }
    if isinstance(layer, pooling.GlobalAvgPool2D | pooling.GlobalMaxPool2D):
        return {"data_format": "channels_last", "keepdims": layer.keepdims}
    if isinstance(layer, core.Flatten):
        return {"data_format": "channels_last"}
    if isinstance(layer, core.ZeroPadding2D):
        return {"padding": [list(p) for p in layer.padding], "data_format": "channels_last"}
    if isinstance(layer, core.Dropout):
        seed = layer.seed if isinstance(layer.seed, int | np.integer) else None
        return {"rate": layer.rate, "seed": None if seed is None else int(seed)}
    if isinstance(layer, core.Rescaling):
        return {
            "scale": _rescaling_value(layer, "scale"),
            "offset": _rescaling_value(layer, "offset"),
        }
    if isinstance(layer, activations.ReLU):
        return {"max_value": layer.max_value, "negative_slope": 0.0, "threshold": 0.0}
    if isinstance(layer, activations.ELU):
        return {"alpha": layer.alpha}
    if isinstance(layer, activations.LeakyReLU):
        return {"negative_slope": layer.negative_slope}
    if isinstance(layer, activations.Softmax):
        return {"axis": layer.axis}
    if isinstance(layer, activations.Sigmoid):
        return {"activation": "sigmoid"}
    if isinstance(layer, activations.Tanh):
        return {"activation": "tanh"}
    if type(layer) in _ACTIVATION_NAMES:
        return {"activation": _activation_name(layer)}
    if isinstance(layer, merge.Concatenate):
        return {"axis": layer.axis}
    return {}  # Add


#: layers written as Keras 3 ``Activation(<name>)`` (Sigmoid and Tanh above)
_ACTIVATION_NAMES = {
    activations.SELU: "selu",
    activations.GELU: "gelu",
    activations.Swish: "silu",
    activations.Softplus: "softplus",
    activations.Softsign: "softsign",
    activations.HardSigmoid: "hard_sigmoid",
    activations.HardSiLU: "hard_silu",
    activations.Exponential: "exponential",
}


def _activation_name(layer) -> str:
    """The Keras 3 activation name of ``layer``; refuses variants Keras 3 cannot store."""
    if isinstance(layer, activations.GELU) and layer.approximate:
        what, expected = "GELU(approximate=True)", "GELU(approximate=False)"
    elif isinstance(layer, activations.HardSigmoid) and (
        abs(layer.slope - 1 / 6) > 1e-12 or layer.offset != 0.5
    ):
        what = f"HardSigmoid(slope={layer.slope!r}, offset={layer.offset!r})"
        expected = "HardSigmoid(slope=1/6, offset=0.5), Keras 3's hard_sigmoid"
    else:
        return _ACTIVATION_NAMES[type(layer)]
    raise UnsupportedLayerError(
        f"Keras export: layer {layer.name!r} is a {what}, which Keras 3 has no activation "
        f"for (its activation functions take no arguments). Expected {expected}, received "
        f"{what}. Replace the layer, or keep the model in minidecnn (model.get_weights())."
    )


def _batch_shape(shape):
    return [None, *(int(d) for d in shape)]


def _input_entry(tensor: Tensor, functional: bool) -> dict:
    entry = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": _batch_shape(tensor.shape[1:]),
            "dtype": "float32",
            "sparse": False,
            "name": tensor.name,
        },
        "registered_name": None,
    }
    if functional:
        entry.update(name=tensor.name, inbound_nodes=[])
    return entry


def layer_entry(layer) -> dict:
    """The Keras 3 envelope of one layer or nested model (without graph connections)."""
    if isinstance(layer, Model):
        return model_config(layer)
    cls = keras_class_name(layer)
    config = {
        "name": layer.name,
        "trainable": bool(getattr(layer, "trainable", True)),
        "dtype": _dtype_policy(),
        **_layer_args(layer),
    }
    if layer.multi_input:
        input_shape = [_batch_shape(s) for s in layer.input_shape]
    else:
        input_shape = _batch_shape(layer.input_shape)
    return {
        "module": "keras.layers",
        "class_name": cls,
        "config": config,
        "registered_name": None,
        "build_config": {"input_shape": input_shape},
    }


def _keras_tensor(tensor: Tensor) -> dict:
    if tensor.node is None:
        history = [tensor.name, 0, 0]
    else:
        history = [tensor.node.layer.name, tensor.node.call_index, 0]
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": _batch_shape(tensor.shape[1:]),
            "dtype": "float32",
            "keras_history": history,
        },
    }


def _model_ref(tensor: Tensor) -> list:
    """``[name, node_index, 0]`` for ``input_layers``/``output_layers`` of a functional model.

    A nested functional model owns a construction node before its first call, which
    Keras 3 counts here (but not inside ``inbound_nodes``); a Sequential does not.
    """
    if tensor.node is None:
        return [tensor.name, 0, 0]
    layer, index = tensor.node.layer, tensor.node.call_index
    if isinstance(layer, Model) and not isinstance(layer, Sequential):
        index += 1
    return [layer.name, index, 0]


def _functional_config(model: Model) -> dict:
    calls: dict[int, list] = {}
    for node in model.nodes:
        args = [_keras_tensor(t) for t in node.inputs]
        arg = args if node.layer.multi_input else args[0]
        calls.setdefault(id(node.layer), []).append({"args": [arg], "kwargs": {}})
    entries = []
    for item in keras_layer_order(model):
        if isinstance(item, Tensor):
            entries.append(_input_entry(item, functional=True))
            continue
        if isinstance(item, Model) and len(item.outputs) > 1:
            raise UnsupportedLayerError(
                f"Keras export: nested model {item.name!r} has {len(item.outputs)} outputs. "
                f"Expected nested models with one output, received {len(item.outputs)}; "
                f"minidecnn calls a nested model as a single-output layer."
            )
        entry = layer_entry(item)
        entry.update(name=item.name, inbound_nodes=calls[id(item)])
        entries.append(entry)
    ins = [_model_ref(t) for t in model.inputs]
    outs = [_model_ref(t) for t in model.outputs]
    return {
        "name": model.name,
        "trainable": True,
        "layers": entries,
        "input_layers": ins if model._multi_in else ins[0],
        "output_layers": outs if model._multi_out else outs[0],
    }


def model_config(model: Model) -> dict:
    """The Keras 3 envelope of a model: the top of ``config.json``, or a nested model entry."""
    if isinstance(model, Sequential):
        layers = [_input_entry(model.inputs[0], functional=False)]
        layers += [layer_entry(layer) for layer in model.layers]
        shape = _batch_shape(model.input_shape)
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": model.name,
                "trainable": True,
                "dtype": _dtype_policy(),
                "layers": layers,
                "build_input_shape": shape,
            },
            "registered_name": None,
            "build_config": {"input_shape": shape},
        }
    return {
        "module": _FUNCTIONAL_MODULE,
        "class_name": "Functional",
        "config": _functional_config(model),
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }
