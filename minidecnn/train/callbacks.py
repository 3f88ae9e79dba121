"""Callbacks: code that ``fit`` runs at the start and end of training, epochs and batches.

``fit`` calls, in this order::

    on_train_begin(logs)
    for each epoch:   on_epoch_begin(epoch, logs)
                      for each batch: on_batch_end(batch, logs)   # {"loss", "size"}
                      on_epoch_end(epoch, logs)  # {"loss", "accuracy", "val_loss", ...}
    on_train_end(logs)

Epochs are counted from 0 in the calls, as in Keras; file names count from 1.
"""

from __future__ import annotations

import os

import numpy as np


class Callback:
    """Base class; every hook does nothing. ``self.model`` is set by ``fit``."""

    def __init__(self):
        self.model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs=None) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        """Called at the start of epoch ``epoch`` (0-based)."""

    def on_batch_end(self, batch: int, logs=None) -> None:
        """Called after each optimizer step; ``logs = {"loss": float, "size": int}``."""

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        """Called after each epoch with its mean training metrics and validation metrics."""

    def on_train_end(self, logs=None) -> None:
        """Called once after the last epoch."""


class History(Callback):
    """Records the metrics of every epoch; ``fit`` returns one.

    Attributes
    ----------
    history : dict of str to list of float
        ``"loss"`` (mean training loss of each epoch) and, when available,
        ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``; one entry per epoch.
    epoch : list of int
        The 0-based epochs recorded.
    batch_loss : list of float
        The loss of every training batch, in order (for a learning curve).

    Examples
    --------
    >>> h = History()
    >>> h.on_epoch_end(0, {"loss": 2.0, "accuracy": 0.5})
    >>> h.on_epoch_end(1, {"loss": 1.0, "accuracy": 0.75})
    >>> h.history
    {'loss': [2.0, 1.0], 'accuracy': [0.5, 0.75]}
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.batch_loss: list[float] = []

    def on_batch_end(self, batch, logs=None):
        self.batch_loss.append(float((logs or {})["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items()}
        return f"<History: {len(self.epoch)} epochs, last {last}>"


class ModelCheckpoint(Callback):
    """Save the model's weights after every epoch, as a Keras 3 ``.weights.h5`` file.

    Parameters
    ----------
    filepath : str or os.PathLike
        A pattern formatted with the 1-based epoch and the epoch's logs, for example
        ``"ckpt/epoch_{epoch:02d}.weights.h5"`` or ``"ckpt/{epoch}-{val_loss:.3f}.weights.h5"``.
        Folders are created as needed. It must end with ``.weights.h5``.
    save_initial : bool, default False
        Also save the weights before training, as epoch 0 (the starting point of a
        feature-evolution figure).

    Attributes
    ----------
    saved : list of str
        The files written, in order.

    Notes
    -----
    The files are written by :func:`minidecnn.keras.save_weights` and read back by
    ``model.load_weights(path)`` or by real Keras' ``model.load_weights``, so the
    Zeiler & Fergus feature-evolution figure (their Fig. 4) can project the same
    units at epochs 1, 2, 5, ... of one training run.
    """

    def __init__(self, filepath, save_initial: bool = False):
        super().__init__()
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(
                f"ModelCheckpoint: invalid filepath. Expected a name ending in "
                f"'.weights.h5' (the Keras 3 weights format), received {filepath!r}."
            )
        try:
            filepath.format(epoch=1, loss=0.0, accuracy=0.0, val_loss=0.0, val_accuracy=0.0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"ModelCheckpoint: cannot format filepath {filepath!r} ({exc!r}). Expected "
                f"fields among {{epoch}}, {{loss}}, {{accuracy}}, {{val_loss}}, "
                f"{{val_accuracy}}, for example 'ckpt/epoch_{{epoch:02d}}.weights.h5'."
            ) from None
        self.filepath = filepath
        self.save_initial = bool(save_initial)
        self.saved: list[str] = []

    def on_train_begin(self, logs=None):
        if self.save_initial:
            self._save(0, {})

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch + 1, logs or {})

    def _save(self, epoch, logs):
        from ..keras import save_weights  # the Keras file writer lives above train/

        fields = {"loss": np.nan, "accuracy": np.nan, "val_loss": np.nan, "val_accuracy": np.nan}
        path = self.filepath.format(epoch=epoch, **{**fields, **logs})
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        save_weights(self.model, path)
        self.saved.append(path)
