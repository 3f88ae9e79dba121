"""The layer contract, written once.

Every layer is an object with

``forward(x, training=False) -> y``
    Computes the output and caches what the backward passes need. The cache
    slots are listed in the class attribute ``cache_slots`` and set to ``None``
    in ``__init__`` with a comment, so a reader sees the state before it is used.
``backward(dout, param_grads=True) -> dx``
    The true gradient: ``dx = (dy/dx)^T dout``. It also fills ``self.grads``
    (same keys as ``self.params``) unless ``param_grads=False``, which attribution
    methods use because they never need weight gradients.
``deconv(dout) -> dx``
    Zeiler & Fergus's reverse mapping. For linear layers it is the input part of
    ``backward``; max-pooling unpools through its switches (which is also its
    gradient); ReLU rectifies the signal, ``max(dout, 0)``.
``guided(dout) -> dx``
    Springenberg et al.'s guided backpropagation. Only ReLU differs from
    ``backward``: ``dout * (z > 0) * (dout > 0)``.

Non-ReLU nonlinearities (LeakyReLU, Sigmoid, Tanh, Softmax) use their ordinary
gradient under ``deconv`` and ``guided``, as Captum and iNNvestigate do: the
modified rules are defined for the ReLU only.

One forward, one backward: ``backward`` uses the latest ``forward``, and calling
it first raises ``RuntimeError``. Gradients overwrite; where a graph fans out the
model sums them, in one place.

Arrays are NHWC; parameters are float32 unless converted with :meth:`Layer.astype`.
"""

from __future__ import annotations

import abc
import itertools
import re

import numpy as np

from .._checks import as_float_array, check_finite, check_shape
from ..errors import ShapeError
from ..graph import Node, Tensor

RULES = ("gradient", "deconvnet", "guided")

_name_counters: dict[str, itertools.count] = {}


def snake_case(name: str) -> str:
    """Keras' class-name-to-layer-name rule: ``Conv2D -> conv2d``, ``ReLU -> re_lu``.

    >>> snake_case("BatchNormalization"), snake_case("MaxPooling2D"), snake_case("ReLU")
    ('batch_normalization', 'max_pooling2d', 're_lu')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``, ... (a process-wide counter, as in Keras)."""
    counter = _name_counters.setdefault(base, itertools.count())
    k = next(counter)
    return base if k == 0 else f"{base}_{k}"


