"""Training: losses, optimizers, the fit loop and its callbacks.

>>> import numpy as np
>>> from minidecnn import Input, Sequential
>>> from minidecnn.layers import Dense
>>> from minidecnn.train import SGD, fit
>>> x = np.eye(2, dtype=np.float32); y = np.array([0, 1])
>>> model = Sequential([Input((2,)), Dense(2, seed=0)])
>>> history = fit(model, x, y, epochs=50, batch_size=2, optimizer=SGD(0.5), verbose=0)
>>> history.history["accuracy"][-1]
1.0
"""

from .callbacks import Callback, History, ModelCheckpoint
from .fit import evaluate, fit, train_step
from .losses import LOSSES, get_loss, log_softmax, mean_squared_error, softmax_cross_entropy
from .optimizers import OPTIMIZERS, SGD, Adam, Optimizer, get_optimizer

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "Callback",
    "History",
    "ModelCheckpoint",
    "Optimizer",
    "evaluate",
    "fit",
    "get_loss",
    "get_optimizer",
    "log_softmax",
    "mean_squared_error",
    "softmax_cross_entropy",
    "train_step",
]
