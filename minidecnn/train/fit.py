"""The training loop: mini-batch gradient descent on a model, with a progress bar.

One training step is the whole of backpropagation in four lines::

    model.forward(x_batch, training=True)                # keeps every layer's cache
    z = model.activations[start]                          # the logits for cross-entropy
    loss, dz = loss_fn(z, y_batch)                         # value and dL/dz together
    model.backward(dz, start=start)                       # fills every layer.grads
    optimizer.step(model)                                 # w <- w - lr * (...)

With the (default) softmax cross-entropy, ``start`` is ``model.logits``: a final
``Softmax`` layer is skipped, because the loss contains the softmax and its
gradient ``p - y`` is exact and stable. Other losses start at the model output.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..errors import ShapeError
from .callbacks import Callback, History
from .losses import get_loss, softmax_cross_entropy
from .optimizers import get_optimizer


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(
            f"fit: invalid value for argument `{name}`. Expected a positive int, "
            f"received {name}={value!r}."
        )
    return int(value)


def _check_data(model, x, y, what):
    x = np.asarray(x)
    y = np.asarray(y)
    if model._multi_in or model._multi_out:
        raise ValueError(
            f"fit: model '{model.name}' has {len(model.inputs)} inputs and "
            f"{len(model.outputs)} outputs. Expected one input and one output; train "
            f"several-input models with your own loop over forward/backward/step."
        )
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ShapeError(
            f"fit: {what} x and y must have one entry per example. Expected the same "
            f"N, received x of shape {x.shape} and y of shape {y.shape}."
        )
    if len(x) == 0:
        raise ShapeError(f"fit: {what} data is empty. Expected at least one example (N >= 1).")
    return x, y


def _start_node(model, loss_fn):
    """Where the loss is applied: the logits for cross-entropy, the output otherwise."""
    if loss_fn is softmax_cross_entropy:
        return model.logits
    return model.outputs[0].node.key


def _batch_metrics(loss_fn, z, y):
    """Number of correct predictions, for losses where accuracy means something."""
    if loss_fn is not softmax_cross_entropy:
        return None
    labels = y if y.ndim == 1 else y.argmax(axis=1)
    return int((z.argmax(axis=1) == labels).sum())


def train_step(model, x, y, loss_fn, optimizer, start):
    """One step of mini-batch gradient descent; returns ``(loss, n_correct or None)``.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, *input_shape)
    y : ndarray
        Labels for ``loss_fn``.
    loss_fn : callable ``(out, y) -> (loss, dout)``
    optimizer : Optimizer
    start : str
        Node key where the loss is applied (``model.logits`` for cross-entropy).
    """
    model.forward(x, training=True)
    z = model.activations[start]
    value, dz = loss_fn(z, y)
    model.backward(dz, start=start)
    optimizer.step(model)
    return value, _batch_metrics(loss_fn, z, y)


def evaluate(model, x, y, batch_size: int = 256, loss="crossentropy") -> dict:
    """Mean loss (and accuracy, for cross-entropy) of ``model`` on ``(x, y)``.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, *input_shape)
    y : ndarray of shape (N,) (int labels) or (N, K) (one-hot), or targets for MSE
    batch_size : int, default 256
    loss : str or callable, default "crossentropy"

    Returns
    -------
    dict
        ``{"loss": float, "accuracy": float}`` (no accuracy for other losses).
        Inference mode: Dropout off, BatchNormalization with its moving statistics.
    """
    loss_fn = get_loss(loss)
    batch_size = _check_positive_int(batch_size, "batch_size")
    x, y = _check_data(model, x, y, "evaluation")
    start = _start_node(model, loss_fn)
    total, correct = 0.0, 0
    for s in range(0, len(x), batch_size):
        xb, yb = x[s : s + batch_size], y[s : s + batch_size]
        model.forward(xb)
        z = model.activations[start]
        total += loss_fn(z, yb)[0] * len(xb)
        hits = _batch_metrics(loss_fn, z, yb)
        correct = None if hits is None else correct + hits
    logs = {"loss": total / len(x)}
    if correct is not None:
        logs["accuracy"] = correct / len(x)
    return logs


def fit(
    model,
    x,
    y,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data=None,
    callbacks=None,
    loss="crossentropy",
    optimizer="adam",
    seed=None,
    shuffle: bool = True,
    verbose: int = 1,
) -> History:
    """Train ``model`` on ``(x, y)`` with mini-batch gradient descent.

    Parameters
    ----------
    model : Model
        One input, one output. Its parameters are updated in place.
    x : ndarray of shape (N, *input_shape), float
    y : ndarray of shape (N,) int or (N, K) float for cross-entropy; like the output for MSE
    epochs : int, default 1
    batch_size : int, default 32
        The last batch of an epoch may be smaller.
    validation_data : (x_val, y_val), optional
        Evaluated after every epoch; adds ``val_loss`` (and ``val_accuracy``).
    callbacks : list of Callback, optional
        See :mod:`minidecnn.train.callbacks`; a :class:`History` is always added.
    loss : {"crossentropy", "mse"} or callable, default "crossentropy"
        Cross-entropy is fused with the softmax and applied at ``model.logits``; a
        callable ``(out, y) -> (loss, dout)`` is applied at the model output.
    optimizer : Optimizer or {"adam", "sgd"}, default "adam"
        Pass an instance to set its hyper-parameters or to continue training with
        the same optimizer state.
    seed : int, optional
        Seeds the shuffling of the examples each epoch (the only randomness here;
        Dropout layers have their own seeds).
    shuffle : bool, default True
    verbose : {0, 1}, default 1
        1 shows a tqdm progress bar per epoch with the running loss and accuracy.

    Returns
    -------
    History
        ``history.history["loss"]``, ``["accuracy"]``, ``["val_loss"]``, ... per epoch.

    Examples
    --------
    >>> from minidecnn import Sequential, Input
    >>> from minidecnn.layers import Dense
    >>> from minidecnn.train import SGD
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 2)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(int)
    >>> model = Sequential([Input((2,)), Dense(2, seed=0)])
    >>> h = fit(model, x, y, epochs=20, optimizer=SGD(0.5), seed=0, verbose=0)
    >>> h.history["loss"][-1] < h.history["loss"][0], h.history["accuracy"][-1] > 0.9
    (True, True)
    """
    loss_fn = get_loss(loss)
    opt = get_optimizer(optimizer)
    epochs = _check_positive_int(epochs, "epochs")
    batch_size = _check_positive_int(batch_size, "batch_size")
    x, y = _check_data(model, x, y, "training")
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            what = type(validation_data).__name__
            if isinstance(validation_data, tuple | list):
                what += f" of length {len(validation_data)}"
            raise ValueError(
                f"fit: invalid validation_data. Expected a tuple (x_val, y_val), received "
                f"a {what}."
            )
        _check_data(model, *validation_data, "validation")
    history = History()
    callbacks = [*(callbacks or []), history]
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(
                f"fit: invalid callback. Expected instances of minidecnn.train.Callback, "
                f"received {type(cb).__name__}."
            )
        cb.set_model(model)
    start = _start_node(model, loss_fn)
    rng = np.random.default_rng(seed)
    N = len(x)

    for cb in callbacks:
        cb.on_train_begin()
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        order = rng.permutation(N) if shuffle else np.arange(N)
        total, correct, seen = 0.0, 0, 0
        bar = tqdm(
            total=-(-N // batch_size),  # batches in this epoch
            desc=f"Epoch {epoch + 1}/{epochs}",
            unit="batch",
            disable=not verbose,
        )
        for batch, s in enumerate(range(0, N, batch_size)):
            idx = order[s : s + batch_size]
            value, hits = train_step(model, x[idx], y[idx], loss_fn, opt, start)
            n = len(idx)
            total, seen = total + value * n, seen + n
            correct = None if hits is None else correct + hits
            for cb in callbacks:
                cb.on_batch_end(batch, {"loss": value, "size": n})
            running = {"loss": f"{total / seen:.4f}"}
            if correct is not None:
                running["acc"] = f"{correct / seen:.3f}"
            bar.set_postfix(running, refresh=False)
            bar.update(1)
        logs = {"loss": total / seen}
        if correct is not None:
            logs["accuracy"] = correct / seen
        if validation_data is not None:
            val = evaluate(model, *validation_data, batch_size=max(batch_size, 256), loss=loss_fn)
            logs.update({f"val_{k}": v for k, v in val.items()})
        bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
        bar.close()
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
    for cb in callbacks:
        cb.on_train_end()
    return history
