"""Models built in real Keras, saved in every file family, loaded and compared layer by layer."""

import numpy as np
import pytest
from kerasrefs import CASES, assert_matches_keras, keras_files  # noqa: F401

import minidecnn as mdc

K3_KINDS = ("keras", "folder", "legacy_h5", "weights_h5+config")
TFK_KINDS = ("legacy_h5", "keras", "legacy_weights+config", "weights_h5+config")
PARAMS = [
    pytest.param(name, producer, kind, id=f"{name}-{producer}-{kind}")
    for name, (_, producers) in CASES.items()
    for producer in producers
    for kind in (K3_KINDS if producer == "k3" else TFK_KINDS)
]


def _load(fx, kind):
    if kind.endswith("+config"):
        return mdc.load_keras(fx["paths"][kind.split("+")[0]], config=fx["config"])
    return mdc.load_keras(fx["paths"][kind])


@pytest.mark.parametrize(("name", "producer", "kind"), PARAMS)
def test_every_layer_matches_keras(keras_files, name, producer, kind):  # noqa: F811
    fx = keras_files(name, producer)
    model = _load(fx, kind)
    assert_matches_keras(model, fx)
    for leaf in model.leaf_layers():
        for arr in {**leaf.params, **leaf.buffers}.values():
            assert arr.dtype == np.float32
