"""How a minidecnn model maps to a Keras 3 model, and where each weight lives in its files.

The mapping
-----------
Every minidecnn layer becomes **one** Keras layer of the same kind, with the same
name; nothing is fused or split on the way out:

================================  ==========================================
minidecnn                         Keras 3
================================  ==========================================
``Input((H, W, C), name=...)``    ``InputLayer`` (a slot in a functional model)
``Conv2D``, ``Dense``, ...        the class of the same name, ``activation="linear"``
``MaxPool2D`` / ``AvgPool2D``     ``MaxPooling2D`` / ``AveragePooling2D``
``GlobalAvgPool2D``               ``GlobalAveragePooling2D`` (``GlobalMaxPool2D`` alike)
``ReLU``, ``LeakyReLU``, ``ELU``  ``ReLU`` (``max_value``), ``LeakyReLU``, ``ELU``
``Softmax``                       ``Softmax``
``Sigmoid``, ``Tanh``             ``Activation("sigmoid")``, ``Activation("tanh")``
``SELU``, ``GELU``, ``Swish``,    ``Activation("selu")``, ``("gelu")``, ``("silu")``,
``Softplus``, ``Softsign``,       ``("softplus")``, ``("softsign")``,
``HardSigmoid``, ``HardSiLU``,    ``("hard_sigmoid")``, ``("hard_silu")``,
``Exponential``                   ``("exponential")``
``Model`` / ``Sequential``        ``Functional`` / ``Sequential`` (also when nested)
================================  ==========================================

Keras 3's activation functions take no arguments, so ``GELU(approximate=True)`` and
a ``HardSigmoid`` other than Keras 3's (``slope=1/6, offset=0.5``; tf.keras' ``0.2``
slope included) cannot be written and are refused by name.

So a ``Conv2D`` followed by a ``ReLU`` in minidecnn is written as Keras'
``Conv2D(activation="linear")`` followed by ``ReLU()``: the Keras model computes the
same function, and its weight paths are those real Keras writes for that model.

Where weights live (Keras 3 ``.weights.h5``, also ``model.weights.h5`` in ``.keras``)
------------------------------------------------------------------------------------
Paths are **not** layer names. Keras walks ``model.layers`` in order and names each
slot by the snake-cased Keras class name plus a counter per class and per container
(``conv2d``, ``conv2d_1``, ...; a nested model restarts its own counters)::

    /vars                                   the model itself (attr name = model name)
    /layers/input_layer/vars                a functional model's Input (no arrays)
    /layers/conv2d/vars/0, /1               kernel W, bias b
    /layers/re_lu/vars                      weightless layers still get a slot
    /layers/functional/layers/dense/vars/0  a nested functional model
    /layers/sequential/layers/...           a nested Sequential (no input slot)

Each ``vars`` group carries an attribute ``name`` (the layer's name) and the arrays
``"0"``, ``"1"``, ... in Keras' order (see :func:`variable_keys`). ``model.layers``
of a Sequential is its list of layers (no input); of a functional model it is
Keras' graph order: operations sorted by their depth from the outputs (deepest
first), ties broken by the order a depth-first walk from the outputs first meets
them (:func:`keras_layer_order` reproduces this).

Because split activation layers are weightless and have classes of their own,
they never shift the counters of the weighted layers in a Sequential chain; in
a branching functional graph they can change the graph order, which is why the
paths are always computed from the model being written or read.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedLayerError
from ..graph import Tensor
from ..layers import activations, conv, core, merge, normalization, pooling
from ..layers.base import Layer, snake_case
from ..model import Model, Sequential

#: minidecnn class -> Keras 3 class name (exact classes only: a subclass may change
#: the computation, so it is refused rather than written as its parent).
KERAS_CLASS_NAMES: dict[type, str] = {
    conv.Conv2D: "Conv2D",
    conv.DepthwiseConv2D: "DepthwiseConv2D",
    conv.SeparableConv2D: "SeparableConv2D",
    core.Dense: "Dense",
    core.Flatten: "Flatten",
    core.ZeroPadding2D: "ZeroPadding2D",
    core.Dropout: "Dropout",
    core.Rescaling: "Rescaling",
    normalization.BatchNormalization: "BatchNormalization",
    pooling.MaxPool2D: "MaxPooling2D",
    pooling.AvgPool2D: "AveragePooling2D",
    pooling.GlobalAvgPool2D: "GlobalAveragePooling2D",
    pooling.GlobalMaxPool2D: "GlobalMaxPooling2D",
    activations.ReLU: "ReLU",
    activations.LeakyReLU: "LeakyReLU",
    activations.Softmax: "Softmax",
    activations.ELU: "ELU",
    activations.SELU: "Activation",
    activations.GELU: "Activation",
    activations.Swish: "Activation",
    activations.Softplus: "Activation",
    activations.Softsign: "Activation",
    activations.HardSigmoid: "Activation",
    activations.HardSiLU: "Activation",
    activations.Exponential: "Activation",
    activations.Sigmoid: "Activation",
    activations.Tanh: "Activation",
    merge.Add: "Add",
    merge.Concatenate: "Concatenate",
    Sequential: "Sequential",
    Model: "Functional",
}


def keras_class_name(layer: Layer) -> str:
    """The Keras 3 class a minidecnn layer is written as.

    >>> from minidecnn.layers import MaxPool2D, Sigmoid
    >>> keras_class_name(MaxPool2D()), keras_class_name(Sigmoid())
    ('MaxPooling2D', 'Activation')

    Raises
    ------
    UnsupportedLayerError
        For a layer class without a Keras counterpart here (the message lists those
        that have one).
    """
    name = KERAS_CLASS_NAMES.get(type(layer))
    if name is None:
        supported = sorted(cls.__name__ for cls in KERAS_CLASS_NAMES)
        raise UnsupportedLayerError(
            f"Keras export: layer {layer.name!r} has class {type(layer).__name__}, which has "
            f"no Keras 3 counterpart in minidecnn's exporter. Expected one of "
            f"{', '.join(supported)}, received {type(layer).__name__}. Rebuild the model "
            f"from these layers to save it in a Keras format."
        )
    return name


def variable_keys(layer: Layer) -> list[str]:
    """The layer's weight keys in Keras' variable order (``vars/0``, ``vars/1``, ...).

    Keras stores a layer's variables in creation order: Conv2D, Dense and
    DepthwiseConv2D ``kernel, bias``; SeparableConv2D ``depthwise_kernel,
    pointwise_kernel, bias``; BatchNormalization ``gamma, beta, moving_mean,
    moving_variance`` (``gamma``/``beta`` absent with ``scale``/``center`` off).
    Our names for these are ``W``, ``depthwise_W``, ``pointwise_W``, ``b``, ``gamma``,
    ``beta`` (``params``) and the two moving statistics (``buffers``).

    >>> from minidecnn.layers import BatchNormalization, SeparableConv2D
    >>> variable_keys(SeparableConv2D(4, 3))
    ['depthwise_W', 'pointwise_W', 'b']
    >>> variable_keys(BatchNormalization(center=False))
    ['gamma', 'moving_mean', 'moving_variance']
    """
    keras_class_name(layer)  # refuses unknown classes
    if isinstance(layer, conv.SeparableConv2D):
        keys = ["depthwise_W", "pointwise_W"] + (["b"] if layer.use_bias else [])
    elif isinstance(layer, conv.Conv2D | conv.DepthwiseConv2D | core.Dense):
        keys = ["W"] + (["b"] if layer.use_bias else [])
    elif isinstance(layer, normalization.BatchNormalization):
        keys = (["gamma"] if layer.scale else []) + (["beta"] if layer.center else [])
        keys += ["moving_mean", "moving_variance"]
    else:
        keys = []
    return keys


@dataclass(frozen=True)
class Slot:
    """One group of a Keras 3 weights file.

    Attributes
    ----------
    path : str
        Group path without the trailing ``/vars`` (``""`` for the top model,
        ``"layers/conv2d_1"``, ``"layers/functional/layers/dense"``).
    name : str
        The layer's (or input's, or model's) name, stored as the ``name`` attribute.
    keras_class : str
        The Keras class written for it (``"InputLayer"`` for an input).
    layer : Layer or None
        The minidecnn layer (``None`` for an input).
    keys : tuple of str
        The layer's weight keys in Keras' order: ``vars/i`` holds ``keys[i]``.
    """

    path: str
    name: str
    keras_class: str
    layer: Layer | None
    keys: tuple[str, ...]

    def arrays(self):
        """The layer's current arrays in Keras' order (live views, not copies)."""
        store = {**self.layer.params, **self.layer.buffers} if self.layer is not None else {}
        return [store[k] for k in self.keys]


def keras_layer_order(model: Model) -> list:
    """``model.layers`` of the Keras model this minidecnn model is written as.

    A Sequential gives its layers in order (no input). A functional model gives
    its inputs (as :class:`~minidecnn.graph.Tensor`, standing for Keras'
    ``InputLayer``) and layers in Keras' graph order: by depth (the longest path
    to an output; deepest first), ties in the order a depth-first walk from the
    outputs first reaches them. This replicates ``keras.src.ops.function.map_graph``.
    """
    if isinstance(model, Sequential):
        _check_built(model)
        return list(model.layers)

    finished, order, first_seen = set(), [], {}

    def op_of(key):  # a node key is either an input Tensor or a graph Node
        return key if isinstance(key, Tensor) else key.layer

    def parents(key):
        if isinstance(key, Tensor):
            return []
        return [t if t.node is None else t.node for t in key.inputs]

    def visit(tensor):  # Keras' _build_map_helper
        key = tensor if tensor.node is None else tensor.node
        if key in finished:
            return
        first_seen.setdefault(op_of(key), len(first_seen))
        for t in [] if isinstance(key, Tensor) else key.inputs:
            visit(t)
        finished.add(key)
        order.append(key)

    for t in model.outputs:
        visit(t)

    node_depth, op_depth = {}, {}
    for key in reversed(order):
        depth = max(node_depth.setdefault(key, 0), op_depth.get(op_of(key), 0))
        op_depth[op_of(key)] = depth
        node_depth[key] = depth
        for parent in parents(key):
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for t in model.inputs:  # inputs that no output depends on still get a slot
        if t not in op_depth:
            op_depth[t], first_seen[t] = 0, -1

    return sorted(op_depth, key=lambda op: (-op_depth[op], first_seen[op]))


def _check_built(model):
    if not model.built:
        raise ValueError(
            f"Keras export: Sequential '{model.name}' is not built, so its weights do not "
            f"exist yet. Expected a built model, received an unbuilt one. Give it an "
            f"Input first, pass input_shape=..., or run forward once."
        )


def weight_slots(model: Model, prefix: str = "") -> list[Slot]:
    """Every group of the Keras 3 weights file of ``model``, the model itself first.

    This is the single description of the layout: the writer
    (:func:`minidecnn.keras.save_weights`) creates exactly these groups, and a reader
    finds each layer's arrays at ``slot.path + "/vars/" + str(i)``.

    Examples
    --------
    >>> import minidecnn as mdc
    >>> from minidecnn.layers import Conv2D, ReLU, Dense, Flatten
    >>> m = mdc.Sequential([mdc.Input((4, 4, 1)), Conv2D(2, 3, name="c"), ReLU(name="r"),
    ...                     Flatten(name="f"), Dense(3, name="d"), Dense(2, name="e")], name="s")
    >>> [(s.path, s.name, s.keys) for s in weight_slots(m)]  # doctest: +NORMALIZE_WHITESPACE
    [('', 's', ()), ('layers/conv2d', 'c', ('W', 'b')), ('layers/re_lu', 'r', ()),
     ('layers/flatten', 'f', ()), ('layers/dense', 'd', ('W', 'b')),
     ('layers/dense_1', 'e', ('W', 'b'))]
    """
    slots = [Slot(prefix, model.name, keras_class_name(model), model, ())]
    if isinstance(model, Sequential) and len(set(map(id, model._layer_list))) != len(
        model._layer_list
    ):
        raise ValueError(
            f"Keras export: Sequential '{model.name}' contains the same layer twice. "
            f"Expected each layer once, received a repeated layer. Keras cannot store "
            f"that; build a functional Model that calls the layer twice instead."
        )
    counters: dict[str, int] = {}
    for item in keras_layer_order(model):
        if isinstance(item, Tensor):
            cls, name, layer, keys = "InputLayer", item.name, None, ()
        else:
            cls, name, layer = keras_class_name(item), item.name, item
            keys = tuple(variable_keys(item))
        base = snake_case(cls)
        k = counters.get(base, -1) + 1
        counters[base] = k
        path = f"{prefix + '/' if prefix else ''}layers/{base if k == 0 else f'{base}_{k}'}"
        if isinstance(item, Model):
            slots.extend(weight_slots(item, prefix=path))
        else:
            slots.append(Slot(path, name, cls, layer, keys))
    return slots
