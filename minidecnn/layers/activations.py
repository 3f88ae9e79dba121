"""Activation layers. The ReLU is the only place where gradient, DeconvNet and
Guided Backprop differ:

=================  ==================================  ======================
rule               signal sent down from ``dout``      uses
=================  ==================================  ======================
gradient           ``dout * (z > 0)``                  forward mask
deconvnet          ``max(dout, 0)``                    sign of ``dout`` only
guided             ``max(dout, 0) * (z > 0)``          both
=================  ==================================  ======================

At ``z == 0`` exactly the derivative is taken as 0 (a strict ``>``), as in
PyTorch and TensorFlow.

The other nonlinearities (LeakyReLU, Sigmoid, Tanh, Softmax) have no
DeconvNet or guided rule in the papers; here, as in Captum and iNNvestigate,
``deconv`` and ``guided`` pass their ordinary gradient.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import Layer


class ReLU(Layer):
    """Rectified linear unit ``y = max(z, 0)`` with the three backward rules.

    Notes
    -----
    ::

        forward   y  = max(z, 0)
        backward  dz = dout * 1[z > 0]                     (Simonyan et al.: the gradient)
        deconv    dz = max(dout, 0)                        (Zeiler & Fergus: ignores z)
        guided    dz = max(dout, 0) * 1[z > 0]             (Springenberg et al.)

    References
    ----------
    Zeiler & Fergus, ECCV 2014; Springenberg et al., arXiv:1412.6806.

    Examples
    --------
    >>> relu = ReLU()
    >>> _ = relu.forward(np.array([[-1.0, 0.0, 2.0]], dtype=np.float32))
    >>> d = np.array([[3.0, 3.0, -3.0]], dtype=np.float32)
    >>> relu.backward(d)
    array([[ 0.,  0., -3.]], dtype=float32)
    >>> relu.deconv(d)
    array([[3., 3., 0.]], dtype=float32)
    >>> relu.guided(d)
    array([[0., 0., 0.]], dtype=float32)
    """

    linearity = "piecewise_linear"
    cache_slots = ("z",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = None  # input of the last forward (the pre-activation), any shape

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        return np.maximum(self.z, 0)

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout * (self.z > 0)

    def deconv(self, dout):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return np.maximum(dout, 0)

    def guided(self, dout):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return np.maximum(dout, 0) * (self.z > 0)


class LeakyReLU(Layer):
    """``y = z`` for ``z > 0`` and ``negative_slope * z`` otherwise.

    Parameters
    ----------
    negative_slope : float, default 0.3
        Keras' default; ``alpha`` is accepted as the Keras 2 name.

    Notes
    -----
    ::

        forward   y  = z if z > 0 else negative_slope * z
        backward  dz = dout * (1 if z > 0 else negative_slope)     (slope at z == 0)
        deconv    dz = the gradient                                  (no rule in the papers)
        guided    dz = the gradient

    Examples
    --------
    >>> leaky = LeakyReLU(0.1)
    >>> leaky.forward(np.array([[-2.0, 3.0]]))
    array([[-0.2,  3. ]])
    >>> leaky.backward(np.array([[1.0, 1.0]])), leaky.deconv(np.array([[-1.0, -1.0]]))
    (array([[0.1, 1. ]]), array([[-0.1, -1. ]]))
    """

    linearity = "piecewise_linear"
    cache_slots = ("z",)

    def __init__(self, negative_slope: float = 0.3, name=None, alpha=None):
        super().__init__(name=name)
        slope = negative_slope if alpha is None else alpha
        if not isinstance(slope, int | float) or isinstance(slope, bool) or slope < 0:
            raise ValueError(
                f"LeakyReLU: invalid negative_slope. Expected a float >= 0, received {slope!r}."
            )
        self.negative_slope = float(slope)
        self.z = None  # input of the last forward

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        return np.where(self.z > 0, self.z, self.z * self.z.dtype.type(self.negative_slope))

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout * np.where(self.z > 0, 1, self.negative_slope).astype(dout.dtype)

    def get_config(self):
        return {"negative_slope": self.negative_slope, "name": self.name}


class Sigmoid(Layer):
    """The logistic function.

    Notes
    -----
    ::

        forward   y  = 1 / (1 + exp(-z))
        backward  dz = dout * y * (1 - y)
        deconv, guided: the gradient (the papers define no other rule)

    Examples
    --------
    >>> sig = Sigmoid()
    >>> sig.forward(np.array([[0.0]])), sig.backward(np.array([[1.0]]))
    (array([[0.5]]), array([[0.25]]))
    """

    cache_slots = ("y",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.y = None  # output of the last forward

    def forward(self, x, training=False):
        x = self.check_input(x)
        # exp of a non-positive number only, so large |z| never overflows
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.y is None else self.y.shape)
        return dout * self.y * (1 - self.y)


class Tanh(Layer):
    """The hyperbolic tangent.

    Notes
    -----
    ::

        forward   y  = tanh(z)
        backward  dz = dout * (1 - y**2)
        deconv, guided: the gradient (the papers define no other rule)

    Examples
    --------
    >>> tanh = Tanh()
    >>> tanh.forward(np.array([[0.0]])), tanh.backward(np.array([[3.0]]))
    (array([[0.]]), array([[3.]]))
    """

    cache_slots = ("y",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.y = None  # output of the last forward

    def forward(self, x, training=False):
        self.y = np.tanh(self.check_input(x))
        return self.y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.y is None else self.y.shape)
        return dout * (1 - self.y**2)


class Softmax(Layer):
    """``p = exp(z - max z) / sum exp(z - max z)`` over ``axis`` (the last by default).

    Notes
    -----
    The Jacobian is ``dp_c/dz_j = p_c (delta_cj - p_j)``, so::

        dz = p * (dout - sum(dout * p, axis))

    Deconv/guided pass this gradient. Saliency methods normally start *below*
    the softmax, at the logits (Simonyan et al.); see ``Model.logits``.

    Examples
    --------
    Two equal logits give ``p = (0.5, 0.5)``; pulling on the first class pushes the
    second down: ``dz = (0.5 * (1 - 0.5), 0.5 * (0 - 0.5))``.

    >>> soft = Softmax()
    >>> soft.forward(np.array([[0.0, 0.0]])), soft.backward(np.array([[1.0, 0.0]]))
    (array([[0.5, 0.5]]), array([[ 0.25, -0.25]]))
    """

    cache_slots = ("y",)

    def __init__(self, axis=-1, name=None):
        super().__init__(name=name)
        self.axis = int(axis)
        self.y = None  # output of the last forward

    def compute_output_shape(self, input_shape):
        rank = len(input_shape) + 1
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ShapeError(
                f"{self._where}: invalid axis. Expected a non-batch axis of inputs of shape "
                f"(N, {', '.join(map(str, input_shape))}), received axis={self.axis}."
            )
        return tuple(input_shape)

    def forward(self, x, training=False):
        x = self.check_input(x)
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.y is None else self.y.shape)
        return self.y * (dout - (dout * self.y).sum(axis=self.axis, keepdims=True))

    def get_config(self):
        return {"axis": self.axis, "name": self.name}
