"""Targets: which number a method explains, and the top signal its backward pass starts from.

Every method explains one scalar per image, ``F(x)``, written at a node ``a`` of the
model (the logits by default) as ``F(x) = <T, a(x)>`` with a *top signal* ``T``
shaped like ``a``. The backward pass starts at that node with ``dout = T``:

====================================  ===================================================
``target=`` (and ``layer=``)           what is explained, and the top signal ``T``
====================================  ===================================================
``None``                              the predicted class ``c`` of each image: the logit
                                      ``z_c``, ``T = e_c`` at ``model.logits`` (a final
                                      softmax is skipped, as Simonyan et al. do)
``int c``                             the logit of class ``c`` for every image
list of ints (one per image)          a class per image
``probability=True``                  the softmax output ``p_c`` instead (the original
                                      Keras tutorial); at the logits ``T = p_c (e_c - p)``
float array ``(K,)`` or ``(N, K)``    a weighting of the logits, ``T`` = that array
``layer=L``, ``target=None``          the single strongest activation of ``L`` per image,
                                      kept with its value, every other one zeroed
``layer=L``, ``int k``                channel ``k`` at its strongest position per image
                                      (Zeiler & Fergus: ``T`` holds that activation's
                                      value there and 0 everywhere else)
``layer=L``, list of ints             a channel per image
``layer=L``, tuple ``(h, w, c)``      one unit; ``T`` = 1 there (``da[h, w, c]/dx``)
``layer=L``, float array              a mask shaped like ``L``'s output (``(H, W, C)`` or
                                      ``(N, H, W, C)``): ``T`` = the mask (the tutorial's
                                      ``masking``; it differentiated ``mean(a * mask)``,
                                      which differs only by the factor ``1/size``)
callable ``f``                        ``T = f(a)``, computed from the node's output on
                                      every forward pass (``f`` returns the gradient of
                                      your objective with respect to ``a``)
====================================  ===================================================

Integer arrays are indices (classes or channels); float and boolean arrays are masks.
A tuple is a unit when ``layer`` is given and a list of classes otherwise.

The classes, positions and values are chosen once, on the clean input; SmoothGrad,
Integrated Gradients and occlusion then explain that same ``F`` at every noisy,
scaled or occluded copy.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import TargetError, did_you_mean
from ..layers.activations import Softmax
from ..layers.base import Layer

#: how many per-image values a description lists before it summarises
_SHOW = 6


def _is_index(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_sequence(value) -> np.ndarray | None:
    """``value`` as a 1-D int64 array if it is a list/tuple/array of ints, else None."""
    if isinstance(value, list | tuple) and value and all(_is_index(v) for v in value):
        return np.asarray(value, dtype=np.int64)
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu":
        return value.astype(np.int64)
    return None


def _float_array(value) -> np.ndarray | None:
    """``value`` as a float array if it is a numeric array-like meant as a mask, else None."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fb":
            return value.astype(np.float64) if value.dtype.kind == "b" else value
        return None
    if isinstance(value, list):
        try:
            arr = np.asarray(value)
        except ValueError:
            return None
        if arr.dtype.kind == "f":
            return arr
    return None


