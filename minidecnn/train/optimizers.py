"""Optimizers: SGD (with momentum, optionally Nesterov) and Adam, both with decoupled weight decay.

An optimizer updates, in place, every trainable array ``layer.params[key]`` of a
model from the gradient ``layer.grads[key]`` that the last ``model.backward``
filled. Buffers (BatchNormalization's moving statistics) are not trained. The
per-parameter state (velocities, moments) lives in the optimizer, keyed by the
layer object and the parameter name, so one optimizer belongs to one model::

    opt = Adam(learning_rate=1e-3)
    out = model.forward(x, training=True)
    loss, dout = softmax_cross_entropy(model.activations[model.logits], y)
    model.backward(dout, start=model.logits)
    opt.step(model)

Weight decay is *decoupled* (Loshchilov & Hutter): the weights shrink by
``learning_rate * weight_decay * w`` directly, instead of adding
``weight_decay * w`` to the gradient, as Keras 3 does for both optimizers.
"""

from __future__ import annotations

import abc

import numpy as np


def _check_number(value, name, owner, low=0.0, high=None, low_open=False):
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (high is None or value < high)
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        if high is not None:
            bound += f" and < {high}"
        raise ValueError(
            f"{owner}: invalid value for argument `{name}`. Expected a number {bound}, "
            f"received {name}={value!r}."
        )
    return float(value)


