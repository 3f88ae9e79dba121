"""Exercise ``relu_rules``: the ReLU, the one layer where the saliency methods differ.

Write the four functions, then grade them::

    minidecnn check relu_rules this_file.py

``z`` is the ReLU's input (any shape), ``a = max(z, 0)`` its output, and ``dout`` the
signal arriving at ``a`` from above (shaped like ``z``). Each backward rule returns
the signal sent down to ``z``::

    gradient   (Simonyan et al.)       dz = dout * 1[z > 0]           uses the forward mask
    deconvnet  (Zeiler & Fergus)       dz = max(dout, 0)              ignores z
    guided     (Springenberg et al.)   dz = max(dout, 0) * 1[z > 0]   both

At ``z == 0`` exactly the unit counts as off: the derivative there is 0 (a strict
``z > 0``), as in PyTorch, TensorFlow and minidecnn.

By hand, with ``z = [-1, 0, 2, 3]`` and ``dout = [3, 3, -3, 3]``::

    gradient   [0, 0, -3, 3]
    deconvnet  [3, 3,  0, 3]
    guided     [0, 0,  0, 3]
"""

import numpy as np

from minidecnn.exercises import Unfinished


def relu_forward(z):
    """``a = max(z, 0)``, elementwise; an array shaped like ``z``."""
    raise Unfinished("relu_forward")


def relu_gradient(dout, z):
    """The gradient rule: ``dz = dout * 1[z > 0]``; shaped like ``z``."""
    raise Unfinished("relu_gradient")


def relu_deconvnet(dout, z):
    """The DeconvNet rule: ``dz = max(dout, 0)`` (``z`` is not used); shaped like ``z``."""
    raise Unfinished("relu_deconvnet")


def relu_guided(dout, z):
    """The guided-backpropagation rule: ``dz = max(dout, 0) * 1[z > 0]``; shaped like ``z``."""
    raise Unfinished("relu_guided")


if __name__ == "__main__":
    z = np.array([-1.0, 0.0, 2.0, 3.0])
    dout = np.array([3.0, 3.0, -3.0, 3.0])
    for rule in (relu_gradient, relu_deconvnet, relu_guided):
        print(rule.__name__, rule(dout, z))
