"""Helpers shared by the exporter tests (test_export_*.py)."""

from __future__ import annotations

import h5py
import numpy as np


def randomize(model, seed):
    """Fill every parameter and buffer with seeded random numbers (variances positive)."""
    rng = np.random.default_rng(seed)
    for leaf in model.leaf_layers():
        for store in (leaf.params, leaf.buffers):
            for key, value in store.items():
                value[...] = rng.normal(0.0, 0.3, value.shape)
                if key == "moving_variance":
                    value[...] = np.abs(value) + 0.5
    return model


def h5_tree(path):
    """``{path: ("group", attrs)}`` and ``{path: ("dataset", array)}`` for a whole HDF5 file."""
    tree = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            tree[name] = ("dataset", obj[()])
        else:
            tree[name] = ("group", {k: str(v) for k, v in obj.attrs.items()})

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return tree


def assert_same_tree(ours, theirs):
    """Same groups with the same attributes, same datasets with the same values and dtypes."""
    assert sorted(ours) == sorted(theirs)
    for key, (kind, value) in theirs.items():
        assert ours[key][0] == kind, key
        if kind == "group":
            assert ours[key][1] == value, key
        else:
            np.testing.assert_array_equal(ours[key][1], value, err_msg=key)
            assert ours[key][1].dtype == value.dtype, key


def sequential_all_layers():
    """A Sequential with every layer type and the options that change Keras' config."""
    import minidecnn as mdc
    from minidecnn import layers as L

    return mdc.Sequential(
        [
            mdc.Input((9, 7, 3)),
            L.ZeroPadding2D(((1, 0), (2, 1))),
            L.Rescaling([0.5, 1.0, 2.0], [0.1, 0.0, -0.1]),
            L.Conv2D(4, 3, strides=2, padding="same"),
            L.BatchNormalization(epsilon=1e-5, momentum=0.9),
            L.ReLU(),
            L.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
            L.LeakyReLU(0.2),
            L.SeparableConv2D(5, (3, 2), padding="same", use_bias=False),
            L.Tanh(),
            L.MaxPool2D(3, strides=2, padding="same"),
            L.AvgPool2D(2, strides=1, padding="same"),
            L.Sigmoid(),
            L.Conv2D(3, 1, use_bias=False),
            L.BatchNormalization(center=False, scale=False),
            L.Dropout(0.3, seed=4),
            L.Flatten(),
            L.Dense(6),
            L.Rescaling(0.5),
            L.Softmax(),
        ],
        name="seq_all",
    )


def functional_graph():
    """Two inputs, two outputs, a shared layer called twice, Add, Concatenate, global pools."""
    import minidecnn as mdc
    from minidecnn import layers as L

    img, aux = mdc.Input((8, 8, 3), name="img"), mdc.Input((4,), name="aux")
    shared = L.Conv2D(3, 3, padding="same", name="shared")
    a = L.ReLU(name="a_relu")(shared(img))
    b = shared(a)
    s = L.Add(name="add")([a, b, L.Conv2D(3, 1, name="skip")(img)])
    s = L.BatchNormalization(center=False, scale=False, epsilon=1e-5, name="bn")(s)
    g1 = L.GlobalAvgPool2D(name="gap")(s)
    g2 = L.Flatten(name="flat")(L.GlobalMaxPool2D(keepdims=True, name="gmp")(s))
    h = L.Concatenate(name="cat")([g1, L.Dense(3, name="aux_dense")(aux), g2])
    logits = L.Dense(5, name="logits")(h)
    probs = L.Softmax(name="probs")(logits)
    score = L.Sigmoid(name="score")(L.Dense(1, name="score_dense")(h))
    return mdc.Model([img, aux], [probs, score], name="two_heads")


def nested_model():
    """A functional model called twice, a Sequential holding a functional model, and a
    nested Sequential as the output."""
    import minidecnn as mdc
    from minidecnn import layers as L

    ii = mdc.Input((6, 6, 2), name="ii")
    inner = mdc.Model(
        ii,
        L.BatchNormalization(name="ibn")(L.Conv2D(2, 3, padding="same", name="ic")(ii)),
        name="inner",
    )
    vi = mdc.Input((4, 4, 3), name="vi")
    v_inner = mdc.Model(vi, L.Conv2D(3, 1, name="vc")(vi), name="v_inner")
    wrapped = mdc.Sequential(
        [mdc.Input((4, 4, 3)), L.Conv2D(3, 1, name="w1"), L.ReLU(name="w1_relu"), v_inner],
        name="wrapped",
    )
    seqi = mdc.Sequential(
        [
            mdc.Input((4, 4, 3)),
            L.Conv2D(2, 1, name="sc"),
            L.Flatten(name="sf"),
            L.Dense(2, name="sd"),
        ],
        name="seqi",
    )
    x = mdc.Input((6, 6, 2), name="x")
    shared = L.Conv2D(2, 1, padding="same", name="shared")
    a = shared(x)
    s = L.Add(name="add")([a, shared(a)])
    y = L.Concatenate(name="concatenate")([inner(s), inner(L.Conv2D(2, 1, name="c0")(x))])
    y = wrapped(L.Conv2D(3, 3, name="conv2d_1")(y))
    return mdc.Model(x, seqi(y), name="outer")
