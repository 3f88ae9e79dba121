"""minidecnn: a readable convolutional-network engine for seeing what CNNs learn.

Every layer has explicit ``forward``, ``backward`` and ``deconv`` methods (NHWC,
float32 by default, float64 on request); models are Sequential or functional
graphs; the DeconvNet, gradient, SmoothGrad and Guided Backprop visualisations
are built on top, from first principles.

>>> import numpy as np
>>> import minidecnn as mdc
>>> model = mdc.Sequential([mdc.Input((8, 8, 1)), mdc.layers.Conv2D(2, 3), mdc.layers.ReLU()])
>>> model.forward(np.zeros((1, 8, 8, 1), np.float32)).shape
(1, 6, 6, 2)
"""

from . import data, errors, explain, gradcheck, keras, kernels, layers, train, zoo
from .errors import MinidecnnError
from .graph import Input, Tensor
from .keras import load_keras, save_keras
from .model import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Input",
    "MinidecnnError",
    "Model",
    "Sequential",
    "Tensor",
    "data",
    "errors",
    "explain",
    "gradcheck",
    "keras",
    "kernels",
    "layers",
    "load_keras",
    "save_keras",
    "train",
    "zoo",
]
