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

A capped ReLU (``ReLU(max_value=6)``, Keras' ``relu6``) keeps the same three
rules with the mask ``0 < z < max_value``: its gradient is zero above the cap;
the DeconvNet rule ignores the forward pass, so it ignores the cap too; the
guided rule is the gradient with negative signals removed, so it is zero above
the cap as well.

The other nonlinearities (LeakyReLU, ELU, SELU, GELU, Swish/SiLU, Softplus,
Softsign, HardSigmoid, HardSiLU, Exponential, Sigmoid, Tanh, Softmax) have no
DeconvNet or guided rule in the papers; here, as in Captum and iNNvestigate,
``deconv`` and ``guided`` pass their ordinary gradient.

Every layer keeps the dtype of its input (float32 in, float32 out; float64 in,
float64 out) and is written so that no ``exp`` overflows for large ``|z|``
except :class:`Exponential`, whose output itself overflows.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..kernels import erfc
from .base import Layer


def _sigmoid(z):
    """``1 / (1 + exp(-z))`` in the dtype of ``z``, from ``exp`` of non-positive numbers
    only, so large ``|z|`` never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


class ReLU(Layer):
    """Rectified linear unit ``y = max(z, 0)`` (optionally capped) with the three backward rules.

    Parameters
    ----------
    max_value : float or None, default None
        Cap of the output, ``y = min(max(z, 0), max_value)``; ``6`` is Keras' ``relu6``
        and ``ReLU(max_value=6)``. None: no cap.

    Notes
    -----
    ::

        forward   y  = max(z, 0)
        backward  dz = dout * 1[z > 0]                     (Simonyan et al.: the gradient)
        deconv    dz = max(dout, 0)                        (Zeiler & Fergus: ignores z)
        guided    dz = max(dout, 0) * 1[z > 0]             (Springenberg et al.)

    With ``max_value = m`` the unit is also off above the cap, where the output is
    the constant ``m``::

        forward   y  = min(max(z, 0), m)
        backward  dz = dout * 1[0 < z < m]                 (zero gradient above the cap)
        deconv    dz = max(dout, 0)                        (still ignores z, so the cap too)
        guided    dz = max(dout, 0) * 1[0 < z < m]         (the gradient, positive signals only)

    The papers define the rules for the plain ReLU only. The extension keeps what
    each rule means: DeconvNet rectifies the signal and never looks at the forward
    pass; guided backpropagation is the gradient with negative signals removed, and
    the gradient of a saturated unit is zero. At ``z == m`` exactly the unit counts
    as saturated, as at ``z == 0`` it counts as off.

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

    Capped at 6, the unit at ``z = 7`` passes nothing back under the gradient and
    guided rules:

    >>> relu6 = ReLU(max_value=6)
    >>> relu6.forward(np.array([[-1.0, 2.0, 7.0]]))
    array([[0., 2., 6.]])
    >>> d = np.ones((1, 3))
    >>> relu6.backward(d), relu6.deconv(d), relu6.guided(d)
    (array([[0., 1., 0.]]), array([[1., 1., 1.]]), array([[0., 1., 0.]]))
    """

    linearity = "piecewise_linear"
    cache_slots = ("z",)

    def __init__(self, max_value=None, name=None):
        super().__init__(name=name)
        if max_value is not None:
            if (
                not isinstance(max_value, int | float | np.floating | np.integer)
                or isinstance(max_value, bool)
                or not np.isfinite(max_value)
                or max_value <= 0
            ):
                raise ValueError(
                    f"ReLU: invalid max_value. Expected None or a finite number > 0, "
                    f"received {max_value!r}."
                )
            max_value = float(max_value)
            # a cap makes the layer affine, not linear, once the masks are fixed
            self.linearity = "nonlinear"
        self.max_value = max_value
        self.z = None  # input of the last forward (the pre-activation), any shape

    def _on(self):
        """The forward mask: 1 where the unit passes its input (``0 < z``, ``z < max_value``)."""
        on = self.z > 0
        if self.max_value is not None:
            on &= self.z < self.max_value
        return on

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        y = np.maximum(self.z, 0)
        if self.max_value is not None:
            y = np.minimum(y, self.z.dtype.type(self.max_value))
        return y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout * self._on()

    def deconv(self, dout):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return np.maximum(dout, 0)

    def guided(self, dout):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return np.maximum(dout, 0) * self._on()

    def get_config(self):
        if self.max_value is None:
            return {"name": self.name}
        return {"max_value": self.max_value, "name": self.name}


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
        self.y = _sigmoid(self.check_input(x))
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


def _number(value, cls, what, low=None):
    """``value`` as a float, or a ValueError naming the layer and the argument."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    ok = ok and bool(np.isfinite(value)) and (low is None or value > low)
    if not ok:
        bound = "" if low is None else f" > {low}"
        raise ValueError(
            f"{cls}: invalid {what}. Expected a finite number{bound}, received {value!r}."
        )
    return float(value)


class ELU(Layer):
    """Exponential linear unit (Clevert et al., 2016).

    Parameters
    ----------
    alpha : float, default 1.0
        The value ``y`` tends to for ``z -> -inf`` is ``-alpha``.

    Notes
    -----
    ::

        forward   y  = z                     if z > 0
                       alpha * (exp(z) - 1)  otherwise     (expm1 of z <= 0: no overflow)
        backward  dz = dout * 1              if z > 0
                       dout * (y + alpha)    otherwise     (alpha * exp(z) = y + alpha)
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    At ``z == 0`` the second branch is taken (a strict ``>``, as Keras/JAX do); with
    ``alpha = 1`` both sides have slope 1 there.

    Examples
    --------
    ``exp(-1) - 1 = -0.632...`` and its slope ``exp(-1) = 0.368...``:

    >>> elu = ELU()
    >>> elu.forward(np.array([[-1.0, 2.0]]))
    array([[-0.63212056,  2.        ]])
    >>> elu.backward(np.array([[1.0, 1.0]]))
    array([[0.36787944, 1.        ]])
    """

    cache_slots = ("z", "y")

    def __init__(self, alpha: float = 1.0, name=None):
        super().__init__(name=name)
        self.alpha = _number(alpha, "ELU", "alpha")
        self.z = None  # input of the last forward
        self.y = None  # output of the last forward

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        alpha = self.z.dtype.type(self.alpha)
        self.y = np.where(self.z > 0, self.z, alpha * np.expm1(np.minimum(self.z, 0)))
        return self.y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout * np.where(self.z > 0, 1, self.y + self.y.dtype.type(self.alpha))

    def get_config(self):
        return {"alpha": self.alpha, "name": self.name}


class SELU(Layer):
    """Scaled exponential linear unit (Klambauer et al., 2017): ``scale * ELU(alpha)``
    with the two constants that make it self-normalising.

    Notes
    -----
    ::

        alpha = 1.6732632423543772,  scale = 1.0507009873554805

        forward   y  = scale * z                      if z > 0
                       scale * alpha * (exp(z) - 1)   otherwise
        backward  dz = dout * scale                   if z > 0
                       dout * (y + scale * alpha)     otherwise
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    Examples
    --------
    >>> selu = SELU()
    >>> selu.forward(np.array([[1.0, -100.0]]))  # scale, and -scale * alpha far left
    array([[ 1.05070099, -1.75809934]])
    >>> selu.backward(np.array([[1.0, 1.0]]))
    array([[1.05070099, 0.        ]])
    """

    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946
    cache_slots = ("z", "y")

    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = None  # input of the last forward
        self.y = None  # output of the last forward

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        t = self.z.dtype.type
        neg = t(self.SCALE * self.ALPHA) * np.expm1(np.minimum(self.z, 0))
        self.y = np.where(self.z > 0, t(self.SCALE) * self.z, neg)
        return self.y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        t = self.y.dtype.type
        return dout * np.where(self.z > 0, t(self.SCALE), self.y + t(self.SCALE * self.ALPHA))


class GELU(Layer):
    """Gaussian error linear unit (Hendrycks & Gimpel, 2016): ``z`` times the standard
    normal CDF of ``z``.

    Parameters
    ----------
    approximate : bool, default False
        False: the exact form with ``erf`` (Keras' ``activation="gelu"`` and the default
        of ``keras.activations.gelu``, in Keras 3 and tf.keras). True: the tanh
        approximation (``keras.activations.gelu(x, approximate=True)``).

    Notes
    -----
    ::

        exact        Phi(z) = (1 + erf(z / sqrt 2)) / 2 = erfc(-z / sqrt 2) / 2
                     y  = z * Phi(z)
                     dz = dout * (Phi(z) + z * phi(z)),     phi(z) = exp(-z**2 / 2) / sqrt(2 pi)
        approximate  P  = (1 + tanh(u)) / 2,   u = sqrt(2 / pi) * (z + 0.044715 z**3)
                     y  = z * P
                     dz = dout * (P + z * 2 P (1 - P) * sqrt(2 / pi) * (1 + 3 * 0.044715 z**2))
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    ``erfc(-z / sqrt 2)`` rather than ``1 + erf(z / sqrt 2)``: for very negative ``z``
    the sum cancels to nothing in float32, the ``erfc`` does not (JAX computes it the
    same way). ``erfc`` is evaluated in float64 by the kernel pair
    :func:`minidecnn.kernels.erfc_naive` / :func:`minidecnn.kernels.erfc` (the C
    library's ``math.erfc``, compiled by Numba).

    Examples
    --------
    ``Phi(1) = 0.8413...`` and ``phi(1) = 0.2420...``:

    >>> gelu = GELU()
    >>> gelu.forward(np.array([[0.0, 1.0]]))
    array([[0.        , 0.84134475]])
    >>> gelu.backward(np.array([[1.0, 1.0]]))
    array([[0.5       , 1.08331547]])
    """

    cache_slots = ("z", "cdf")

    def __init__(self, approximate: bool = False, name=None):
        super().__init__(name=name)
        if not isinstance(approximate, bool | np.bool_):
            raise ValueError(
                f"GELU: invalid approximate. Expected True or False, received {approximate!r}."
            )
        self.approximate = bool(approximate)
        self.z = None  # input of the last forward
        self.cdf = None  # Phi(z) (exact) or (1 + tanh(u)) / 2 (approximate)

    def forward(self, x, training=False):
        self.z = z = self.check_input(x)
        if self.approximate:
            u = z.dtype.type(math.sqrt(2 / math.pi)) * (z + z.dtype.type(0.044715) * z**3)
            self.cdf = z.dtype.type(0.5) * (1 + np.tanh(u))
        else:
            self.cdf = (0.5 * erfc(-math.sqrt(0.5) * z.astype(np.float64))).astype(z.dtype)
        return z * self.cdf

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        z, cdf, t = self.z, self.cdf, self.z.dtype.type
        if self.approximate:
            du = t(math.sqrt(2 / math.pi)) * (1 + t(3 * 0.044715) * z**2)
            return dout * (cdf + z * 2 * cdf * (1 - cdf) * du)
        pdf = t(1 / math.sqrt(2 * math.pi)) * np.exp(t(-0.5) * z * z)
        return dout * (cdf + z * pdf)

    def get_config(self):
        return {"approximate": self.approximate, "name": self.name}


class Swish(Layer):
    """``y = z * sigmoid(z)`` (Ramachandran et al., 2017), also called SiLU (Elfwing et
    al., 2018); ``SiLU`` is the same class. Keras' ``"swish"`` and ``"silu"``.

    Notes
    -----
    ::

        forward   s  = sigmoid(z),  y = z * s
        backward  dz = dout * (s + z * s * (1 - s)) = dout * s * (1 + z * (1 - s))
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    Examples
    --------
    At ``z = 0``: ``s = 1/2``, so ``y = 0`` and the slope is ``1/2``:

    >>> swish = Swish()
    >>> swish.forward(np.array([[0.0, 1000.0]])), swish.backward(np.array([[1.0, 1.0]]))
    (array([[   0., 1000.]]), array([[0.5, 1. ]]))
    """

    cache_slots = ("z", "s")

    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = None  # input of the last forward
        self.s = None  # sigmoid(z)

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        self.s = _sigmoid(self.z)
        return self.z * self.s

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout * self.s * (1 + self.z * (1 - self.s))


#: the same layer under the name of Elfwing et al. (Keras' "silu")
SiLU = Swish


class Softplus(Layer):
    """``y = log(1 + exp(z))``, a smooth ReLU whose derivative is the sigmoid.

    Notes
    -----
    ::

        forward   y  = log(1 + exp(z)) = logaddexp(z, 0)    (no overflow for large z)
        backward  dz = dout * sigmoid(z)
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    Examples
    --------
    ``log 2 = 0.693...`` at ``z = 0``; ``z`` itself far to the right:

    >>> sp = Softplus()
    >>> sp.forward(np.array([[0.0, 1000.0]])), sp.backward(np.array([[1.0, 1.0]]))
    (array([[6.93147181e-01, 1.00000000e+03]]), array([[0.5, 1. ]]))
    """

    cache_slots = ("z",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = None  # input of the last forward

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        return np.logaddexp(self.z, self.z.dtype.type(0))

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout * _sigmoid(self.z)


class Softsign(Layer):
    """``y = z / (1 + |z|)``, a tanh-like curve with polynomial tails.

    Notes
    -----
    ::

        forward   y  = z / (1 + |z|)
        backward  dz = dout / (1 + |z|)**2
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    Examples
    --------
    >>> ss = Softsign()
    >>> ss.forward(np.array([[-3.0, 1.0]])), ss.backward(np.array([[1.0, 1.0]]))
    (array([[-0.75,  0.5 ]]), array([[0.0625, 0.25  ]]))
    """

    cache_slots = ("z",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = None  # input of the last forward

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        return self.z / (1 + np.abs(self.z))

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        return dout / (1 + np.abs(self.z)) ** 2


class HardSigmoid(Layer):
    """A piecewise-linear sigmoid ``y = clip(slope * z + offset, 0, 1)``.

    Keras has had two of them under the same name ``"hard_sigmoid"``:

    * Keras 3: ``relu6(z + 3) / 6``, i.e. ``slope = 1/6``, ``offset = 0.5`` (the default
      here; flat beyond ``|z| = 3``);
    * Keras 1/2 and tf.keras (tf-keras): ``clip(0.2 z + 0.5, 0, 1)``, i.e. ``slope = 0.2``,
      ``offset = 0.5`` (flat beyond ``|z| = 2.5``).

    The Keras loader picks the one of the Keras that wrote the file.

    Parameters
    ----------
    slope : float, default 1/6
    offset : float, default 0.5

    Notes
    -----
    ::

        forward   u  = slope * z + offset,   y = clip(u, 0, 1)
        backward  dz = dout * slope * 1[0 < u < 1]     (zero where the output is flat)
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    Examples
    --------
    >>> keras3 = HardSigmoid()
    >>> keras3.forward(np.array([[-4.0, 0.0, 1.5, 4.0]]))
    array([[0.  , 0.5 , 0.75, 1.  ]])
    >>> keras3.backward(np.ones((1, 4)))
    array([[0.        , 0.16666667, 0.16666667, 0.        ]])
    >>> HardSigmoid(slope=0.2).forward(np.array([[1.5]]))  # tf.keras: 0.2 * 1.5 + 0.5
    array([[0.8]])
    """

    cache_slots = ("u",)

    def __init__(self, slope: float = 1 / 6, offset: float = 0.5, name=None):
        super().__init__(name=name)
        self.slope = _number(slope, "HardSigmoid", "slope", low=0)
        self.offset = _number(offset, "HardSigmoid", "offset")
        self.u = None  # slope * z + offset of the last forward (before the clip)

    def forward(self, x, training=False):
        x = self.check_input(x)
        t = x.dtype.type
        self.u = t(self.slope) * x + t(self.offset)
        return np.clip(self.u, t(0), t(1))

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.u is None else self.u.shape)
        return dout * (self.u.dtype.type(self.slope) * ((self.u > 0) & (self.u < 1)))

    def get_config(self):
        return {"slope": self.slope, "offset": self.offset, "name": self.name}


class HardSiLU(Layer):
    """``y = z * hard_sigmoid(z)`` with Keras 3's hard sigmoid ``relu6(z + 3) / 6``
    (Keras' ``"hard_silu"`` / ``"hard_swish"``; Howard et al.'s h-swish, 2019).
    ``HardSwish`` is the same class.

    Notes
    -----
    ::

        forward   h  = clip(z / 6 + 1/2, 0, 1),   y = z * h
        backward  dz = dout * (h + z / 6 * 1[-3 < z < 3])
                     = dout * 0 (z <= -3),  dout * (z / 3 + 1/2) (-3 < z < 3),  dout (z >= 3)
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    Examples
    --------
    >>> hs = HardSiLU()
    >>> hs.forward(np.array([[-4.0, 1.5, 4.0]]))
    array([[-0.   ,  1.125,  4.   ]])
    >>> hs.backward(np.ones((1, 3)))
    array([[0., 1., 1.]])
    """

    keras_class = "HardSilu"  # default names "hard_silu", as Keras' function
    cache_slots = ("z",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = None  # input of the last forward

    def _h(self):
        t = self.z.dtype.type
        return np.clip(self.z / t(6) + t(0.5), t(0), t(1))

    def forward(self, x, training=False):
        self.z = self.check_input(x)
        return self.z * self._h()

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.z is None else self.z.shape)
        inside = (self.z > -3) & (self.z < 3)
        return dout * (self._h() + self.z / self.z.dtype.type(6) * inside)


#: the same layer under Keras' other name ("hard_swish")
HardSwish = HardSiLU


class Exponential(Layer):
    """``y = exp(z)`` (Keras' ``"exponential"``).

    Notes
    -----
    ::

        forward   y  = exp(z)
        backward  dz = dout * y
        deconv, guided: the gradient (the papers define no other rule; as Captum and
                        iNNvestigate do)

    The output overflows to ``inf`` for ``z`` above about 88 in float32 (709 in
    float64), as it does in Keras.

    Examples
    --------
    >>> e = Exponential()
    >>> e.forward(np.array([[0.0, 1.0]])), e.backward(np.array([[2.0, 1.0]]))
    (array([[1.        , 2.71828183]]), array([[2.        , 2.71828183]]))
    """

    cache_slots = ("y",)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.y = None  # output of the last forward

    def forward(self, x, training=False):
        self.y = np.exp(self.check_input(x))
        return self.y

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, None if self.y is None else self.y.shape)
        return dout * self.y


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


#: element-wise activations (each output depends on its own input only)
ELEMENTWISE = (ReLU, LeakyReLU, ELU, SELU, GELU, Swish, Softplus, Softsign, HardSigmoid,
               HardSiLU, Exponential, Sigmoid, Tanh)  # fmt: skip
#: nonlinearities whose deconv and guided rules are their ordinary gradient
GRADIENT_ONLY = (*ELEMENTWISE[1:], Softmax)
