"""History and ModelCheckpoint: one Keras .weights.h5 file per epoch, loadable, exact."""

import os

import numpy as np
import pytest
from conftest import optional_import

from minidecnn import Input, Sequential
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
from minidecnn.train import Callback, History, ModelCheckpoint, fit


def tiny_model(seed=0):
    return Sequential(
        [
            Input((6, 6, 2)),
            Conv2D(3, 3, name="conv1", seed=seed),
            ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Flatten(name="flatten"),
            Dense(3, name="fc", seed=seed + 1),
            Softmax(name="softmax"),
        ]
    )


def weights(model):
    return [w.copy() for layer in model.leaf_layers() for w in layer.params.values()]


class Snapshots(Callback):
    """Copies of the weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.taken = []

    def on_epoch_end(self, epoch, logs=None):
        self.taken.append(weights(self.model))


def test_checkpoint_per_epoch_is_loadable_and_exact(tmp_path, rng):
    x = rng.normal(size=(12, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=12)
    model = tiny_model()
    initial = weights(model)
    pattern = str(tmp_path / "ckpt" / "epoch_{epoch:02d}.weights.h5")
    ckpt, snaps = ModelCheckpoint(pattern, save_initial=True), Snapshots()
    fit(model, x, y, epochs=3, batch_size=4, callbacks=[ckpt, snaps], seed=0, verbose=0)
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == [f"epoch_{k:02d}.weights.h5" for k in range(4)]
    assert ckpt.saved == [str(tmp_path / "ckpt" / n) for n in names]
    for path, expected in zip(ckpt.saved, [initial, *snaps.taken]):
        fresh = tiny_model(seed=5).load_weights(path)
        for a, b in zip(weights(fresh), expected):
            np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(snaps.taken[0], snaps.taken[2]))


def test_checkpoint_name_uses_logs(tmp_path, rng):
    x = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=4)
    ckpt = ModelCheckpoint(tmp_path / "e{epoch}-{loss:.2f}-{val_accuracy:.2f}.weights.h5")
    h = fit(tiny_model(), x, y, epochs=1, callbacks=[ckpt], validation_data=(x, y), verbose=0)
    name = f"e1-{h.history['loss'][0]:.2f}-{h.history['val_accuracy'][0]:.2f}.weights.h5"
    assert os.path.basename(ckpt.saved[0]) == name and os.path.isfile(ckpt.saved[0])


def test_checkpoint_loads_in_real_keras(tmp_path, rng):
    """The files are genuine Keras 3 weights files: Keras loads them and predicts the same."""
    keras = optional_import("keras")
    x = rng.normal(size=(4, 6, 6, 2)).astype(np.float32)
    model = tiny_model()
    ckpt = ModelCheckpoint(tmp_path / "w{epoch}.weights.h5")
    fit(model, x, np.array([0, 1, 2, 0]), epochs=1, callbacks=[ckpt], verbose=0)
    L = keras.layers
    ref = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            L.Conv2D(3, 3),
            L.ReLU(),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(3),
            L.Softmax(),
        ]
    )
    ref.load_weights(ckpt.saved[0])
    np.testing.assert_allclose(np.asarray(ref(x)), model.predict(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (
            "ckpt/epoch.h5",
            (
                "ModelCheckpoint: invalid filepath. Expected a name ending in "
                "'.weights.h5' (the Keras 3 weights format), received 'ckpt/epoch.h5'."
            ),
        ),
        (
            "ckpt/{step}.weights.h5",
            (
                "ModelCheckpoint: cannot format filepath 'ckpt/{step}.weights.h5' "
                "(KeyError('step')). Expected fields among {epoch}, {loss}"
            ),
        ),
    ],
)
def test_checkpoint_bad_paths(path, text):
    with pytest.raises(ValueError) as info:
        ModelCheckpoint(path)
    assert text in str(info.value)


def test_history_records_and_repr():
    h = History()
    h.on_batch_end(0, {"loss": 3.0, "size": 2})
    h.on_epoch_end(0, {"loss": 2.0, "val_loss": 2.5})
    assert h.history == {"loss": [2.0], "val_loss": [2.5]} and h.batch_loss == [3.0]
    assert repr(h) == "<History: 1 epochs, last {'loss': 2.0, 'val_loss': 2.5}>"
