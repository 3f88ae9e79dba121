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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# The subpackages and the names below are imported on first use (PEP 562), so that
# ``import minidecnn`` is quick and a script pays only for what it touches (Numba, h5py
# and matplotlib take most of a second to import). ``minidecnn.explain``,
# ``minidecnn.Sequential``, ``from minidecnn.layers import Conv2D`` all work as usual.
_SUBMODULES = ("data", "errors", "explain", "gradcheck", "keras", "kernels", "layers")
_SUBMODULES += ("train", "zoo")
_NAMES = {
    "MinidecnnError": "errors",
    "Input": "graph",
    "Tensor": "graph",
    "load_keras": "keras",
    "save_keras": "keras",
    "Model": "model",
    "Sequential": "model",
}

if TYPE_CHECKING:  # what static tools and IDEs see
    from . import data, errors, explain, gradcheck, keras, kernels, layers, train, zoo
    from .errors import MinidecnnError
    from .graph import Input, Tensor
    from .keras import load_keras, save_keras
    from .model import Model, Sequential


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
        globals()[name] = value  # the next access is a plain attribute lookup
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


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
