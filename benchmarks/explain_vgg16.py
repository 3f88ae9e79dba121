"""VGG16 (random weights, 224x224x3, batch 1): how long the saliency methods take and how
much memory SmoothGrad-50 needs.

Prints the median seconds of ``gradient``, ``guided_backprop``, ``deconvnet`` and
``smoothgrad`` with 50 samples, their ratios to the gradient (measured side by side in
this run), and the peak resident memory of a child process that builds VGG16 and runs
SmoothGrad-50 (the high-water mark is reset after the model is built when Linux allows
it, so the number is the SmoothGrad peak with the model loaded). Target: <= 2.5 GB.

Run from the repository root::

    python benchmarks/explain_vgg16.py                   # 5 and 3 repeats
    python benchmarks/explain_vgg16.py --repeats 3 --sg-repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import minidecnn as mdc
from minidecnn import explain

TARGET_GB = 2.5


def build_vgg16():
    """VGG16 with random weights: ``minidecnn.zoo.vgg16()`` when the zoo exists, else the
    same architecture built here (13 conv 3x3 + ReLU, 5 max-pools, fc 4096-4096-1000)."""
    try:
        from minidecnn import zoo

        return zoo.vgg16(), "minidecnn.zoo.vgg16()"
    except (ImportError, AttributeError):
        pass
    from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax

    layers = [mdc.Input((224, 224, 3), name="input_layer")]
    for b, (n, filters) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        for i in range(1, n + 1):
            name = f"block{b}_conv{i}"
            layers += [Conv2D(filters, 3, padding="same", name=name, seed=10 * b + i)]
            layers += [ReLU(name=f"{name}_relu")]
        layers.append(MaxPool2D(2, name=f"block{b}_pool"))
    layers += [Flatten(name="flatten")]
    for k, units in enumerate([4096, 4096], 1):
        layers += [Dense(units, name=f"fc{k}", seed=k), ReLU(name=f"fc{k}_relu")]
    layers += [Dense(1000, name="predictions", seed=3), Softmax(name="softmax")]
    return mdc.Sequential(layers, name="vgg16"), "inline VGG16 (minidecnn.zoo not available)"


def image():
    """One 224x224 RGB input in the range of caffe-preprocessed VGG inputs (about +-120)."""
    return (40.0 * np.random.default_rng(0).standard_normal((1, 224, 224, 3))).astype(np.float32)


def _rss_peak_gb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def memory_child(n_samples: int) -> None:
    """Build VGG16, reset the memory high-water mark, run SmoothGrad once; print JSON."""
    model, _ = build_vgg16()
    x = image()
    explain.gradient(model, x)  # compile the kernels and touch every buffer once
    after_build = _rss_peak_gb()
    reset = _reset_peak()
    start = _rss_peak_gb()
    t = time.perf_counter()
    sg = explain.smoothgrad(model, x, n_samples=n_samples, seed=0)
    seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "peak_gb": _rss_peak_gb(),
                "rss_before_gb": start,
                "peak_while_building_gb": after_build,
                "reset": reset,
                "seconds": seconds,
                "batch_size": sg.info["params"]["batch_size"],
                "sigma": sg.info["sigma"][0],
            }
        )
    )


def median_seconds(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (all threads) of ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each one-pass method")
    parser.add_argument("--sg-repeats", type=int, default=3, help="runs of SmoothGrad")
    parser.add_argument("--n-samples", type=int, default=50)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.n_samples)
        return

    # A shared machine inflates wall-clock times; CPU seconds show the work itself.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; ", end="")
    print(f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}")
    child = subprocess.run(
        [sys.executable, __file__, "--memory-child", "--n-samples", str(args.n_samples)],
        capture_output=True,
        text=True,
        check=True,
    )
    mem = json.loads(child.stdout.strip().splitlines()[-1])

    model, source = build_vgg16()
    x = image()
    print(f"model: {source}; input {x.shape} float32; {model.count_params():,} parameters")
    explain.gradient(model, x)  # warm-up: Numba compilation, first-touch of buffers
    methods = {
        "gradient": lambda: explain.gradient(model, x),
        "guided_backprop": lambda: explain.guided_backprop(model, x),
        "deconvnet": lambda: explain.deconvnet(model, x),
    }
    seconds = {name: median_seconds(fn, args.repeats) for name, fn in methods.items()}
    sg_name = f"smoothgrad-{args.n_samples}"
    seconds[sg_name] = median_seconds(
        lambda: explain.smoothgrad(model, x, n_samples=args.n_samples, seed=0), args.sg_repeats
    )

    base = seconds["gradient"][0]
    print(f"\n{'method':<16} {'median s':>9} {'x gradient':>11} {'CPU s':>8}  repeats")
    for name, (wall, cpu) in seconds.items():
        reps = args.sg_repeats if name == sg_name else args.repeats
        print(f"{name:<16} {wall:9.2f} {wall / base:11.2f} {cpu:8.2f}  {reps}")
    print(
        f"\n{sg_name}: batches of {mem['batch_size']} noisy copies, sigma = {mem['sigma']:.3g}"
        f" (0.15 x the image range); one run in the child took {mem['seconds']:.1f} s"
    )
    how = "high-water mark reset after building" if mem["reset"] else "lifetime peak"
    verdict = "OK" if mem["peak_gb"] <= TARGET_GB else "OVER TARGET"
    print(
        f"peak resident memory during {sg_name}: {mem['peak_gb']:.2f} GB ({how}; "
        f"{mem['rss_before_gb']:.2f} GB before it, model included; building peaked at "
        f"{mem['peak_while_building_gb']:.2f} GB); target <= {TARGET_GB} GB: {verdict}"
    )


if __name__ == "__main__":
    main()
