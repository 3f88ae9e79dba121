"""Loading full-size VGG16 weights: ``model.load_weights`` next to a plain h5py read.

Writes random VGG16 weights (138,357,544 float32 numbers, about 528 MB) in the layout
of the published ImageNet file (Keras 1 names ``<layer>_W_1:0``, ``layer_names`` as
bytes, no version attributes), then measures in one run, on the same warm file:

* ``raw``: h5py reads every dataset into a new NumPy array (the least any loader does);
* ``load_weights``: ``model.load_weights(path)`` into a VGG16-shaped minidecnn model
  (reads, checks every shape, and assigns; the model is unchanged if anything fails).

Time is the median of ``--repeats`` runs (without tracemalloc); memory is the peak of
NumPy allocations during one call (tracemalloc), the model's own arrays excluded.
Targets: load_weights <= 1.5x the time and <= 1.3x the memory of the raw read.

Run: ``python benchmarks/load_vgg16.py [--repeats 5] [--keep FILE]``
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minidecnn as mdc
from minidecnn import layers as L

BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def vgg16_model():
    """VGG16 with Keras' layer names, built from minidecnn layers (fused ReLUs split)."""
    x = mdc.Input((224, 224, 3), name="input_1")
    h = x
    for b, (filters, convs) in enumerate(BLOCKS, start=1):
        for c in range(1, convs + 1):
            name = f"block{b}_conv{c}"
            h = L.ReLU(name=f"{name}_relu")(L.Conv2D(filters, 3, padding="same", name=name)(h))
        h = L.MaxPool2D(2, name=f"block{b}_pool")(h)
    h = L.Flatten(name="flatten")(h)
    h = L.ReLU(name="fc1_relu")(L.Dense(4096, name="fc1")(h))
    h = L.ReLU(name="fc2_relu")(L.Dense(4096, name="fc2")(h))
    h = L.Softmax(name="predictions_softmax")(L.Dense(1000, name="predictions")(h))
    return mdc.Model(x, h, name="vgg16")


def write_release_file(path, model, seed=0):
    """Random weights in the VGG16 release layout, one layer at a time (flat memory)."""
    rng = np.random.default_rng(seed)
    weighted = [layer for layer in model.layers if layer.params]
    names = ["input_1"] + [layer.name for layer in model.layers]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            f.create_group(name).attrs["weight_names"] = []
        for layer in weighted:
            g = f[layer.name]
            wnames = [f"{layer.name}_W_1:0", f"{layer.name}_b_1:0"]
            g.attrs["weight_names"] = [w.encode() for w in wnames]
            for w, key in zip(wnames, ("W", "b")):
                shape = layer.params[key].shape
                g.create_dataset(w, data=0.01 * rng.standard_normal(shape, dtype=np.float32))


def raw_read(path):
    """What any loader must do at least: every dataset into a new array."""

    def text(v):
        return v.decode() if isinstance(v, bytes) else str(v)

    out = []
    with h5py.File(path, "r") as f:
        for name in f.attrs["layer_names"]:
            g = f[text(name)]
            for w in g.attrs["weight_names"]:
                out.append(g[text(w)][()])
    return out


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        del result
    return statistics.median(times), times


def peak_bytes(fn):
    gc.collect()
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", help="write the weights file here (and reuse it if present)")
    args = parser.parse_args(argv)

    model = vgg16_model()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "vgg16_weights_tf_dim_ordering_tf_kernels.h5")
        if not os.path.exists(path):
            t = time.perf_counter()
            write_release_file(path, model)
            print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB) "
                  f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
        n_params = model.count_params()
        print(f"VGG16: {n_params:,} parameters ({n_params * 4 / 2**20:.0f} MiB float32)")
        raw_read(path)  # warm the page cache for both contenders

        def load():
            return model.load_weights(path)

        t_raw, _ = timed(lambda: raw_read(path), args.repeats)
        t_load, _ = timed(load, args.repeats)
        m_raw = peak_bytes(lambda: raw_read(path))
        m_load = peak_bytes(load)
        check = raw_read(path)
        assert np.array_equal(model.get_layer("fc1").params["W"], check[-6])

    print(f"{'':14s}{'median time':>14s}{'peak memory':>14s}")
    print(f"{'raw h5py':14s}{t_raw:13.3f}s{m_raw / 2**20:11.0f} MiB")
    print(f"{'load_weights':14s}{t_load:13.3f}s{m_load / 2**20:11.0f} MiB")
    print(f"ratio time   {t_load / t_raw:.2f}x  (target <= 1.5x)")
    print(f"ratio memory {m_load / m_raw:.2f}x  (target <= 1.3x)")


if __name__ == "__main__":
    main()
