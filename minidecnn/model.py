"""Models: a functional graph of layers (``Model``) and a chain of layers (``Sequential``).

A model runs its nodes in topological order on ``forward`` and keeps every
node's output in ``model.activations`` (by layer name; a second call of a shared
layer is ``"name:1"``). ``backward`` walks the same nodes in reverse order,
calling each layer's ``backward``, ``deconv`` or ``guided`` according to
``rule``, and **sums** the signals where a tensor feeds several layers::

    x = Input((32, 32, 3))
    h = ReLU()(Conv2D(8, 3, padding="same")(x))
    y = Add()([h, Conv2D(8, 3, padding="same")(x)])        # x fans out to two convs
    model = Model(x, Dense(10)(Flatten()(y)))
    out = model.forward(images)
    dx = model.backward(np.ones_like(out), rule="guided")  # the signal at x is a sum

A model is itself a layer, so it can be called on tensors inside a bigger model.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ._checks import as_float_array, check_finite, check_shape
from .errors import ShapeError, UnknownNameError, did_you_mean
from .graph import Input, Tensor
from .layers.activations import Softmax
from .layers.base import RULES, Layer


class Model(Layer):
    """A directed acyclic graph of layers between ``inputs`` and ``outputs``.

    Parameters
    ----------
    inputs : Tensor or list of Tensor
        Made by :func:`~minidecnn.graph.Input`.
    outputs : Tensor or list of Tensor
        Tensors computed from ``inputs`` by calling layers.
    name : str, optional

    Attributes
    ----------
    layers : list of Layer
        Every layer of the graph once, in the order they first run (inputs excluded).
    nodes : list of Node
        Every call of a layer, in topological order.
    activations : dict of str to ndarray
        After ``forward``: the output of every node, keyed by node key, plus the inputs.
    logits : str or None
        Key of the node whose output feeds a final ``Softmax`` (or of the output node
        when there is no final softmax): where class targets are taken by default.

    Examples
    --------
    A residual block ``y = x + 2x``: the input feeds both the shortcut and the layer,
    so backward sums the two signals, ``1 + 2 = 3``:

    >>> from minidecnn.layers import Add, Dense
    >>> x = Input((1,), name="x")
    >>> double = Dense(1, use_bias=False, name="double")
    >>> model = Model(x, Add(name="skip")([x, double(x)]), name="residual")
    >>> model.set_weights({"double": {"W": [[2.0]]}})
    >>> model.forward(np.array([[1.5]], np.float32))
    array([[4.5]], dtype=float32)
    >>> model.backward(np.array([[1.0]], np.float32))
    array([[3.]], dtype=float32)
    >>> model.activations["double"]
    array([[3.]], dtype=float32)
    """

    def __init__(self, inputs, outputs, name: str | None = None):
        super().__init__(name=name)
        self._set_graph(inputs, outputs)

    # ------------------------------------------------------------------ graph

    def _set_graph(self, inputs, outputs):
        self._multi_in = isinstance(inputs, list | tuple)
        self._multi_out = isinstance(outputs, list | tuple)
        self.inputs = list(inputs) if self._multi_in else [inputs]
        self.outputs = list(outputs) if self._multi_out else [outputs]
        for what, tensors in (("inputs", self.inputs), ("outputs", self.outputs)):
            if not tensors or not all(isinstance(t, Tensor) for t in tensors):
                raise TypeError(
                    f"Model '{self.name}': {what} must be symbolic tensors made with Input() "
                    f"and layer calls, received {[type(t).__name__ for t in tensors]}."
                )
        for t in self.inputs:
            if t.node is not None:
                raise ValueError(
                    f"Model '{self.name}': input {t.name!r} is the output of a layer. Expected "
                    f"tensors made by Input(shape)."
                )

        input_ids = {t.id for t in self.inputs}
        nodes, seen = [], set()

        def visit(tensor):  # depth-first, parents before children
            if tensor.node is None:
                if tensor.id not in input_ids:
                    raise ValueError(
                        f"Model '{self.name}': the graph depends on input {tensor.name!r}, "
                        f"which is not among the model's inputs {[t.name for t in self.inputs]}."
                    )
                return
            node = tensor.node
            if id(node) in seen:
                return
            for parent in node.inputs:
                visit(parent)
            seen.add(id(node))
            nodes.append(node)

        for t in self.outputs:
            visit(t)
        self.nodes = nodes
        self.layers = list(dict.fromkeys(node.layer for node in nodes))
        names = Counter(layer.name for layer in self.layers)
        names.update(t.name for t in self.inputs)
        duplicated = sorted(n for n, c in names.items() if c > 1)
        if duplicated:
            raise ValueError(
                f"Model '{self.name}': layer names must be unique, received duplicates "
                f"{duplicated}. Pass name=... to the layers."
            )
        self.multi_input = self._multi_in
        shapes_in = [t.shape[1:] for t in self.inputs]
        shapes_out = [t.shape[1:] for t in self.outputs]
        self.input_shape = shapes_in if self._multi_in else shapes_in[0]
        self.output_shape = shapes_out if self._multi_out else shapes_out[0]
        self.built = True
        for layer in self.layers:
            layer.check_finite = False  # checked once at the model's input
        self._leaf_calls = self._count_leaf_calls()
        self.activations: dict[str, np.ndarray] = {}
        self._caches: dict[str, dict] = {}

    def _count_leaf_calls(self) -> Counter:
        counts = Counter()
        for node in self.nodes:
            layer = node.layer
            counts.update(layer._leaf_calls if isinstance(layer, Model) else {layer: 1})
        return counts

    @property
    def linearity(self) -> str:
        """How the whole graph depends on its input, from its layers' ``linearity``.

        Linear layers only: "linear"; linear and affine: "affine"; linear and
        piecewise-linear (ReLU, max-pooling): "piecewise_linear" (positively
        homogeneous); anything else: "nonlinear". :func:`~minidecnn.gradcheck.check_layer`
        uses it to decide whether the adjoint test applies.
        """
        kinds = {layer.linearity for layer in self.layers}
        for kind, allowed in (
            ("linear", {"linear"}),
            ("affine", {"linear", "affine"}),
            ("piecewise_linear", {"linear", "piecewise_linear"}),
        ):
            if kinds <= allowed:
                return kind
        return "nonlinear"

    @property
    def logits(self) -> str | None:
        """Node key of the logits: the input of a final softmax, else the output node."""
        if len(self.outputs) != 1 or self.outputs[0].node is None:
            return None
        node = self.outputs[0].node
        if isinstance(node.layer, Softmax):
            return node.inputs[0].name
        return node.key

    def get_layer(self, name: str) -> Layer:
        """The layer called ``name`` (searched in nested models too).

        Raises
        ------
        UnknownNameError
            With the closest names, when there is no such layer.
        """
        for layer in self.layers:
            if layer.name == name:
                return layer
        for layer in self.layers:
            if isinstance(layer, Model):
                try:
                    return layer.get_layer(name)
                except UnknownNameError:
                    pass
        names = [layer.name for _, layer in self.named_layers()]
        raise UnknownNameError(
            f"Model '{self.name}': no layer named {name!r}.{did_you_mean(name, names)} "
            f"The layers are: {', '.join(names)}."
        )

    def named_layers(self):
        """``(path, layer)`` for every layer, descending into nested models (``"outer/inner"``)."""
        for layer in self.layers:
            yield layer.name, layer
            if isinstance(layer, Model):
                for path, inner in layer.named_layers():
                    yield f"{layer.name}/{path}", inner

    def node(self, key: str):
        """The node called ``key``: a layer name (its first call) or ``"name:k"``."""
        for node in self.nodes:
            if node.key == key:
                return node
        keys = [n.key for n in self.nodes]
        raise UnknownNameError(
            f"Model '{self.name}': no layer or node named {key!r}.{did_you_mean(key, keys)} "
            f"The nodes are: {', '.join(keys)}."
        )

    def leaf_layers(self) -> list[Layer]:
        """Every non-model layer once, descending into nested models."""
        return list(dict.fromkeys(leaf for layer in self.layers for leaf in layer.leaf_layers()))

    # ------------------------------------------------------------------ forward

    def _check_model_inputs(self, x) -> list[np.ndarray]:
        where = f"Model '{self.name}'"
        if self._multi_in and len(self.inputs) == 1 and not isinstance(x, list | tuple):
            x = [x]  # Model([inp], out), e.g. Model(model.inputs, ...): one array is fine
        if self._multi_in:
            if not isinstance(x, list | tuple) or len(x) != len(self.inputs):
                raise ValueError(
                    f"{where}: expected a list of {len(self.inputs)} arrays (one per input: "
                    f"{[t.name for t in self.inputs]}), received {type(x).__name__}."
                )
            xs = list(x)
        else:
            xs = [x]
        checked = []
        for t, a in zip(self.inputs, xs):
            what = f"input {t.name!r}" if self._multi_in else "input"
            a = as_float_array(a, where, what)
            check_shape(a, t.shape[1:], where, what)
            if self.check_finite:
                check_finite(a, where, what)
            checked.append(a)
        if len({len(a) for a in checked}) > 1:
            raise ShapeError(
                f"{where}: the inputs have different batch sizes "
                f"{[len(a) for a in checked]}. Expected the same N for every input."
            )
        return checked

    def forward(self, x, training: bool = False):
        """Run the graph on ``x`` (an array, or a list for several inputs).

        Keeps every node's output in ``self.activations`` and every layer's cache
        for ``backward``.

        Parameters
        ----------
        x : ndarray of shape (N, *input_shape), or list of them
        training : bool, default False
            Batch statistics in BatchNormalization, active Dropout.

        Returns
        -------
        ndarray of shape (N, *output_shape), or a list for several outputs.
        """
        return self._run(self._check_model_inputs(x), training)

    def _run(self, xs, training):
        values = {t.id: a for t, a in zip(self.inputs, xs)}
        self.activations = {t.name: a for t, a in zip(self.inputs, xs)}
        self._caches = {}
        for node in self.nodes:
            layer = node.layer
            args = [values[t.id] for t in node.inputs]
            y = layer.forward(args if layer.multi_input else args[0], training=training)
            values[node.output.id] = y
            self._caches[node.key] = layer.save_cache()
            self.activations[node.key] = y
            layer.output = y
        outs = [values[t.id] for t in self.outputs]
        return outs if self._multi_out else outs[0]

    def predict(self, x, batch_size: int = 32):
        """Forward ``x`` in batches of ``batch_size`` and return the concatenated outputs."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Model '{self.name}': invalid batch_size. Expected a positive int, "
                f"received batch_size={batch_size!r}."
            )
        xs = self._check_model_inputs(x)
        parts = []
        for s in range(0, len(xs[0]), batch_size):
            out = self._run([a[s : s + batch_size] for a in xs], training=False)
            parts.append(out if self._multi_out else [out])
        if not parts:
            raise ShapeError(f"Model '{self.name}': predict received an empty batch (N=0).")
        outs = [np.concatenate([p[k] for p in parts]) for k in range(len(self.outputs))]
        return outs if self._multi_out else outs[0]

    # ------------------------------------------------------------------ training

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, callbacks=None, **kwargs):
        """Train with mini-batch gradient descent; see :func:`minidecnn.train.fit`.

        Keyword arguments (``loss``, ``optimizer``, ``seed``, ``shuffle``, ``verbose``)
        are passed on. Returns a :class:`~minidecnn.train.History`.
        """
        from .train import fit  # train/ builds on the model, not the other way round

        return fit(self, x, y, epochs, batch_size, validation_data, callbacks, **kwargs)

    def evaluate(self, x, y, batch_size=256, loss="crossentropy") -> dict:
        """Mean loss and accuracy on ``(x, y)``; see :func:`minidecnn.train.evaluate`."""
        from .train import evaluate

        return evaluate(self, x, y, batch_size=batch_size, loss=loss)

    # ------------------------------------------------------------------ backward

    def backward(
        self,
        dout,
        rule: str = "gradient",
        start: str | None = None,
        param_grads=True,
        stop: str | None = None,
    ):
        """Send ``dout`` back through the graph and return the signal at the input(s).

        Parameters
        ----------
        dout : ndarray, or list of ndarray for several outputs
            The top signal, shaped like the model output, or like the output of node
            ``start``.
        rule : {"gradient", "deconvnet", "guided"}
            Which reverse rule each layer applies (only ReLU layers differ).
        start : str, optional
            Layer name (or node key ``"name:k"``) whose output receives ``dout``;
            by default the model outputs. ``start=model.logits`` skips a final softmax.
        param_grads : bool, default True
            With ``rule="gradient"``, also fill every layer's ``grads`` (summed over the
            calls of a shared layer). Attribution passes ``False``.
        stop : str, optional
            Node key: return the signal arriving at this node's output (summed over the
            layers it feeds) instead of the signal at the inputs, and skip the nodes
            below it (their ``grads`` are left untouched). Grad-CAM uses it for the
            gradient at a convolution's output.

        Returns
        -------
        ndarray shaped like the input (or a list for several inputs); with ``stop``,
        shaped like the output of node ``stop``.
        """
        if rule not in RULES:
            raise ValueError(
                f"Model '{self.name}': unknown rule. Expected one of {RULES}, "
                f"received rule={rule!r}."
            )
        if not self._caches:
            raise RuntimeError(
                f"Model '{self.name}': backward called before forward. Run "
                f"model.forward(x) first: the backward pass needs its cache."
            )
        stop_node = None if stop is None else self.node(stop)
        signals = self._seed_signals(dout, start)
        want_grads = param_grads and rule == "gradient"
        shared = {}  # leaf layer -> grads summed over its calls
        reached = set()  # leaf layers whose backward ran
        for node in reversed(self.nodes):
            if node is stop_node:  # every consumer of its output has been visited
                break
            d = signals.pop(node.output.id, None)
            if d is None:
                continue  # this node does not lead to the start
            layer = node.layer
            layer.load_cache(self._caches[node.key])
            dx = layer.reverse(d, rule, param_grads=want_grads)
            if want_grads:
                reached.update(layer.leaf_layers())
                self._sum_shared_grads(layer, shared)
            for t, g in zip(node.inputs, dx if layer.multi_input else [dx]):
                signals[t.id] = g if t.id not in signals else signals[t.id] + g
        for leaf, grads in shared.items():
            leaf.grads = grads
        if want_grads and stop_node is None:
            # layers above `start` do not affect it: zero, not stale, gradients. (With `stop`
            # the layers below it were not visited at all, so their grads are left alone.)
            for leaf in self.leaf_layers():
                if leaf not in reached:
                    leaf.grads = {k: np.zeros_like(v) for k, v in leaf.params.items()}
        if stop_node is not None:
            d = signals.get(stop_node.output.id)
            return np.zeros_like(self.activations[stop_node.key]) if d is None else d
        dxs = [signals.get(t.id, np.zeros_like(self.activations[t.name])) for t in self.inputs]
        return dxs if self._multi_in else dxs[0]

    def _seed_signals(self, dout, start):
        if start is None:
            if self._multi_out and (
                not isinstance(dout, list | tuple) or len(dout) != len(self.outputs)
            ):
                got = f"{len(dout)} signals" if isinstance(dout, list | tuple) else "one array"
                raise ValueError(
                    f"Model '{self.name}': wrong number of output signals. Expected a list "
                    f"of {len(self.outputs)} arrays (one per output: "
                    f"{[t.name for t in self.outputs]}), received {got}."
                )
            seeds = list(zip(self.outputs, dout if self._multi_out else [dout]))
        else:
            seeds = [(self.node(start).output, dout)]
        signals = {}
        where = f"Model '{self.name}'"
        for t, d in seeds:
            d = as_float_array(d, where, "dout")
            expected = self.activations[t.name].shape
            if d.shape != expected:
                raise ShapeError(
                    f"{where}: wrong dout shape for {t.name!r}. Expected {expected} (the "
                    f"shape of its last output), received {d.shape}."
                )
            signals[t.id] = d if t.id not in signals else signals[t.id] + d
        return signals

    def _sum_shared_grads(self, layer, shared):
        """Sum the parameter gradients of layers called more than once (the one place)."""
        for leaf in layer.leaf_layers():
            if self._leaf_calls[leaf] < 2 or not leaf.params:
                continue
            if leaf in shared:
                shared[leaf] = {k: shared[leaf][k] + g for k, g in leaf.grads.items()}
            else:
                shared[leaf] = {k: g.copy() for k, g in leaf.grads.items()}

    def reverse(self, dout, rule="gradient", param_grads=False):
        return self.backward(dout, rule=rule, param_grads=param_grads)

    def deconv(self, dout):
        """DeconvNet pass from the outputs: ``backward(dout, rule="deconvnet")``."""
        return self.backward(dout, rule="deconvnet")

    def guided(self, dout):
        """Guided backpropagation from the outputs: ``backward(dout, rule="guided")``."""
        return self.backward(dout, rule="guided")

    # ------------------------------------------------------------------ caches

    def save_cache(self):
        return {"caches": self._caches, "activations": self.activations}

    def load_cache(self, cache):
        self._caches = cache["caches"]
        self.activations = cache["activations"]

    def clear_cache(self):
        for layer in self.layers:
            layer.clear_cache()
            layer.output = None
        self._caches, self.activations = {}, {}

    # ------------------------------------------------------------------ weights

    @property
    def params(self) -> dict:
        """``{layer path: {param name: array}}`` for every layer with parameters (live arrays)."""
        return {path: layer.params for path, layer in self._named_leaves() if layer.params}

    @params.setter
    def params(self, value):  # Layer.__init__ assigns {}; a model's params are its layers'
        if value:
            raise AttributeError("Set model weights with model.set_weights(...).")

    @property
    def grads(self) -> dict:
        """``{layer path: {param name: gradient}}``, filled by ``backward``."""
        return {path: layer.grads for path, layer in self._named_leaves() if layer.params}

    @grads.setter
    def grads(self, value):
        if value:
            raise AttributeError("Model gradients are the layers' gradients.")

    def _named_leaves(self):
        """``(name, layer)`` for every parameter-owning layer once; full paths on a name clash."""
        full, seen = [], set()
        for path, layer in self.named_layers():
            if isinstance(layer, Model) or id(layer) in seen:
                continue
            seen.add(id(layer))
            full.append((path, layer))
        short = [(layer.name, layer) for _, layer in full]
        return short if len({n for n, _ in short}) == len(short) else full

    def get_weights(self, name: str | None = None) -> dict:
        """Copies of the weights ``{layer: {key: array}}`` (params and buffers), or one layer's."""
        if name is not None:
            layer = self.get_layer(name)
            return {k: v.copy() for k, v in {**layer.params, **layer.buffers}.items()}
        return {
            path: {k: v.copy() for k, v in {**layer.params, **layer.buffers}.items()}
            for path, layer in self._named_leaves()
            if layer.params or layer.buffers
        }

    def set_weights(self, weights: dict, name: str | None = None) -> None:
        """Copy arrays into layers: ``set_weights({"conv1": {"W": ..., "b": ...}})`` or
        ``set_weights({"W": ..., "b": ...}, name="conv1")``. Shapes must match exactly."""
        if name is not None:
            weights = {name: weights}
        leaves = dict(self._named_leaves())
        where = f"Model '{self.name}'"
        writes = []  # everything is checked before anything is written
        for lname, arrays in weights.items():
            layer = leaves.get(lname) or self.get_layer(lname)
            store = {**layer.params, **layer.buffers}
            for key, value in arrays.items():
                if key not in store:
                    raise UnknownNameError(
                        f"{where}: layer {lname!r} has no weight {key!r}."
                        f"{did_you_mean(key, store)} Expected one of {sorted(store)}."
                    )
                value = as_float_array(value, where, f"weight {lname}.{key}")
                if value.shape != store[key].shape:
                    raise ShapeError(
                        f"{where}: wrong shape for {lname}.{key}. Expected "
                        f"{store[key].shape}, received {value.shape}."
                    )
                check_finite(value, where, f"weight {lname}.{key}")
                writes.append((store[key], value))
        for target, value in writes:
            target[...] = value

    def load_weights(
        self, path, by_name: bool = False, kernel_convention="auto", data_format=None
    ) -> Model:
        """Load Keras weights (legacy ``.h5``, ``.weights.h5``, ``.keras``) into this model.

        Delegates to :func:`minidecnn.keras.load_weights`, which documents the options.
        Returns self; on any error the weights are left unchanged.
        """
        from .keras.weights import load_weights

        return load_weights(self, path, by_name, kernel_convention, data_format)

    def astype(self, dtype) -> Model:
        """Convert every layer's parameters to ``dtype``; returns self."""
        for leaf in self.leaf_layers():
            leaf.astype(dtype)
        self.dtype = np.dtype(dtype)
        return self

    def reinitialize(self, seed=None, layers=None) -> None:
        """Draw fresh parameters for ``layers`` (names; default all), seeded reproducibly."""
        rng = np.random.default_rng(seed)
        targets = self.leaf_layers() if layers is None else [self.get_layer(n) for n in layers]
        for layer in targets:
            layer.reinitialize(int(rng.integers(2**31)))

    def save_weights(self, path) -> None:
        """Write the weights as a Keras 3 ``.weights.h5`` file (see ``minidecnn.keras``)."""
        from .keras.export import save_weights

        save_weights(self, path)

    def save(self, path) -> None:
        """Write a ``.keras`` archive that real Keras 3 loads (see ``minidecnn.save_keras``)."""
        from .keras.export import save_keras

        save_keras(self, path)

    def count_params(self) -> int:
        return sum(leaf.count_params() for leaf in self.leaf_layers())

    # ------------------------------------------------------------------ summary

    def summary(self, print_fn=print):
        """Print a table of layers, output shapes, parameter counts and connections.

        With ``print_fn=None`` the table is returned as a string instead.
        """
        rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
        for t in self.inputs:
            rows.append((f"{t.name} (Input)", str(t.shape), "0", ""))
        for node in self.nodes:
            layer = node.layer
            params = layer.count_params() if node.call_index == 0 else 0
            rows.append(
                (
                    f"{node.key} ({type(layer).__name__})",
                    str(node.output.shape),
                    f"{params:,}",
                    ", ".join(t.name for t in node.inputs),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        lines = [f'Model: "{self.name}"', line]
        for k, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if k == 0:
                lines.append(line)
        n_train = sum(v.size for leaf in self.leaf_layers() for v in leaf.params.values())
        lines += [
            line,
            f"Total params: {self.count_params():,}",
            f"Trainable params: {n_train:,}",
            f"Non-trainable params: {self.count_params() - n_train:,}",
        ]
        text = "\n".join(lines)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    def __repr__(self):
        return (
            f"<{type(self).__name__} {self.name!r}: {len(self.layers)} layers, "
            f"input {self.input_shape}, output {self.output_shape}>"
        )


class Sequential(Model):
    """A model that applies its layers one after the other.

    Parameters
    ----------
    layers : list of Layer, optional
        May start with ``Input(shape)`` (Keras 3 style).
    name : str, optional
    input_shape : tuple, optional
        Build at once for this shape; otherwise the model builds on its first
        ``forward`` from the shape of the data.

    Examples
    --------
    >>> from minidecnn.layers import Conv2D, ReLU, MaxPool2D, Flatten, Dense
    >>> model = Sequential([Input((8, 8, 1)), Conv2D(4, 3, padding="same"), ReLU(),
    ...                     MaxPool2D(2), Flatten(), Dense(3)])
    >>> model.forward(np.zeros((2, 8, 8, 1), np.float32)).shape
    (2, 3)
    """

    def __init__(self, layers=None, name: str | None = None, input_shape=None):
        Layer.__init__(self, name=name)
        self._layer_list: list[Layer] = []
        self._input = None
        self.layers, self.nodes = [], []
        self.activations, self._caches = {}, {}
        for item in layers or []:
            self.add(item)
        if input_shape is not None:
            self._input = Input(input_shape)
        if self._input is not None and self._layer_list:
            self._build_graph()

    def add(self, layer) -> None:
        """Append a layer (or, first of all, an ``Input`` tensor)."""
        if isinstance(layer, Tensor):
            if layer.node is not None or self._layer_list or self._input is not None:
                raise ValueError(f"Sequential '{self.name}': an Input tensor may only come first.")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential '{self.name}': expected a Layer, received {type(layer).__name__}."
            )
        self._layer_list.append(layer)
        if self.built:
            self._build_graph()

    def _build_graph(self):
        x = self._input
        for layer in self._layer_list:
            layer._n_calls = 0  # the layers of a Sequential are called once, here
            x = layer(x)
        self._set_graph(self._input, x)

    def build(self, input_shape, seed=None):
        if self._input is None:
            self._input = Input(input_shape)
        self._build_graph()

    def forward(self, x, training=False):
        if not self.built:
            if not self._layer_list:
                raise ValueError(f"Sequential '{self.name}': add layers before calling forward.")
            shape = np.shape(x)
            if len(shape) < 2:
                raise ShapeError(
                    f"Sequential '{self.name}': wrong input rank. Expected a batch (N, ...), "
                    f"received an array of shape {shape}."
                )
            self.build(shape[1:])
        return super().forward(x, training=training)

    def summary(self, print_fn=print):
        if not self.built:
            raise RuntimeError(
                f"Sequential '{self.name}' is not built yet: give it an Input first, pass "
                f"input_shape=..., or run forward once."
            )
        return super().summary(print_fn)