class Optimizer(abc.ABC):
    """Base class: walks the model's trainable arrays and applies :meth:`update`.

    Attributes
    ----------
    learning_rate : float
        May be changed between steps (for example by a schedule in a callback).
    iterations : int
        Number of steps taken so far.
    """

    def __init__(self, learning_rate: float, weight_decay: float = 0.0):
        owner = type(self).__name__
        self.learning_rate = _check_number(learning_rate, "learning_rate", owner, low_open=True)
        self.weight_decay = _check_number(weight_decay, "weight_decay", owner)
        self.iterations = 0
        self.state: dict = {}  # (layer, key) -> dict of arrays shaped like the parameter

    def step(self, model) -> None:
        """Update every trainable parameter of ``model`` from its gradient, in place.

        Raises
        ------
        RuntimeError
            If a layer with parameters has no gradient of the same shape (run
            ``model.backward(dout)`` with ``param_grads=True`` first).
        """
        self.iterations += 1
        for layer in model.leaf_layers():
            for key, w in layer.params.items():
                g = layer.grads.get(key)
                if g is None or g.shape != w.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}: no gradient for {layer.name}.{key}. Expected "
                        f"an array of shape {w.shape} in layer.grads, received "
                        f"{None if g is None else g.shape}. Run model.backward(dout) after "
                        f"the forward pass and before optimizer.step(model)."
                    )
                state = self.state.setdefault((layer, key), {})
                self.update(w, g.astype(w.dtype, copy=False), state)

    @abc.abstractmethod
    def update(self, w, g, state) -> None:
        """Apply one step to the array ``w`` (in place) given its gradient ``g``.

        ``state`` is this parameter's own dict of optimizer arrays (empty at first).
        """

    def _decay(self, w):
        if self.weight_decay:
            w -= w.dtype.type(self.learning_rate * self.weight_decay) * w

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate, "weight_decay": self.weight_decay}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Parameters
    ----------
    learning_rate : float, default 0.01
        ``lr > 0``.
    momentum : float in [0, 1), default 0.0
        ``mu``.
    nesterov : bool, default False
    weight_decay : float, default 0.0
        Decoupled: ``w <- w - lr * wd * w`` before the gradient step.

    Notes
    -----
    With velocity ``v`` (zero at the start), Keras' formulation::

        plain      w <- w - lr g                                  (mu = 0)
        momentum   v <- mu v - lr g;        w <- w + v
        Nesterov   v <- mu v - lr g;        w <- w + mu v - lr g

    Nesterov evaluates the step at the look-ahead point ``w + mu v``; written
    in terms of the current weights it adds the new velocity once more, scaled
    by ``mu``.

    References
    ----------
    Sutskever, Martens, Dahl & Hinton, On the importance of initialization and
    momentum in deep learning, ICML 2013.

    Examples
    --------
    >>> opt, w = SGD(learning_rate=0.1, momentum=0.9), np.array([1.0])
    >>> state = {}
    >>> opt.update(w, np.array([1.0]), state); w
    array([0.9])
    >>> opt.update(w, np.array([1.0]), state); w    # v = 0.9 * -0.1 - 0.1 = -0.19
    array([0.71])
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(learning_rate, weight_decay)
        self.momentum = _check_number(momentum, "momentum", "SGD", high=1.0)
        self.nesterov = bool(nesterov)

    def update(self, w, g, state):
        self._decay(w)
        lr = w.dtype.type(self.learning_rate)
        if self.momentum == 0:
            w -= lr * g
            return
        mu = w.dtype.type(self.momentum)
        v = state.get("velocity")
        if v is None:
            v = state["velocity"] = np.zeros_like(w)
        v *= mu
        v -= lr * g
        if self.nesterov:
            w += mu * v - lr * g
        else:
            w += v

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Adam: per-parameter step sizes from running moments of the gradient.

    Parameters
    ----------
    learning_rate : float, default 0.001
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default 1e-7
        Keeps the denominator away from zero (Keras' default; the paper uses 1e-8).
    weight_decay : float, default 0.0
        Decoupled weight decay (AdamW): ``w <- w - lr * wd * w`` before the Adam step.

    Notes
    -----
    At step ``t = 1, 2, ...`` with ``m = v = 0`` at the start (Kingma & Ba, Algorithm 1)::

        m <- beta_1 m + (1 - beta_1) g
        v <- beta_2 v + (1 - beta_2) g^2
        m_hat = m / (1 - beta_1^t),   v_hat = v / (1 - beta_2^t)
        w <- w - lr m_hat / (sqrt(v_hat) + epsilon)

    The bias corrections undo the pull towards the zero start; on the first step
    ``m_hat = g`` and ``v_hat = g^2``, so every parameter moves by about ``lr``.

    References
    ----------
    Kingma & Ba, Adam: A Method for Stochastic Optimization, ICLR 2015.
    Loshchilov & Hutter, Decoupled Weight Decay Regularization, ICLR 2019.

    Examples
    --------
    >>> opt, w = Adam(learning_rate=0.1), np.array([1.0, 1.0])
    >>> opt.iterations = 1                       # step() counts; update() alone does not
    >>> opt.update(w, np.array([0.5, -2.0]), {}); w.round(6)
    array([0.9, 1.1])
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float = 0.0,
    ):
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = _check_number(beta_1, "beta_1", "Adam", high=1.0)
        self.beta_2 = _check_number(beta_2, "beta_2", "Adam", high=1.0)
        self.epsilon = _check_number(epsilon, "epsilon", "Adam", low_open=True)

    def update(self, w, g, state):
        self._decay(w)
        t = max(self.iterations, 1)
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(w), np.zeros_like(w)
        m, v = state["m"], state["v"]
        b1, b2 = w.dtype.type(self.beta_1), w.dtype.type(self.beta_2)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / w.dtype.type(1 - self.beta_1**t)
        v_hat = v / w.dtype.type(1 - self.beta_2**t)
        lr, eps = w.dtype.type(self.learning_rate), w.dtype.type(self.epsilon)
        w -= lr * m_hat / (np.sqrt(v_hat) + eps)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


#: names accepted by ``fit(optimizer=...)``, built with their default settings
OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get_optimizer(optimizer) -> Optimizer:
    """An :class:`Optimizer` instance from an instance or a name (``"sgd"``, ``"adam"``)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        f"fit: unknown optimizer {optimizer!r}. Expected an Optimizer instance such as "
        f"Adam(learning_rate=1e-3) or one of the names {sorted(OPTIMIZERS)}."
    )