def _short(values) -> str:
    """A compact listing: all values for a small batch, the first few for a large one."""
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    if all(v == values[0] for v in values):  # one value, or the same for every image
        return str(values[0])
    if len(values) <= _SHOW:
        return str(values)
    return "[" + ", ".join(map(str, values[:_SHOW])) + f", ...] ({len(values)} images)"


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so it never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Target:
    """A resolved target: the node where the top signal enters, and how to build it.

    Attributes
    ----------
    kind : str
        ``"class"``, ``"probability"``, ``"logit_mask"``, ``"strongest"``, ``"channel"``,
        ``"unit"``, ``"mask"`` or ``"callable"``.
    node : str
        Node key where the backward pass starts (``model.backward(start=node)``).
    layer : str or None
        The layer the user named (``None`` for class targets).
    shape : tuple
        Output shape of ``node`` without the batch axis.
    n_images : int
    indices : ndarray or None
        ``(N,)`` classes, or ``(N, rank)`` positions in the node's output.
    values : ndarray or None
        ``(N,)`` activation values kept in the top signal (``"strongest"``, ``"channel"``).
    mask : ndarray or None
        ``(N, *shape)`` or ``(1, *shape)`` top signal (``"mask"``, ``"logit_mask"``).
    fn : callable or None
    predicted : bool
        Whether the classes were the model's predictions.
    channels : ndarray or None
        ``(N,)`` channel per image for ``"channel"`` targets.
    softmax_node : str or None
        For ``"probability"``: the final Softmax node, or None when explain applies the
        softmax to the logits itself.
    """

    kind: str
    node: str
    layer: str | None
    shape: tuple
    n_images: int
    indices: np.ndarray | None = None
    values: np.ndarray | None = None
    mask: np.ndarray | None = None
    fn: object = None
    predicted: bool = False
    channels: np.ndarray | None = None
    softmax_node: str | None = None
    where: str = "explain"

    # ------------------------------------------------------------------ the top signal

    def signal(self, out: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The top signal ``T`` for a batch whose row ``b`` belongs to image ``rows[b]``.

        Parameters
        ----------
        out : ndarray of shape (B, *shape)
            The output of ``node`` on the batch.
        rows : ndarray of int, shape (B,)
        """
        B = len(out)
        if self.kind in ("class", "probability"):
            c = self.indices[rows]
            dout = np.zeros_like(out)
            if self.kind == "probability" and self.softmax_node is None:
                p = softmax(out)  # no Softmax layer: dp_c/dz = p_c (e_c - p)
                p_c = p[np.arange(B), c]
                dout -= p_c[:, None] * p
                dout[np.arange(B), c] += p_c
            else:
                dout[np.arange(B), c] = 1
            return dout
        if self.kind in ("strongest", "channel", "unit"):
            dout = np.zeros_like(out)
            pos = tuple(self.indices[rows].T)
            dout[(np.arange(B), *pos)] = 1 if self.kind == "unit" else self.values[rows]
            return dout
        if self.kind in ("mask", "logit_mask"):
            m = self.mask[rows] if len(self.mask) > 1 else self.mask[[0] * B]
            return m.astype(out.dtype, copy=False)
        dout = self.fn(out)  # "callable"
        dout = np.asarray(dout)
        if dout.shape != out.shape or dout.dtype.kind not in "fiub":
            raise TargetError(
                f"{self.where}: the target function returned the wrong top signal. Expected "
                f"a numeric array shaped like the output of {self.node!r}, {out.shape}, "
                f"received {type(dout).__name__} of shape {dout.shape}. The function gets "
                f"that output and must return d(objective)/d(output), for example "
                f"lambda a: a * (a > 0)."
            )
        if not np.isfinite(dout).all():
            raise TargetError(
                f"{self.where}: the target function returned NaN or infinite values. "
                f"Expected a finite top signal, received {int((~np.isfinite(dout)).sum())} "
                f"non-finite entries."
            )
        return dout.astype(out.dtype, copy=False)

    def score(self, out: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The explained scalar ``F`` for each row of a batch, shape ``(B,)``.

        ``F = <T, a>`` for the linear targets; the probability ``p_c`` for
        ``probability=True``. Callables define a top signal, not a score, so they
        have none (occlusion and the completeness check need one).
        """
        B = len(out)
        if self.kind == "class":
            return out[np.arange(B), self.indices[rows]]
        if self.kind == "probability":
            p = out if self.softmax_node is not None else softmax(out)
            return p[np.arange(B), self.indices[rows]]
        if self.kind == "callable":
            raise TargetError(
                f"{self.where}: a target function gives a top signal, not a score. "
                f"Expected a class, channel, unit or mask target for this method, received "
                f"the callable {getattr(self.fn, '__name__', self.fn)!r}."
            )
        T = self.signal(out, rows)
        return (T * out).reshape(B, -1).sum(axis=1)

    # ------------------------------------------------------------------ description

    def explains(self) -> str:
        """One sentence: which number is explained."""
        at = f"node {self.node!r}"
        if self.kind == "class":
            return f"F = z_c, the logit of class c at {at} (before any softmax)"
        if self.kind == "probability":
            if self.softmax_node is None:
                return f"F = p_c = softmax(z)_c of the logits at {at} (softmax applied by explain)"
            return f"F = p_c, the softmax output of class c at node {self.softmax_node!r}"
        if self.kind == "logit_mask":
            return f"F = <T, z>, a weighting T of the logits at {at}"
        if self.kind == "strongest":
            return (
                f"F = v * a[h, w, c], the strongest activation of {at} per image, kept "
                f"with its value v while every other activation of that layer is zeroed "
                f"(Zeiler & Fergus)"
            )
        if self.kind == "channel":
            return (
                f"F = v * a[h, w, c] for channel c of {at} at its strongest position "
                f"(h, w) per image, kept with its value v while every other activation "
                f"of that layer is zeroed (Zeiler & Fergus)"
            )
        if self.kind == "unit":
            return f"F = a[unit], one unit of {at} (top signal 1 there, 0 elsewhere)"
        if self.kind == "mask":
            return f"F = <mask, a>, the output of {at} weighted by the mask (the top signal)"
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        return f"the top signal T = {name}(a) computed from the output a of {at}"

    def as_info(self) -> dict:
        """The target as plain Python values for ``Explanation.info``."""
        info = {
            "kind": self.kind,
            "node": self.node,
            "layer": self.layer,
            "explains": self.explains(),
            "scale": {"class": "logit", "probability": "probability", "logit_mask": "logit"}.get(
                self.kind, "activation"
            ),
        }
        if self.kind in ("class", "probability"):
            info["classes"] = self.indices.tolist()
            info["predicted"] = self.predicted
        if self.kind in ("strongest", "channel", "unit"):
            info["positions"] = [tuple(int(i) for i in p) for p in self.indices]
        if self.kind in ("strongest", "channel"):
            info["values"] = [float(v) for v in self.values]
        if self.kind == "channel":
            info["channels"] = self.channels.tolist()
        if self.kind in ("mask", "logit_mask"):
            info["mask_shape"] = tuple(self.mask.shape)
        if self.kind == "callable":
            info["function"] = getattr(self.fn, "__name__", type(self.fn).__name__)
        if self.softmax_node is not None:
            info["softmax_node"] = self.softmax_node
        return info

    def summary(self) -> str:
        """The per-image choices in a line (classes, channels, positions)."""
        if self.kind in ("class", "probability"):
            return f"c = {_short(self.indices)}" + (" (predicted)" if self.predicted else "")
        if self.kind == "channel":
            pos = [tuple(int(i) for i in p[:-1]) for p in self.indices]
            return (
                f"channel c = {_short(self.channels)} at (h, w) = {_short(pos)}, "
                f"v = {_short([round(float(v), 6) for v in self.values])}"
            )
        if self.kind == "strongest":
            pos = [tuple(int(i) for i in p) for p in self.indices]
            vals = [round(float(v), 6) for v in self.values]
            return f"position = {_short(pos)}, v = {_short(vals)}"
        if self.kind == "unit":
            return f"unit {tuple(int(i) for i in self.indices[0])}"
        if self.kind in ("mask", "logit_mask"):
            per = "one per image" if len(self.mask) > 1 else "the same for every image"
            return f"mask of shape {tuple(self.mask.shape[1:])}, {per}"
        return self.explains()


# ---------------------------------------------------------------------- resolution


def find_node(model, layer, where: str) -> str:
    """The node key for ``layer`` (a name, node key or Layer), or a :class:`TargetError`."""
    if isinstance(layer, Layer):
        name = layer.name
    elif isinstance(layer, str):
        name = layer
    else:
        raise TargetError(
            f"{where}: invalid layer. Expected a layer name (str), received "
            f"{type(layer).__name__} {layer!r}. Use model.summary() to see the names."
        )
    keys = [node.key for node in model.nodes]
    if name in keys:
        return name
    for path, _ in model.named_layers():
        if "/" in path and path.rsplit("/", 1)[1] == name:
            outer = path.split("/", 1)[0]
            raise TargetError(
                f"{where}: layer {name!r} is inside the nested model {outer!r}. Expected a "
                f"layer of the top-level model, received layer={name!r}. Explain the nested "
                f"model itself (inner = model.get_layer({outer!r})) or choose one of the "
                f"top-level layers: {', '.join(keys)}."
            )
    listing = f" The layers are: {', '.join(keys)}." if len(keys) <= 40 else ""
    raise TargetError(
        f"{where}: unknown layer {name!r}.{did_you_mean(name, keys)} Expected the name of a "
        f"layer of model '{model.name}', received layer={name!r}.{listing}"
    )


def _logits_node(model, where: str) -> str:
    key = model.logits
    if key is None:
        raise TargetError(
            f"{where}: the model has {len(model.outputs)} outputs, so there are no single "
            f"logits to take a class from. Expected a model with one output, received "
            f"outputs {[t.name for t in model.outputs]}. Pass layer=<one of them> and a "
            f"unit, channel or mask target."
        )
    return key


def _final_softmax(model) -> str | None:
    if len(model.outputs) == 1 and model.outputs[0].node is not None:
        node = model.outputs[0].node
        if isinstance(node.layer, Softmax):
            return node.key
    return None


def _check_mask(mask, shape, n, node, where) -> np.ndarray:
    if mask.shape == tuple(shape):
        mask = mask[None]
    elif mask.shape != (n, *shape):
        raise TargetError(
            f"{where}: the mask has the wrong shape. Expected {tuple(shape)} (one mask for "
            f"every image) or {(n, *shape)} (one per image), the output shape of "
            f"{node!r}, received {mask.shape}. Start from "
            f"np.zeros_like(model.activations[{node!r}][0])."
        )
    if not np.isfinite(mask).all():
        raise TargetError(
            f"{where}: the mask contains NaN or infinite values. Expected finite numbers, "
            f"received {int((~np.isfinite(mask)).sum())} non-finite entries."
        )
    return mask


def _check_range(index, size, what, node, where, received):
    if not 0 <= index < size:
        raise TargetError(
            f"{where}: {what} {index} is out of range. Expected an int in [0, {size - 1}] "
            f"(the output of {node!r} has {size} entries), received target={received!r}."
        )


def resolve_target(model, target=None, layer=None, probability=False, where="explain"):
    """Turn a user's ``target``/``layer`` into a :class:`Target`, after ``model.forward(x)``.

    Reads ``model.activations`` (the predicted classes, the strongest positions and
    their values come from the last forward pass).

    Raises
    ------
    TargetError
        With what was expected, what was received and how to fix it.
    """
    if not model.activations:
        raise RuntimeError(f"{where}: resolve_target needs a forward pass first.")
    n = len(model.activations[model.inputs[0].name])
    if not isinstance(probability, bool | np.bool_):
        raise TargetError(
            f"{where}: invalid probability. Expected True or False, received {probability!r}."
        )
    if layer is None:
        return _class_target(model, target, n, bool(probability), where)
    if probability:
        raise TargetError(
            f"{where}: probability=True explains a class probability at the softmax, so it "
            f"cannot be combined with layer={layer!r}. Expected layer=None with "
            f"probability=True, received layer={layer!r}. Drop one of the two."
        )
    node = find_node(model, layer, where)
    return _layer_target(model, target, node, n, where)


def _class_target(model, target, n, probability, where) -> Target:
    node = _logits_node(model, where)
    out = model.activations[node]
    shape = out.shape[1:]
    common = {"node": node, "layer": None, "shape": shape, "n_images": n, "where": where}
    if callable(target) and not probability:
        return Target(kind="callable", fn=target, **common)
    mask = _float_array(target)
    if mask is not None and not probability:
        return Target(kind="logit_mask", mask=_check_mask(mask, shape, n, node, where), **common)
    if len(shape) != 1:
        raise TargetError(
            f"{where}: the output of {node!r} has shape {shape}, not (K,) class scores, so "
            f"a class target does not apply. Expected a classifier, received an output of "
            f"shape (N, {', '.join(map(str, shape))}). Pass layer={node!r} with a unit, "
            f"channel or mask target."
        )
    K = shape[0]
    seq = _int_sequence(target)
    if target is None:
        classes, predicted = out.argmax(axis=1), True
    elif _is_index(target):
        _check_range(int(target), K, "class", node, where, target)
        classes, predicted = np.full(n, int(target), np.int64), False
    elif seq is not None:
        if len(seq) != n:
            raise TargetError(
                f"{where}: one class per image is needed. Expected {n} classes (the batch "
                f"has {n} images), received {len(seq)}: {_short(seq)}."
            )
        for c in seq:
            _check_range(int(c), K, "class", node, where, target)
        classes, predicted = seq, False
    else:
        allowed = "None, an int class or one int per image"
        if not probability:
            allowed += ", a float array weighting the logits, or a callable"
        raise TargetError(
            f"{where}: invalid target. Expected {allowed}, received "
            f"{type(target).__name__} {target!r}."
            + (" With probability=True only class targets apply." if probability else "")
        )
    kind, softmax_node = "class", None
    if probability:
        kind, softmax_node = "probability", _final_softmax(model)
        if softmax_node is not None:  # start at the softmax: its layer does the Jacobian
            node = softmax_node
            common.update(node=node, shape=model.activations[node].shape[1:])
    return Target(
        kind=kind,
        indices=np.asarray(classes, np.int64),
        predicted=predicted,
        softmax_node=softmax_node,
        **common,
    )


def _layer_target(model, target, node, n, where) -> Target:
    out = model.activations[node]
    shape = out.shape[1:]
    common = {"node": node, "layer": node, "shape": shape, "n_images": n, "where": where}
    if callable(target):
        return Target(kind="callable", fn=target, **common)
    mask = _float_array(target)
    if mask is not None:
        return Target(kind="mask", mask=_check_mask(mask, shape, n, node, where), **common)
    flat = out.reshape(n, -1)
    if target is None:
        idx = flat.argmax(axis=1)
        positions = np.stack(np.unravel_index(idx, shape), axis=1)
        values = flat[np.arange(n), idx]
        return Target(kind="strongest", indices=positions, values=values, **common)
    if isinstance(target, tuple) and all(_is_index(t) for t in target):
        if len(target) != len(shape):
            raise TargetError(
                f"{where}: a unit needs {len(shape)} indices for the output of {node!r} "
                f"(shape {shape}). Expected a tuple like {tuple(s - 1 for s in shape)}, "
                f"received {target!r}."
            )
        for i, (t, s) in enumerate(zip(target, shape)):
            if not 0 <= t < s:
                raise TargetError(
                    f"{where}: unit index {t} (axis {i}) is out of range for the output of "
                    f"{node!r}. Expected 0 <= index < {s} on that axis (shape {shape}), "
                    f"received target={target!r}."
                )
        positions = np.tile(np.asarray(target, np.int64), (n, 1))
        return Target(kind="unit", indices=positions, **common)
    C = shape[-1]
    seq = _int_sequence(target)
    if _is_index(target):
        channels = np.full(n, int(target), np.int64)
    elif seq is not None and not isinstance(target, tuple):
        if len(seq) != n:
            raise TargetError(
                f"{where}: one channel per image is needed. Expected {n} channels (the "
                f"batch has {n} images), received {len(seq)}: {_short(seq)}. For one unit "
                f"pass a tuple (h, w, c)."
            )
        channels = seq
    else:
        raise TargetError(
            f"{where}: invalid target for layer {node!r}. Expected None (its strongest "
            f"activation), an int channel, one int channel per image (a list), a unit "
            f"tuple of {len(shape)} ints, a float mask of shape {shape}, or a callable; "
            f"received {type(target).__name__} {target!r}."
        )
    for c in channels:
        if not 0 <= c < C:
            raise TargetError(
                f"{where}: channel {int(c)} is out of range. Expected an int in [0, {C - 1}] "
                f"({C} channels at {node!r}), received target={target!r}."
            )
    # Zeiler & Fergus: each image's strongest activation of the channel, with its value.
    maps = out[np.arange(n), ..., channels].reshape(n, -1)
    idx = maps.argmax(axis=1)
    spatial = np.stack(np.unravel_index(idx, shape[:-1]), axis=1) if len(shape) > 1 else None
    positions = channels[:, None] if spatial is None else np.column_stack([spatial, channels])
    values = maps[np.arange(n), idx]
    return Target(kind="channel", indices=positions, values=values, channels=channels, **common)
