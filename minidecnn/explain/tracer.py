"""A backward tracer for teaching: watch the three rules part ways, layer by layer.

For one input and one target, :func:`trace` runs the forward pass once and then
the backward pass three times — ``"gradient"`` (Simonyan et al.),
``"deconvnet"`` (Zeiler & Fergus) and ``"guided"`` (Springenberg et al.) — and
records, for every node it passes, the signal that enters it (at the node's
output) and the signal that leaves it (at the node's input). At every ReLU it
also records

* the forward mask ``z > 0`` (the same for all rules),
* the backward mask ``g > 0`` of the signal ``g`` arriving from above (per rule),
* how many units the rule zeroes there: units whose arriving signal is nonzero
  and whose departing signal is zero.

Only ReLUs differ between the rules::

    gradient   dz = g * 1[z > 0]
    deconvnet  dz = max(g, 0)
    guided     dz = max(g, 0) * 1[z > 0]

so the rows above the first ReLU are identical, and the rows below it show how
the three signals drift apart. ``print(trace)`` prints the table;
:func:`minidecnn.plot.plot_trace` draws it.

The tracer walks the nodes exactly as :meth:`Model.backward` does (reverse
topological order, signals summed where a tensor feeds several layers); the
signal it ends with at the input is the one ``model.backward`` returns.

Examples
--------
>>> import numpy as np
>>> import minidecnn as mdc
>>> from minidecnn.layers import Conv2D, ReLU, Flatten, Dense
>>> model = mdc.Sequential([mdc.Input((6, 6, 1)), Conv2D(3, 3, seed=0, name="conv"),
...                         ReLU(name="relu"), Flatten(name="flat"), Dense(4, seed=1, name="fc")])
>>> t = trace(model, np.random.default_rng(0).standard_normal((6, 6, 1)), target=2)
>>> [row.key for row in t.rows]
['fc', 'flat', 'relu', 'conv']
>>> r = t.row("relu").relu                  # what the ReLU did under each rule
>>> r.n_units, sorted(r.zeroed)
(48, ['deconvnet', 'gradient', 'guided'])
>>> bool(np.array_equal(t.input_signal["gradient"],
...                     model.backward(t.top, rule="gradient", start="fc", param_grads=False)))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import as_float_array
from ..errors import MinidecnnError, ShapeError
from ..layers.activations import ReLU
from ..model import Model
from .targets import resolve_target

TRACE_RULES = ("gradient", "deconvnet", "guided")


@dataclass
class ReluRecord:
    """What one ReLU did to the signal under each rule.

    Attributes
    ----------
    forward_mask : ndarray of bool, shape of the ReLU's output
        ``z > 0``.
    backward_mask : dict of str to ndarray of bool
        ``g > 0`` for the signal ``g`` arriving under each rule.
    zeroed : dict of str to int
        Units with ``g != 0`` whose departing signal is 0, per rule.
    """

    forward_mask: np.ndarray
    backward_mask: dict
    zeroed: dict

    @property
    def n_units(self) -> int:
        return int(self.forward_mask.size)


@dataclass
class TraceRow:
    """One node of the backward walk.

    Attributes
    ----------
    key : str
        Node key (layer name, or ``"name:k"`` for a second call).
    layer_type : str
    inputs : list of str
        Keys of the tensors the node reads.
    forward : ndarray
        The node's forward output (batch axis kept, N = 1).
    signal_in : dict of str to ndarray
        Per rule, the signal arriving at the node's output.
    signal_out : dict of str to ndarray or list of ndarray
        Per rule, the signal the node sends to its input(s).
    relu : ReluRecord or None
    """

    key: str
    layer_type: str
    inputs: list
    forward: np.ndarray
    signal_in: dict = field(default_factory=dict)
    signal_out: dict = field(default_factory=dict)
    relu: ReluRecord | None = None


@dataclass
class Trace:
    """The record of :func:`trace`: ``rows`` from the start layer down to the input."""

    model_name: str
    start: str
    target_text: str
    x: np.ndarray
    top: np.ndarray
    rows: list
    input_signal: dict
    rules: tuple

    def row(self, key: str) -> TraceRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(
            f"Trace: no row {key!r}. Expected one of {[r.key for r in self.rows]}, "
            f"received {key!r}."
        )

    def table(self) -> str:
        """The trace as a fixed-width text table (what ``print(trace)`` shows)."""
        head = [
            f"Backward trace of model {self.model_name!r} for {self.target_text}, input "
            f"{self.x.shape}.",
            "Each rule: L2 norm of the signal entering -> leaving the node, and the "
            "fraction of nonzero units leaving it.",
        ]
        cols = ["node", "type", "output shape", *self.rules]
        body = []
        for r in self.rows:
            cells = [r.key, r.layer_type, str(r.forward.shape[1:])]
            for rule in self.rules:
                out = r.signal_out[rule]
                outs = out if isinstance(out, list) else [out]
                n_out = sum(o.size for o in outs)
                nz = sum(int(np.count_nonzero(o)) for o in outs)
                norm_out = float(np.sqrt(sum(float(np.sum(o * o)) for o in outs)))
                norm_in = float(np.linalg.norm(r.signal_in[rule]))
                cells.append(f"{norm_in:.3g} -> {norm_out:.3g} ({nz}/{n_out})")
            body.append(cells)
            if r.relu is not None:
                rel = r.relu
                active = int(rel.forward_mask.sum())
                parts = [f"z>0: {active}/{rel.n_units}"]
                for rule in self.rules:
                    g_pos = int(rel.backward_mask[rule].sum())
                    parts.append(f"{rule}: g>0 {g_pos}, zeroes {rel.zeroed[rule]}")
                body.append(["", "  ReLU masks", "; ".join(parts)])
        plain = [cols, *(c for c in body if c[1] != "  ReLU masks")]
        widths = [max(len(c[i]) for c in plain) for i in range(len(cols))]
        lines = [*head, "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
        lines.append("  ".join("-" * w for w in widths))
        for cells in body:
            if cells[1] == "  ReLU masks":
                lines.append(f"{'':{widths[0]}}  {cells[1]}: {cells[2]}")
            else:
                lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        return "\n".join(lines)

    def __str__(self):
        return self.table()


# ----------------------------------------------------------------------------- the walk


def _walk(model: Model, key: str, top: np.ndarray, rule: str, rows: dict):
    """Model.backward's walk, recording what enters and leaves each node."""
    start = model.node(key)
    signals = {start.output.id: top}
    for node in reversed(model.nodes):
        d = signals.pop(node.output.id, None)
        if d is None:
            continue  # this node does not lead to the start
        layer = node.layer
        layer.load_cache(model._caches[node.key])
        dx = layer.reverse(d, rule, param_grads=False)
        row = rows.get(node.key)
        if row is None:
            row = rows[node.key] = TraceRow(
                key=node.key,
                layer_type=type(layer).__name__,
                inputs=[t.name for t in node.inputs],
                forward=model.activations[node.key],
            )
        row.signal_in[rule] = d
        row.signal_out[rule] = dx
        if isinstance(layer, ReLU):
            if row.relu is None:
                row.relu = ReluRecord(layer.z > 0, {}, {})
            row.relu.backward_mask[rule] = d > 0
            row.relu.zeroed[rule] = int(np.count_nonzero((d != 0) & (dx == 0)))
        for t, g in zip(node.inputs, dx if layer.multi_input else [dx]):
            signals[t.id] = g if t.id not in signals else signals[t.id] + g
    t = model.inputs[0]
    return signals.get(t.id, np.zeros_like(model.activations[t.name]))


