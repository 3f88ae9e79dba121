"""Small models shared by the model tests (float64, seeded)."""

import numpy as np

from minidecnn import Input, Model, Sequential
from minidecnn.layers import (
    Add,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ReLU,
    Softmax,
)


def residual_net(seed=0):
    """A functional model with every graph feature: fan-out (``image`` feeds ``conv1``
    and ``side``; ``relu1`` feeds ``shared`` and ``residual``), a shared layer called
    twice (``shared`` and ``shared:1``), a residual Add, a Concatenate,
    BatchNormalization, max-pooling and a final Softmax."""
    rng = np.random.default_rng(seed)
    x = Input((6, 6, 2), name="image")
    r1 = ReLU(name="relu1")(
        BatchNormalization(name="bn1")(Conv2D(4, 3, padding="same", name="conv1", seed=1)(x))
    )
    shared = Conv2D(4, 3, padding="same", name="shared", seed=2)
    s2 = shared(ReLU(name="relu2")(shared(r1)))
    res = Add(name="residual")([r1, s2])
    side = Conv2D(2, 1, name="side", seed=3)(x)
    cat = Concatenate(name="cat")([res, side])
    logits = Dense(3, name="fc", seed=4)(Flatten(name="flat")(MaxPool2D(2, name="pool")(cat)))
    model = Model(x, Softmax(name="softmax")(logits), name="net")
    model.astype(np.float64)
    for layer in model.leaf_layers():  # non-zero biases and BN statistics
        for k, v in layer.params.items():
            if k in ("b", "beta"):
                v[...] = 0.1 * rng.standard_normal(v.shape)
            if k == "gamma":
                v[...] = rng.uniform(0.5, 1.5, v.shape)
        if layer.buffers:
            layer.buffers["moving_mean"][...] = 0.1 * rng.standard_normal(4)
            layer.buffers["moving_variance"][...] = rng.uniform(0.5, 1.5, 4)
    return model


def conv_block(name="block"):
    """A Sequential used as a layer: (4, 4, 2) -> (4, 4, 2)."""
    return Sequential(
        [
            Input((4, 4, 2)),
            Conv2D(2, 3, padding="same", name=f"{name}_conv", seed=5),
            ReLU(name=f"{name}_relu"),
        ],
        name=name,
    )