class Layer(abc.ABC):
    """Base class: parameters, gradients, the cache of the last forward, and the call API.

    Attributes
    ----------
    name : str
        Unique within a model; defaults to the snake-cased class name plus a counter.
    params : dict of str to ndarray
        Trainable arrays (``"W"``, ``"b"``, ``"gamma"``, ...).
    grads : dict of str to ndarray
        Same keys as ``params``, filled by ``backward``.
    buffers : dict of str to ndarray
        Non-trainable arrays (BatchNormalization's moving statistics).
    input_shape, output_shape : tuple
        Shapes without the batch axis, known once the layer is built.
    output : ndarray or None
        The output of the last forward run by a model (kept for teaching).
    """

    #: names of the attributes that hold the forward cache
    cache_slots: tuple[str, ...] = ()
    #: how forward depends on the input, used by ``gradcheck.check_layer``:
    #: "linear" (f(a x + b y) = a f(x) + b f(y)), "affine" (linear plus a constant),
    #: "piecewise_linear" (linear once masks/switches are fixed) or "nonlinear"
    linearity = "nonlinear"
    #: True for layers that take a list of tensors (Add, Concatenate)
    multi_input = False
    #: Keras' class name when ours is a shorter alias (MaxPool2D is Keras' MaxPooling2D),
    #: so that default names match Keras' ("max_pooling2d")
    keras_class: str | None = None

    def __init__(self, name: str | None = None, seed=None):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(
                f"{type(self).__name__}: invalid name. Expected a non-empty string, "
                f"received name={name!r}."
            )
        self.name = name or unique_name(snake_case(self.keras_class or type(self).__name__))
        self.seed = seed  # drawn from when the layer builds; None means fresh entropy
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.dtype = np.dtype(np.float32)
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.output: np.ndarray | None = None
        self.check_finite = True  # a model checks its own input once and turns this off
        self._n_calls = 0  # symbolic calls so far, to number this layer's nodes

    # ------------------------------------------------------------------ building

    def build(self, input_shape, seed=None) -> None:
        """Create the parameters for inputs of ``input_shape`` (without the batch axis)."""
        input_shape = self._normalise_shape(input_shape)
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = input_shape
        self.init_params(input_shape, np.random.default_rng(self.seed if seed is None else seed))
        self.built = True
        self.astype(self.dtype)  # a layer converted before it was built keeps that dtype
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def init_params(self, input_shape, rng: np.random.Generator) -> None:
        """Fill ``self.params`` (and ``self.buffers``) with fresh values. Layers with
        parameters override this; it is also what re-randomisation calls."""

    def reinitialize(self, seed=None) -> None:
        """Draw fresh parameters (for Adebayo et al.'s cascading randomisation)."""
        if not self.built:
            raise RuntimeError(f"{self._where}: cannot re-initialise a layer that is not built.")
        dtype = self.dtype
        self.init_params(self.input_shape, np.random.default_rng(seed))
        self.astype(dtype)

    def compute_output_shape(self, input_shape) -> tuple:
        """Output shape (without batch axis) for ``input_shape``; identity by default."""
        return tuple(input_shape)

    def _normalise_shape(self, input_shape):
        if self.multi_input:
            return [tuple(s) for s in input_shape]
        return tuple(input_shape)

    def astype(self, dtype) -> Layer:
        """Convert parameters and buffers to ``dtype`` (float32 or float64); returns self."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(
                f"{self._where}: unsupported dtype. Expected float32 or float64, received {dtype}."
            )
        for store in (self.params, self.grads, self.buffers):
            for k, v in store.items():
                store[k] = v.astype(dtype)
        self.dtype = dtype
        return self

    # ------------------------------------------------------------------ the three rules

    @abc.abstractmethod
    def forward(self, x, training: bool = False):
        """Compute the output for ``x`` and cache what the backward passes need."""

    @abc.abstractmethod
    def backward(self, dout, param_grads: bool = True):
        """Return ``dx``; fill ``self.grads`` unless ``param_grads`` is False."""

    def deconv(self, dout):
        """Zeiler & Fergus reverse mapping; for this layer it is the input gradient."""
        return self.backward(dout, param_grads=False)

    def guided(self, dout):
        """Guided backpropagation; for this layer it is the input gradient."""
        return self.backward(dout, param_grads=False)

    def reverse(self, dout, rule: str = "gradient", param_grads: bool = False):
        """Dispatch to ``backward``, ``deconv`` or ``guided`` by rule name."""
        if rule == "gradient":
            return self.backward(dout, param_grads=param_grads)
        if rule == "deconvnet":
            return self.deconv(dout)
        if rule == "guided":
            return self.guided(dout)
        raise ValueError(
            f"{self._where}: unknown rule. Expected one of {RULES}, received rule={rule!r}."
        )

    # ------------------------------------------------------------------ cache bookkeeping

    def save_cache(self) -> dict:
        """The forward cache as a dict (a model keeps one per call of a shared layer)."""
        return {slot: getattr(self, slot) for slot in self.cache_slots}

    def load_cache(self, cache: dict) -> None:
        """Restore a cache saved by :meth:`save_cache`."""
        for slot, value in cache.items():
            setattr(self, slot, value)

    def clear_cache(self) -> None:
        """Drop the forward cache (frees memory; ``backward`` then raises until a new forward)."""
        for slot in self.cache_slots:
            setattr(self, slot, None)

    # ------------------------------------------------------------------ checks

    @property
    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def check_input(self, x, what: str = "input") -> np.ndarray:
        """Validate one input array and build the layer on first use.

        Raises a :class:`~minidecnn.errors.MinidecnnError` naming this layer for
        integer/object dtypes, a wrong rank or shape (with a hint for a missing batch
        axis or channels-first data) and, unless a model already checked, NaN/inf.
        """
        x = as_float_array(x, self._where, what)
        if not self.built:
            if x.ndim < 2:
                raise self._rank_error(x, what)
            self.build(x.shape[1:])
        check_shape(x, self.input_shape, self._where, what)
        if self.check_finite:
            check_finite(x, self._where, what)
        return x

    def check_inputs(self, xs) -> list[np.ndarray]:
        """Validate the list of inputs of a merge layer."""
        if not isinstance(xs, list | tuple) or len(xs) < 2:
            got = type(xs).__name__
            if isinstance(xs, list | tuple):
                got += f" of length {len(xs)}"
            raise ValueError(
                f"{self._where}: expected a list of at least two arrays, received {got}."
            )
        xs = [as_float_array(x, self._where, f"input {i}") for i, x in enumerate(xs)]
        if not self.built:
            self.build([x.shape[1:] for x in xs])
        if len(xs) != len(self.input_shape):
            raise ValueError(
                f"{self._where}: wrong number of inputs. Expected {len(self.input_shape)}, "
                f"received {len(xs)}."
            )
        for i, (x, shape) in enumerate(zip(xs, self.input_shape)):
            check_shape(x, shape, self._where, f"input {i}")
            if self.check_finite:
                check_finite(x, self._where, f"input {i}")
        return xs

    def check_dout(self, dout, expected_shape) -> np.ndarray:
        """Validate the signal arriving from above against the last forward's output shape."""
        if expected_shape is None:
            raise RuntimeError(
                f"{self._where}: backward called before forward. Run forward(x) first: "
                f"the backward pass needs the forward pass's cache."
            )
        dout = as_float_array(dout, self._where, "dout")
        if dout.shape != tuple(expected_shape):
            raise ShapeError(
                f"{self._where}: wrong dout shape. Expected {tuple(expected_shape)} (the shape "
                f"of the last forward's output), received {dout.shape}."
            )
        return dout

    def _dout_shape(self, x):
        """Shape ``dout`` must have after a forward on ``x``; None before any forward."""
        if x is None:
            return None
        n = x[0] if isinstance(x, tuple) else len(x)  # an input array or its shape
        return (n, *self.output_shape)

    def _rank_error(self, x, what):
        return ShapeError(
            f"{self._where}: wrong {what} rank. Expected a batch (N, ...), received an "
            f"array of shape {x.shape}."
        )

    # ------------------------------------------------------------------ the call API

    def __call__(self, inputs, training: bool = False):
        """Call on symbolic tensors to build a graph, or on arrays to run ``forward``."""
        is_symbolic = isinstance(inputs, Tensor) or (
            isinstance(inputs, list | tuple) and any(isinstance(t, Tensor) for t in inputs)
        )
        if not is_symbolic:
            return self.forward(inputs, training=training)
        tensors = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        if not all(isinstance(t, Tensor) for t in tensors):
            raise TypeError(f"{self._where}: cannot mix symbolic tensors and arrays in one call.")
        if self.multi_input != (len(tensors) > 1 or isinstance(inputs, list | tuple)):
            expected = "a list of tensors" if self.multi_input else "one tensor"
            raise ValueError(
                f"{self._where}: expected {expected}, received {len(tensors)} tensor(s)."
            )
        shapes = [t.shape[1:] for t in tensors]
        in_shape = shapes if self.multi_input else shapes[0]
        if not self.built:
            self.build(in_shape)
        elif self._normalise_shape(in_shape) != self.input_shape:
            raise ValueError(
                f"{self._where}: this layer was built for inputs of shape "
                f"{self.input_shape} and is now called on {in_shape}. A shared layer "
                f"needs the same input shape at every call."
            )
        node = Node(self, tensors, self.output_shape, self._n_calls)
        self._n_calls += 1
        return node.output

    # ------------------------------------------------------------------ niceties

    def leaf_layers(self) -> list[Layer]:
        """The layers that own parameters directly: ``[self]`` for a plain layer."""
        return [self]

    def count_params(self) -> int:
        """Number of trainable and non-trainable numbers (as Keras' summary counts them)."""
        return int(
            sum(v.size for v in self.params.values()) + sum(v.size for v in self.buffers.values())
        )

    def get_config(self) -> dict:
        """Constructor arguments, enough to rebuild this layer (used by ``save_keras``)."""
        return {"name": self.name}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args}{', ' if args else ''}name={self.name!r})"
