"""Symbolic tensors for building functional models.

``Input(shape)`` returns a :class:`Tensor` that carries no numbers, only a shape
and the record of how it was made. Calling a layer on tensors creates a
:class:`Node` (one call of one layer) and a new tensor; :class:`~minidecnn.model.Model`
later walks these nodes to run the graph::

    x = Input((32, 32, 3))
    h = Conv2D(8, 3, name="conv")(x)        # node "conv", tensor of shape (None, 30, 30, 8)
    y = Add()([h, Conv2D(8, 3)(x)])          # one tensor feeding two layers
"""

from __future__ import annotations

import itertools

_tensor_ids = itertools.count()


class Tensor:
    """A symbolic tensor: a shape ``(None, *dims)`` and the node that produced it.

    Attributes
    ----------
    shape : tuple
        ``(None, H, W, C)`` for images; ``None`` is the batch axis.
    node : Node or None
        The call that produced this tensor; ``None`` for an :func:`Input`.
    name : str
        The producing node's key (the layer name, ``"name:1"`` for a second call),
        or the input's name.
    """

    def __init__(self, shape, node=None, name=""):
        self.shape = (None, *tuple(shape))
        self.node = node
        self.name = name
        self.id = next(_tensor_ids)

    def __repr__(self):
        return f"<Tensor {self.name!r} shape={self.shape}>"


class Node:
    """One call of a layer on symbolic tensors.

    Attributes
    ----------
    layer : Layer
    inputs : list of Tensor
    output : Tensor
    call_index : int
        0 for the first call of ``layer``, 1 for the second, ...
    key : str
        ``layer.name`` for the first call, ``f"{layer.name}:{call_index}"`` after it;
        the key under which the model stores this call's output.
    """

    def __init__(self, layer, inputs, output_shape, call_index):
        self.layer = layer
        self.inputs = list(inputs)
        self.call_index = call_index
        self.key = layer.name if call_index == 0 else f"{layer.name}:{call_index}"
        self.output = Tensor(output_shape, node=self, name=self.key)

    def __repr__(self):
        return f"<Node {self.key!r}: {[t.name for t in self.inputs]} -> {self.output.shape}>"


_input_names = itertools.count()


def Input(shape, name: str | None = None) -> Tensor:
    """Start a functional model: a symbolic input of the given shape (without batch axis).

    Parameters
    ----------
    shape : tuple of int
        ``(H, W, C)`` for images (channels last), ``(D,)`` for vectors.
    name : str, optional
        Defaults to ``"input_layer"``, ``"input_layer_1"``, ... as in Keras 3.

    Examples
    --------
    >>> Input((28, 28, 1)).shape
    (None, 28, 28, 1)
    """
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise ValueError(
            f"Input: invalid shape. Expected a tuple of positive ints without the batch "
            f"axis, such as (28, 28, 1), received shape={shape!r}."
        )
    if name is None:
        k = next(_input_names)
        name = "input_layer" if k == 0 else f"input_layer_{k}"
    return Tensor(dims, node=None, name=name)
