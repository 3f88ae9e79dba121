"""Layers: stateful objects with ``forward``, ``backward`` and ``deconv`` (ReLU adds ``guided``).

The contract every layer follows is written once, in :mod:`minidecnn.layers.base`.
"""

from .activations import (
    ELU,
    GELU,
    SELU,
    Exponential,
    HardSigmoid,
    HardSiLU,
    HardSwish,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Swish,
    Tanh,
)
from .base import RULES, Layer
from .conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from .core import Dense, Dropout, Flatten, Rescaling, ZeroPadding2D
from .merge import Add, Concatenate
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)

__all__ = [
    "ELU",
    "GELU",
    "RULES",
    "SELU",
    "Add",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Exponential",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling2D",
    "HardSiLU",
    "HardSigmoid",
    "HardSwish",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "MaxPooling2D",
    "ReLU",
    "Rescaling",
    "SeparableConv2D",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Swish",
    "Tanh",
    "ZeroPadding2D",
]
