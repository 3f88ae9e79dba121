"""The fit loop: exact first step, loss goes down, determinism, validation, progress, errors."""

import numpy as np
import pytest

from minidecnn import Input, Model, Sequential
from minidecnn.errors import ShapeError
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
from minidecnn.train import SGD, Adam, Callback, evaluate, fit


def blobs(n, seed):
    """Two classes of 8x8 one-channel images: a bright spot on the left or on the right."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.normal(0, 0.3, size=(n, 8, 8, 1)).astype(np.float32)
    for i, label in enumerate(y):
        col = 1 if label == 0 else 5
        x[i, 3:5, col : col + 2, 0] += 2.0
    return x, y


def small_cnn(seed=0):
    return Sequential(
        [
            Input((8, 8, 1)),
            Conv2D(4, 3, padding="same", seed=seed),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(2, seed=seed + 1),
            Softmax(),
        ]
    )


def test_first_step_is_exact_gradient_descent_on_the_logits(rng):
    # Dense + Softmax, one full batch, plain SGD: W <- W - lr * x^T (p - y) / N.
    x = rng.normal(size=(5, 3)).astype(np.float64)
    y = rng.integers(0, 4, size=5)
    model = Sequential([Input((3,)), Dense(4, name="fc", seed=0), Softmax()]).astype(np.float64)
    W0, b0 = (model.get_layer("fc").params[k].copy() for k in ("W", "b"))
    z = x @ W0 + b0
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(4)[y]) / 5
    fit(model, x, y, epochs=1, batch_size=5, optimizer=SGD(0.1), shuffle=False, verbose=0)
    np.testing.assert_allclose(model.get_layer("fc").params["W"], W0 - 0.1 * x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(model.get_layer("fc").params["b"], b0 - 0.1 * dz.sum(0), rtol=1e-12)


def test_fit_learns_a_tiny_problem():
    x, y = blobs(96, seed=1)
    xv, yv = blobs(64, seed=2)
    model = small_cnn()
    before = evaluate(model, xv, yv)
    h = fit(
        model,
        x,
        y,
        epochs=6,
        batch_size=16,
        validation_data=(xv, yv),
        optimizer=Adam(0.01),
        seed=0,
        verbose=0,
    )
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert h.history["val_loss"][-1] < before["loss"]
    assert h.history["val_accuracy"][-1] >= 0.95
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.epoch == list(range(6))
    assert len(h.batch_loss) == 6 * 6  # 96 / 16 batches per epoch
    # the epoch loss is the size-weighted mean of the batch losses
    assert h.history["loss"][0] == pytest.approx(np.mean(h.batch_loss[:6]))
    assert evaluate(model, xv, yv) == pytest.approx(
        {"loss": h.history["val_loss"][-1], "accuracy": h.history["val_accuracy"][-1]}
    )


def test_model_fit_and_evaluate_delegate():
    x, y = blobs(32, seed=3)
    model = small_cnn()
    h = model.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0)
    assert len(h.history["loss"]) == 2
    assert model.evaluate(x, y) == evaluate(model, x, y)


def test_seed_makes_training_reproducible():
    x, y = blobs(40, seed=4)
    runs = []
    for seed in (7, 7, 8):
        model = small_cnn()
        fit(model, x, y, epochs=2, batch_size=8, seed=seed, verbose=0)
        runs.append([w for layer in model.leaf_layers() for w in layer.params.values()])
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not all(np.array_equal(a, c) for a, c in zip(runs[0], runs[2]))


def test_onehot_labels_and_last_partial_batch(rng):
    x, y = blobs(10, seed=5)
    model = small_cnn()
    h = fit(model, x, np.eye(2, dtype=np.float32)[y], epochs=1, batch_size=4, verbose=0)
    assert len(h.batch_loss) == 3  # 4 + 4 + 2
    assert 0 <= h.history["accuracy"][0] <= 1


def test_mse_regression_at_the_output(rng):
    x = rng.normal(size=(64, 3)).astype(np.float32)
    t = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3
    model = Sequential([Input((3,)), Dense(1, seed=0)])
    h = fit(
        model, x, t, epochs=60, batch_size=16, loss="mse", optimizer=SGD(0.1), seed=0, verbose=0
    )
    assert "accuracy" not in h.history
    assert h.history["loss"][-1] < 1e-4
    np.testing.assert_allclose(model.layers[0].params["W"].ravel(), [1.0, -2.0, 0.5], atol=1e-2)


def test_custom_loss_is_applied_at_the_output(rng):
    calls = []

    def half_squares(out, y):
        calls.append(out.shape)
        return float((out**2).sum() / 2), out.copy()

    model = Sequential([Input((3,)), Dense(2, seed=0), Softmax()])
    fit(
        model,
        rng.normal(size=(4, 3)).astype(np.float32),
        np.zeros(4),
        loss=half_squares,
        batch_size=4,
        verbose=0,
    )
    assert calls == [(4, 2)]


def test_callbacks_are_called_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append(("train_begin", self.model.name))

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs=None):
            events.append(("batch", batch, logs["size"]))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            events.append(("train_end",))

    x, y = blobs(6, seed=6)
    model = small_cnn()
    fit(
        model,
        x,
        y,
        epochs=2,
        batch_size=4,
        validation_data=(x, y),
        callbacks=[Recorder()],
        verbose=0,
    )
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert events == [
        ("train_begin", model.name),
        ("epoch_begin", 0),
        ("batch", 0, 4),
        ("batch", 1, 2),
        ("epoch_end", 0, keys),
        ("epoch_begin", 1),
        ("batch", 0, 4),
        ("batch", 1, 2),
        ("epoch_end", 1, keys),
        ("train_end",),
    ]


def test_progress_bar(capsys):
    x, y = blobs(16, seed=7)
    fit(small_cnn(), x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err
    assert "2/2" in err and "val_accuracy=" in err and "loss=" in err
    fit(small_cnn(), x, y, epochs=1, batch_size=8, verbose=0)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        (
            {"epochs": 0},
            ValueError,
            (
                "fit: invalid value for argument `epochs`. Expected a positive int, "
                "received epochs=0."
            ),
        ),
        ({"batch_size": 2.5}, ValueError, "received batch_size=2.5"),
        (
            {"y": np.zeros(5, int)},
            ShapeError,
            (
                "fit: training x and y must have one entry per example. Expected the "
                "same N, received x of shape (4, 8, 8, 1) and y of shape (5,)."
            ),
        ),
        (
            {"validation_data": (np.zeros((2, 8, 8, 1), np.float32),)},
            ValueError,
            (
                "fit: invalid validation_data. Expected a tuple (x_val, y_val), "
                "received a tuple of length 1."
            ),
        ),
        (
            {"validation_data": (np.zeros((2, 8, 8, 1), np.float32), np.zeros(3, int))},
            ShapeError,
            "fit: validation x and y",
        ),
        (
            {"callbacks": [print]},
            TypeError,
            (
                "fit: invalid callback. Expected instances of "
                "minidecnn.train.Callback, received builtin_function_or_method."
            ),
        ),
        ({"loss": "hinge"}, ValueError, "fit: unknown loss 'hinge'"),
        (
            {"x": np.zeros((4, 8, 8, 3), np.float32)},
            ShapeError,
            "wrong input shape. Expected (N, 8, 8, 1), received (4, 8, 8, 3).",
        ),
        (
            {"y": np.array([0, 1, 2, 0])},
            ShapeError,
            "label out of range. Expected integers in [0, 2)",
        ),
    ],
)
def test_fit_errors(kwargs, error, text):
    args = {"x": np.zeros((4, 8, 8, 1), np.float32), "y": np.zeros(4, int), "verbose": 0, **kwargs}
    with pytest.raises(error) as info:
        fit(small_cnn(), **args)
    assert text in str(info.value)


def test_fit_refuses_several_outputs():
    inp = Input((3,))
    model = Model(inp, [Dense(2)(inp), Dense(2)(inp)])
    with pytest.raises(
        ValueError, match=r"has 1 inputs and 2 outputs\. Expected one input and one output"
    ):
        fit(model, np.zeros((2, 3), np.float32), np.zeros(2, int), verbose=0)
