"""The embedded demo model: a small CNN trained on :func:`minidecnn.data.shapes`.

It ships inside the package as a Keras 3 ``.weights.h5`` file, so the demos and
``minidecnn explain`` have a trained network to look at without any download::

    >>> from minidecnn.demo_model import load_demo_model, demo_data
    >>> model = load_demo_model()                       # doctest: +SKIP
    >>> x, y, names = demo_data(100, split="test")      # doctest: +SKIP

The architecture is a miniature of Zeiler & Fergus's network: three
convolution - ReLU - max-pool blocks, then two dense layers and a softmax. The
first layer's 5x5 filters are large enough to look like oriented edges, bars and
corners; max-pooling gives DeconvNet its switches; every ReLU is its own layer, so
the gradient, DeconvNet and guided rules apply at it::

    input    (32, 32, 3)   RGB in [0, 1]
    rescaling  x -> 2x - 1                                -> (32, 32, 3) in [-1, 1]
    conv1    5x5, 32 filters, same    relu1    pool1 2x2  -> (16, 16, 32)
    conv2    3x3, 32 filters, same    relu2    pool2 2x2  -> (8, 8, 32)
    conv3    3x3, 64 filters, same    relu3    pool3 2x2  -> (4, 4, 64)
    flatten                                               -> (1024,)
    fc1      64 units                 relu4
    fc2      10 units (the logits)    softmax             -> (10,)

Two choices make the first-layer filters worth looking at after a few minutes of
training. The images are centred inside the model (``rescaling``), as Zeiler &
Fergus subtract the mean image, so the filters need not spend themselves on the
average colour. And ``conv1`` starts from Glorot weights scaled by 0.1: its 2,400
weights change little in 750 steps, and from full-size random weights the trained
filters would still look like the initial noise. From small ones, what the
filter figure shows is what training put there: edges, bars and corners.

:func:`train_demo` is the recipe that produced the shipped weights; run
``python -m minidecnn.demo_model --out FILE`` (or ``minidecnn train-demo``) to
train it again from the same seeds. It gives the same weights bit for bit with the
same versions of minidecnn, NumPy and Numba (thread settings do not matter), and
takes about a minute on two cores (47 s with single-threaded NumPy and Numba)::

    NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python -m minidecnn.demo_model --out demo_shapes.weights.h5

(on a busy machine the default thread pools can make it ten times slower; see
``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .data.shapes import SHAPES_CLASSES, ShapesData, shapes
from .errors import ModelFileError
from .graph import Input
from .layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Rescaling, Softmax
from .model import Sequential

#: input shape of the demo model, (H, W, C)
DEMO_INPUT_SHAPE = (32, 32, 3)
#: file name of the shipped weights, inside ``minidecnn/assets``
DEMO_WEIGHTS_FILE = "demo_shapes.weights.h5"
#: the seeds of :func:`shapes` for each split: different seeds, different images
DEMO_SPLIT_SEEDS = {"train": 1, "val": 2, "test": 3}
#: the scale of conv1's initial weights relative to Glorot-uniform (see the module notes)
CONV1_INIT_SCALE = 0.1
#: the training recipe of the shipped weights (the defaults of :func:`train_demo`)
DEMO_RECIPE = {
    "n_train": 8000,
    "epochs": 6,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "seed": 0,
}


def build_demo_model(seed: int = 0) -> Sequential:
    """The demo architecture with fresh (Glorot-uniform, seeded) weights.

    Parameters
    ----------
    seed : int, default 0
        Seeds every layer's initialiser (layer ``k`` gets ``seed + k``).

    Returns
    -------
    Sequential
        Layers named ``rescaling, conv1, relu1, pool1, ..., fc1, relu4, fc2, softmax``;
        ``model.logits == "fc2"``.

    Examples
    --------
    >>> model = build_demo_model()
    >>> model.logits, model.output_shape, model.count_params()
    ('fc2', (10,), 96426)
    """
    model = Sequential(
        [
            Input(DEMO_INPUT_SHAPE),
            Rescaling(2.0, -1.0, name="rescaling"),
            Conv2D(32, 5, padding="same", name="conv1", seed=seed + 1),
            ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Conv2D(32, 3, padding="same", name="conv2", seed=seed + 2),
            ReLU(name="relu2"),
            MaxPool2D(2, name="pool2"),
            Conv2D(64, 3, padding="same", name="conv3", seed=seed + 3),
            ReLU(name="relu3"),
            MaxPool2D(2, name="pool3"),
            Flatten(name="flatten"),
            Dense(64, name="fc1", seed=seed + 4),
            ReLU(name="relu4"),
            Dense(len(SHAPES_CLASSES), name="fc2", seed=seed + 5),
            Softmax(name="softmax"),
        ],
        name="demo_shapes",
    )
    model.get_layer("conv1").params["W"] *= np.float32(CONV1_INIT_SCALE)
    return model


def demo_weights_path() -> Path:
    """Where the shipped weights are: ``<package>/assets/demo_shapes.weights.h5``."""
    return Path(__file__).resolve().parent / "assets" / DEMO_WEIGHTS_FILE


def load_demo_model(path=None) -> Sequential:
    """The trained demo model.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A ``.weights.h5`` file written by :func:`train_demo`; by default the shipped one.

    Returns
    -------
    Sequential
        The architecture of :func:`build_demo_model` with the trained weights, and an
        extra attribute ``class_names`` (the ten names of :data:`SHAPES_CLASSES`).

    Raises
    ------
    ModelFileError
        If the file is missing or does not fit the architecture.
    """
    path = demo_weights_path() if path is None else Path(os.fspath(path))
    if not path.is_file():
        raise ModelFileError(
            f"load_demo_model: no weights file at {os.fspath(path)!r}. Expected the demo "
            f"model's .weights.h5 file. Reinstall minidecnn, or train one with "
            f"'minidecnn train-demo' and pass its path."
        )
    model = build_demo_model()
    model.load_weights(path)
    model.class_names = SHAPES_CLASSES
    return model


def demo_data(n: int, split: str = "test") -> ShapesData:
    """``n`` images of one split of the demo's data set (``"train"``, ``"val"``, ``"test"``).

    Each split uses its own seed of :func:`minidecnn.data.shapes` (see
    :data:`DEMO_SPLIT_SEEDS`), so test images were never seen in training.

    Examples
    --------
    >>> x, y, names = demo_data(3, "test")
    >>> x.shape, names[:3]
    ((3, 32, 32, 3), ('square', 'circle', 'triangle'))
    """
    if split not in DEMO_SPLIT_SEEDS:
        raise ValueError(
            f"demo_data: unknown split {split!r}. Expected one of {sorted(DEMO_SPLIT_SEEDS)}."
        )
    return shapes(n, size=DEMO_INPUT_SHAPE[0], seed=DEMO_SPLIT_SEEDS[split])


class DemoTraining(NamedTuple):
    """What :func:`train_demo` returns."""

    model: Sequential
    history: object  # minidecnn.train.History
    test_accuracy: float
    seconds: float
    path: str | None


def train_demo(
    out=None,
    n_train: int = DEMO_RECIPE["n_train"],
    epochs: int = DEMO_RECIPE["epochs"],
    batch_size: int = DEMO_RECIPE["batch_size"],
    learning_rate: float = DEMO_RECIPE["learning_rate"],
    seed: int = DEMO_RECIPE["seed"],
    n_val: int = 1000,
    n_test: int = 2000,
    checkpoint_dir=None,
    verbose: int = 1,
) -> DemoTraining:
    """Train the demo model from scratch on the shapes data (the recipe of the shipped file).

    Parameters
    ----------
    out : str or os.PathLike, optional
        Where to write the trained weights (a ``.weights.h5`` file); nothing is
        written when omitted.
    n_train, epochs, batch_size, learning_rate, seed
        The recipe; the defaults (:data:`DEMO_RECIPE`) reproduce the shipped weights.
        ``seed`` initialises the layers and shuffles the batches.
    n_val : int, default 1000
        Validation images (``split="val"``), evaluated after each epoch.
    n_test : int, default 2000
        Test images (``split="test"``) for the final accuracy.
    checkpoint_dir : str or os.PathLike, optional
        Also save the weights before training and after every epoch, as
        ``epoch_00.weights.h5``, ``epoch_01.weights.h5``, ... (for the
        Zeiler & Fergus feature-evolution figure).
    verbose : {0, 1}, default 1
        Progress bars and a summary line.

    Returns
    -------
    DemoTraining
        ``(model, history, test_accuracy, seconds, path)``; ``seconds`` is the time
        spent in ``fit``.
    """
    from .train import Adam, ModelCheckpoint, evaluate, fit

    if out is not None and not os.fspath(out).endswith(".weights.h5"):
        raise ValueError(
            f"train_demo: invalid out path. Expected a file name ending in '.weights.h5', "
            f"received {os.fspath(out)!r}."
        )
    x, y, _ = demo_data(n_train, "train")
    val = demo_data(n_val, "val")[:2]
    x_test, y_test, _ = demo_data(n_test, "test")
    model = build_demo_model(seed)
    callbacks = []
    if checkpoint_dir is not None:
        pattern = os.path.join(os.fspath(checkpoint_dir), "epoch_{epoch:02d}.weights.h5")
        callbacks.append(ModelCheckpoint(pattern, save_initial=True))
    start = time.perf_counter()
    history = fit(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=val,
        callbacks=callbacks,
        optimizer=Adam(learning_rate),
        seed=seed,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    test_accuracy = evaluate(model, x_test, y_test)["accuracy"]
    path = None
    if out is not None:
        path = os.fspath(out)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        model.save_weights(path)
    model.class_names = SHAPES_CLASSES
    if verbose:
        where = f"; weights written to {path}" if path else ""
        print(
            f"demo model: test accuracy {test_accuracy:.4f} on {n_test} fresh images, "
            f"trained in {seconds:.0f} s{where}"
        )
    return DemoTraining(model, history, test_accuracy, seconds, path)


def main(argv=None) -> int:
    """``python -m minidecnn.demo_model --out FILE``: retrain the demo model."""
    parser = argparse.ArgumentParser(
        prog="python -m minidecnn.demo_model",
        description="Train the embedded demo model on the shapes data set.",
    )
    parser.add_argument("--out", required=True, help="output .weights.h5 file")
    parser.add_argument("--epochs", type=int, default=DEMO_RECIPE["epochs"])
    parser.add_argument("--n-train", type=int, default=DEMO_RECIPE["n_train"])
    parser.add_argument("--seed", type=int, default=DEMO_RECIPE["seed"])
    parser.add_argument("--checkpoint-dir", default=None, help="also save every epoch here")
    args = parser.parse_args(argv)
    train_demo(
        args.out,
        n_train=args.n_train,
        epochs=args.epochs,
        seed=args.seed,
        checkpoint_dir=args.checkpoint_dir,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
