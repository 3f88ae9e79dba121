"""Training speed: images per second of one training step of the demo CNN at batch 64.

One step is forward (training mode) + fused softmax cross-entropy + backward with
parameter gradients + an Adam update, on the demo architecture
(``minidecnn.demo_model.build_demo_model``: 32x32x3 input rescaled to [-1, 1], three
conv-ReLU-pool blocks, two dense layers).

Every configuration runs in its own subprocess (thread counts are fixed when NumPy
and Numba start), the configurations take turns round after round, and each round
reports the median of several timed steps, so all numbers are measured side by side
under the same machine load. Printed: the median over rounds, and the ratio to the
first configuration.

Configurations:

* ``default``        - the library as a user gets it (Numba's and BLAS's own thread pools);
* ``numba-1thread``  - ``NUMBA_NUM_THREADS=1`` (BLAS still threaded);
* ``all-1thread``    - Numba and OpenBLAS/OpenMP on one thread each;
* ``keras-jax``      - the same model and step in Keras 3 on JAX (jit-compiled), when
  Keras is importable (run this script with the Keras environment's Python).

Usage::

    python benchmarks/train_speed.py [--rounds 5] [--steps 10] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIGS = {
    "default": {},
    "numba-1thread": {"NUMBA_NUM_THREADS": "1"},
    "all-1thread": {"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
}


def _batches(batch, steps):
    from minidecnn.demo_model import demo_data

    x, y, _ = demo_data(batch * (steps + 1), "train")
    return [
        (x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]) for i in range(steps + 1)
    ]


def measure_minidecnn(batch, steps):
    """Median seconds of one training step (after one warm-up step that compiles)."""
    from minidecnn.demo_model import build_demo_model
    from minidecnn.train import Adam, softmax_cross_entropy, train_step

    model = build_demo_model(seed=0)
    opt = Adam(1e-3)
    data = _batches(batch, steps)
    train_step(model, *data[0], softmax_cross_entropy, opt, model.logits)  # warm-up / JIT
    times = []
    for xb, yb in data[1:]:
        t = time.perf_counter()
        train_step(model, xb, yb, softmax_cross_entropy, opt, model.logits)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def measure_keras(batch, steps):
    """The same architecture and step in Keras 3 (JAX backend, jit-compiled train step)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Rescaling(2.0, -1.0),
            layers.Conv2D(32, 5, padding="same"),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same"),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same"),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64),
            layers.ReLU(),
            layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    data = _batches(batch, steps)
    model.train_on_batch(*data[0])  # compile
    times = []
    for xb, yb in data[1:]:
        t = time.perf_counter()
        model.train_on_batch(xb, yb)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _worker(kind, batch, steps):
    sys.path.insert(0, ROOT)
    seconds = (
        measure_keras(batch, steps) if kind == "keras-jax" else measure_minidecnn(batch, steps)
    )
    print(json.dumps({"seconds": seconds}))


def _keras_available():
    import importlib.util

    return importlib.util.find_spec("keras") is not None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.batch, args.steps)
        return

    configs = dict(CONFIGS)
    if _keras_available():
        configs["keras-jax"] = {
            "KERAS_BACKEND": "jax",
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    results = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, env in configs.items():
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                "keras-jax" if name == "keras-jax" else "mdc",
            ]
            cmd += ["--batch", str(args.batch), "--steps", str(args.steps)]
            out = subprocess.run(
                cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True
            ).stdout
            results[name].append(json.loads(out.strip().splitlines()[-1])["seconds"])

    print(
        f"training step of the demo CNN, batch {args.batch}, {os.cpu_count()} cores, "
        f"{args.rounds} rounds x median of {args.steps} steps"
    )
    print(f"{'configuration':16s} {'images/s':>10s} {'ms/step':>9s} {'vs default':>11s}")
    base = args.batch / float(np.median(results["default"]))
    for name, secs in results.items():
        s = float(np.median(secs))
        rate = args.batch / s
        print(f"{name:16s} {rate:10.0f} {1e3 * s:9.1f} {rate / base:10.2f}x")


if __name__ == "__main__":
    main()
