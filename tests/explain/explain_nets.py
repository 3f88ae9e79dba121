"""Small networks for the explain tests (the reference net of the methods notes, and kin).

The reference net: conv 5x5/8 -> ReLU -> max-pool 2 -> conv 3x3/8 -> ReLU -> max-pool 2
-> dense 32 -> ReLU -> dense 10, weights ~ N(0, 0.3^2), biases ~ N(0, 0.1^2), inputs
16x16x3 ~ N(0, 1), float64, fixed seeds.
"""

from __future__ import annotations

import numpy as np

import minidecnn as mdc
from minidecnn.layers import (
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    ReLU,
    Softmax,
)


def reference_net(
    seed=0, bias=True, pool=True, relu=True, softmax=False, weight_std=0.3, bias_std=0.1
):
    """The reference net (float64); flags drop biases, pools or ReLUs, or add a softmax."""
    layers = [mdc.Input((16, 16, 3)), Conv2D(8, 5, name="conv1", use_bias=bias)]
    layers += [ReLU(name="relu1")] if relu else []
    layers += [MaxPool2D(2, name="pool1")] if pool else []
    layers += [Conv2D(8, 3, name="conv2", use_bias=bias)]
    layers += [ReLU(name="relu2")] if relu else []
    layers += [MaxPool2D(2, name="pool2")] if pool else []
    layers += [Flatten(name="flatten"), Dense(32, name="fc1", use_bias=bias)]
    layers += [ReLU(name="relu3")] if relu else []
    layers += [Dense(10, name="fc2", use_bias=bias)]
    layers += [Softmax(name="softmax")] if softmax else []
    model = mdc.Sequential(layers).astype(np.float64)
    randomize(model, seed, weight_std, bias_std)
    return model


def randomize(model, seed, weight_std=0.3, bias_std=0.1):
    """Weights ~ N(0, weight_std^2) and biases ~ N(0, bias_std^2), in layer order."""
    rng = np.random.default_rng(seed)
    for layer in model.leaf_layers():
        for key, value in layer.params.items():
            std = bias_std if key == "b" else weight_std
            value[...] = rng.normal(0.0, std, value.shape)


def images(n=2, seed=1, shape=(16, 16, 3)):
    return np.random.default_rng(seed).standard_normal((n, *shape))


def cam_net(seed=0):
    """conv 3x3/6 -> ReLU -> global average pooling -> dense 4 (CAM's architecture)."""
    model = mdc.Sequential(
        [
            mdc.Input((10, 12, 3)),
            Conv2D(6, 3, name="conv", padding="same"),
            ReLU(name="relu"),
            GlobalAvgPool2D(name="gap"),
            Dense(4, name="fc"),
        ]
    ).astype(np.float64)
    randomize(model, seed)
    return model


class HalfQuadratic(Layer):
    """``f(x) = 1/2 x^T A x`` for flat inputs (a test probe: its gradient is ``A x``)."""

    linearity = "nonlinear"
    cache_slots = ("x",)

    def __init__(self, A, name=None):
        super().__init__(name=name)
        self.A = np.asarray(A, np.float64)
        self.x = None  # input of the last forward, (N, D)

    def compute_output_shape(self, input_shape):
        return (1,)

    def forward(self, x, training=False):
        x = self.check_input(x)
        self.x = x
        return 0.5 * np.einsum("ni,ij,nj->n", x, self.A, x)[:, None]

    def backward(self, dout, param_grads=True):
        dout = self.check_dout(dout, self._dout_shape(self.x))
        return dout * (self.x @ self.A)


def half_square_probe(shape):
    """A model computing ``1/2 sum x^2`` of an image: its gradient is ``x`` itself."""
    D = int(np.prod(shape))
    return mdc.Sequential(
        [mdc.Input(shape), Flatten(name="flat"), HalfQuadratic(np.eye(D), name="half_sq")]
    )


def spearman(a, b):
    """Spearman rank correlation of two arrays (ties have probability 0 here)."""
    ra = np.argsort(np.argsort(np.ravel(a))).astype(np.float64)
    rb = np.argsort(np.argsort(np.ravel(b))).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def pearson(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])