def trace(model: Model, x, target, layer: str | None = None, rules=TRACE_RULES) -> Trace:
    """Record the backward signals of the three rules through every layer.

    Parameters
    ----------
    model : Model or Sequential
        With one input.
    x : ndarray of shape (H, W, C) or (1, H, W, C)
        One input.
    target : int, tuple, ndarray, callable or None
        As in every :mod:`minidecnn.explain` method (see
        :func:`~minidecnn.explain.targets.resolve_target`): without ``layer`` a class
        at ``model.logits`` (None: the predicted class); with ``layer`` an int is a
        channel at its strongest position (kept with its value), a tuple ``(h, w, c)``
        one unit, an array a mask shaped like the layer's output.
    layer : str, optional
        Where the top signal starts.
    rules : sequence of str, default ("gradient", "deconvnet", "guided")

    Returns
    -------
    Trace
        ``rows`` in backward order (from the start node down), ``input_signal[rule]``
        the final maps, ``top`` the signal placed on the start node.
    """
    if not isinstance(model, Model):
        raise TypeError(
            f"trace: expected a minidecnn Model or Sequential, received {type(model).__name__}."
        )
    if len(model.inputs) != 1:
        raise MinidecnnError(
            f"trace: the tracer follows models with one input. Expected 1 input, received "
            f"{len(model.inputs)}."
        )
    rules = tuple(rules)
    for rule in rules:
        if rule not in TRACE_RULES:
            raise ValueError(
                f"trace: unknown rule. Expected rules among {TRACE_RULES}, received {rule!r}."
            )
    x = as_float_array(x, "trace", "input")
    if x.ndim == len(model.input_shape):
        x = x[None]
    if len(x) != 1:
        raise ShapeError(
            f"trace: the tracer follows one input. Expected shape (1, ...) or one example "
            f"without the batch axis, received a batch of {len(x)}. Pass x[i]."
        )
    model.forward(x)
    resolved = resolve_target(model, target, layer, where="trace")
    key = resolved.node
    top = resolved.signal(model.activations[key], np.arange(1))
    text = f"{resolved.explains()}; {resolved.summary()}"
    rows: dict[str, TraceRow] = {}
    signals = {rule: _walk(model, key, top, rule, rows) for rule in rules}
    ordered = [rows[n.key] for n in reversed(model.nodes) if n.key in rows]
    return Trace(model.name, key, text, x, top, ordered, signals, rules)
