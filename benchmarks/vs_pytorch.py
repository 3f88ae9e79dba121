"""minidecnn against PyTorch + Captum on the CPU, side by side in one run.

Run from the repository root, with an environment that also has the optional
``bench`` extra (torch, captum, psutil)::

    python benchmarks/vs_pytorch.py                     # the full run (about 30-60 min)
    python benchmarks/vs_pytorch.py --repeats 5 --sg-repeats 1 --skip-startup   # quicker

What it does, in this order:

1. Start-up: ``import minidecnn`` (median of ``--import-runs`` fresh processes), and the
   first attribution on the embedded demo model in a fresh process, with a cold Numba
   cache (a new, empty ``NUMBA_CACHE_DIR``) and with a warm one (the same directory again).
2. VGG16 (224x224x3, 138M parameters) is built once with seeded random weights and written
   as a Keras 3 ``.weights.h5`` file by minidecnn's writer; ``minidecnn.zoo.vgg16(weights=
   path)`` and a PyTorch VGG16 (``torch_twins.TorchVGG16``) both load that file, and their
   logits must agree.
3. On one input (``grace_hopper.jpg`` from matplotlib, 224x224, caffe preprocessing,
   batch 1) and one target class, the two engines take turns, round after round (the order
   flips every round), after a warm-up: forward; the gradient of one logit (Captum
   ``Saliency(abs=False)``); Guided Backprop (Captum ``GuidedBackprop``); DeconvNet (Captum
   ``Deconvolution``); SmoothGrad with 50 samples (Captum ``NoiseTunnel`` with the same
   absolute sigma and the same batch size as minidecnn's).
4. The maps must agree: relative L2 difference ``||a - b|| / ||b||`` <= 1e-4 for the
   gradient, Guided Backprop and DeconvNet. Max-pool switches are compared too: where two
   window values are equal up to float32 rounding, the two engines' different summation
   orders can pick different winners (a near-tie, not a bug), and the map then differs
   locally. SmoothGrad draws its noise differently in Captum, so its map is checked against
   PyTorch gradients averaged over minidecnn's own noisy copies (``noisy_samples``).
5. A training step (forward, cross-entropy, backward, SGD update) of the demo CNN at batch
   64 in both engines from the same weights (checked: same loss, same updated weights).
6. Peak memory of SmoothGrad-50 on VGG16 in a child process per engine (``ru_maxrss``, and
   the peak of SmoothGrad alone after the high-water mark is reset where Linux allows).

Both engines use their default thread pools (2 cores here). The machine may be shared:
the load average is printed at the start and the end, and only the ratios measured in
the same rounds are meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run from a checkout
sys.path.insert(0, str(HERE))

TARGETS = {  # minidecnn / PyTorch, medians of the same run
    "forward": 1.5,
    "gradient": 1.5,
    "guided_backprop": 1.5,
    "deconvnet": 1.5,
    "smoothgrad-50": 1.2,
    "train step (demo CNN, batch 64)": 2.0,
}
TARGET_PEAK_GB = 2.0
TARGET_IMPORT_S = 1.0
TARGET_FIRST_MAP_S = 2.0
MAP_TOLERANCE = 1e-4

# ----------------------------------------------------------------------------- helpers


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    cores = os.cpu_count()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on {cores} cores"


def rel_diff(a, b) -> float:
    """``||a - b|| / ||b||`` over the whole array (float64)."""
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def peak_rss_gb() -> float:
    """The process's resident-memory high-water mark (VmHWM, else ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs``); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(args: list[str], env: dict | None = None) -> dict:
    """Run this script in a fresh process and return the JSON it prints last."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_image():
    """grace_hopper.jpg (shipped with matplotlib): centre 448x448 crop, 2x2 means -> 224x224,
    then Keras' caffe preprocessing (BGR, mean subtracted). Shape (1, 224, 224, 3)."""
    import numpy as np
    from matplotlib import cbook
    from matplotlib.image import imread

    from minidecnn.zoo import preprocess_input

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = imread(f, format="jpg").astype(np.float32)[..., :3]
    h, w = img.shape[:2]
    top, left = (h - 448) // 2, (w - 448) // 2
    img = img[top : top + 448, left : left + 448].reshape(224, 2, 224, 2, 3).mean(axis=(1, 3))
    return preprocess_input(img[None]).astype(np.float32)


# ----------------------------------------------------------------------------- children


def child_import() -> None:
    """``import minidecnn``, then every subpackage (subpackages are imported on first use)."""
    t = time.perf_counter()
    import minidecnn

    t1 = time.perf_counter()
    for name in ("explain", "keras", "zoo", "train", "data", "gradcheck"):
        getattr(minidecnn, name)
    print(json.dumps({"import_s": t1 - t, "everything_s": time.perf_counter() - t}))


def child_first_map() -> None:
    """Fresh process: import, load the embedded model, first and second attribution."""
    t0 = time.perf_counter()
    import minidecnn as mdc

    t1 = time.perf_counter()
    from minidecnn import demo_model

    try:
        model, source = demo_model.load_demo_model(), "load_demo_model()"
    except mdc.errors.ModelFileError:  # a checkout without the shipped weights file
        model, source = demo_model.build_demo_model(seed=0), "build_demo_model(seed=0)"
    x = demo_model.demo_data(1, "test").x
    t2 = time.perf_counter()
    mdc.explain.gradient(model, x)
    t3 = time.perf_counter()
    mdc.explain.guided_backprop(model, x)
    t4 = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": t1 - t0,
                "load_s": t2 - t1,
                "first_map_s": t3 - t2,
                "second_map_s": t4 - t3,
                "total_s": t3 - t0,
                "model": source,
            }
        )
    )


def child_memory(engine: str, weights: str, n_samples: int, batch: int, sigma: float) -> None:
    """Load VGG16 from ``weights``, reset the high-water mark, run SmoothGrad-n once."""
    import numpy as np

    x = test_image()
    if engine == "minidecnn":
        from minidecnn import explain, zoo

        model = zoo.vgg16(weights=weights)
        target = int(np.argmax(model.forward(x)[0]))
        after_load = peak_rss_gb()
        reset = reset_peak_rss()
        before = peak_rss_gb()
        explain.smoothgrad(
            model, x, target, n_samples=n_samples, sigma=sigma, batch_size=batch, seed=0
        )
    else:
        import torch
        from captum.attr import NoiseTunnel, Saliency
        from torch_twins import TorchVGG16, nchw

        net = TorchVGG16().load_keras_weights(weights).eval()
        for p in net.parameters():
            p.requires_grad_(False)
        xt = nchw(x)
        with torch.no_grad():
            target = int(net(xt)[0].argmax())
        after_load = peak_rss_gb()
        reset = reset_peak_rss()
        before = peak_rss_gb()
        NoiseTunnel(Saliency(net)).attribute(
            xt,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            nt_samples_batch_size=batch,
            stdevs=sigma,
            target=target,
            abs=False,
        )
    print(
        json.dumps(
            {
                "peak_gb": peak_rss_gb(),
                "rss_before_gb": before,
                "peak_loading_gb": after_load,
                "lifetime_peak_gb": max(after_load, peak_rss_gb()),
                "reset": reset,
            }
        )
    )


# ----------------------------------------------------------------------------- timing


def alternate(pairs: dict, repeats: int, warmup: int = 1) -> dict:
    """Time ``{task: (minidecnn_fn, torch_fn)}``, the engines taking turns.

    Each round runs every task on both engines, minidecnn first in even rounds and
    PyTorch first in odd ones. Returns ``{task: {"minidecnn": [s...], "pytorch": [s...]}}``
    and keeps the last result of each call in ``results[task]["maps"]``.
    """
    for mdc_fn, torch_fn in pairs.values():
        for _ in range(warmup):
            mdc_fn()
            torch_fn()
    times = {task: {"minidecnn": [], "pytorch": [], "maps": {}} for task in pairs}
    for r in range(repeats):
        for task, (mdc_fn, torch_fn) in pairs.items():
            order = [("minidecnn", mdc_fn), ("pytorch", torch_fn)]
            for engine, fn in order if r % 2 == 0 else order[::-1]:
                t = time.perf_counter()
                out = fn()
                times[task][engine].append(time.perf_counter() - t)
                times[task]["maps"][engine] = out
    return times


def startup_figures(args) -> dict:
    runs = [child(["--child", "import"]) for _ in range(args.import_runs)]
    imports = [r["import_s"] for r in runs]
    figures = {"import_s": statistics.median(imports), "import_runs": imports}
    figures["everything_s"] = statistics.median(r["everything_s"] for r in runs)
    with tempfile.TemporaryDirectory(prefix="mdc-numba-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = child(["--child", "first-map"], env)  # compiles every kernel into `cache`
        warm = [child(["--child", "first-map"], env) for _ in range(args.first_map_runs)]
    figures["cold"] = cold
    figures["warm"] = {
        k: statistics.median(w[k] for w in warm)
        for k in ("import_s", "load_s", "first_map_s", "second_map_s", "total_s")
    }
    figures["warm"]["model"] = warm[0]["model"]
    return figures


def build_vgg16(workdir: Path):
    """VGG16 with seeded random weights, written by minidecnn, loaded by both engines."""
    import numpy as np
    import torch
    from torch_twins import TorchVGG16

    from minidecnn import zoo

    path = workdir / "vgg16_random.weights.h5"
    zoo.vgg16(seed=0).save_weights(path)
    model = zoo.vgg16(weights=path)
    net = TorchVGG16().load_keras_weights(path).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    torch.manual_seed(0)
    return model, net, path, np


def switch_mismatches(model, net, x) -> list[tuple[str, int, int]]:
    """Per max-pool layer: cells whose switch differs between the engines, and cells."""
    import torch
    import torch.nn.functional as F
    from torch_twins import nchw

    model.forward(x)
    xt = nchw(x)
    inputs = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: inputs.append(inp[0]))
        for m in net.features
        if isinstance(m, torch.nn.MaxPool2d)
    ]
    with torch.no_grad():
        net(xt)
    for h in hooks:
        h.remove()
    pools = [layer for layer in model.layers if type(layer).__name__ == "MaxPool2D"]
    rows = []
    for layer, inp in zip(pools, inputs):
        _, idx = F.max_pool2d(inp, 2, return_indices=True)
        theirs = idx.numpy().transpose(0, 2, 3, 1)
        rows.append((layer.name, int((theirs != layer.switches).sum()), theirs.size))
    return rows


# ----------------------------------------------------------------------------- main parts


def attribution_benchmarks(args, model, net, x, np):
    import torch
    from captum.attr import Deconvolution, GuidedBackprop, NoiseTunnel, Saliency
    from torch_twins import nchw, nhwc

    from minidecnn import explain
    from minidecnn.explain._common import auto_batch_size

    xt = nchw(x)
    model.forward(x)
    logits = model.activations[model.logits]  # the input of the final softmax
    with torch.no_grad():
        logits_t = net(xt).numpy()
    target = int(np.argmax(logits[0]))
    check = {"logits": rel_diff(logits, logits_t), "target": target}
    check["switches"] = switch_mismatches(model, net, x)

    def torch_forward():
        with torch.inference_mode():
            return net(xt)

    saliency, gbp, deconv = Saliency(net), GuidedBackprop(net), Deconvolution(net)
    pairs = {
        "forward": (lambda: model.forward(x), torch_forward),
        "gradient": (
            lambda: explain.gradient(model, x, target),
            lambda: saliency.attribute(xt, target=target, abs=False),
        ),
        "guided_backprop": (
            lambda: explain.guided_backprop(model, x, target),
            lambda: gbp.attribute(xt, target=target),
        ),
        "deconvnet": (
            lambda: explain.deconvnet(model, x, target),
            lambda: deconv.attribute(xt, target=target),
        ),
    }
    times = alternate(pairs, args.repeats)
    for task in ("gradient", "guided_backprop", "deconvnet"):
        maps = times[task]["maps"]
        check[task] = rel_diff(np.asarray(maps["minidecnn"]), nhwc(maps["pytorch"]))

    # SmoothGrad: same absolute sigma, same batch size in both engines.
    sigma = float(explain.noise_sigma(x, args.noise_level)[0])
    model.forward(x)  # minidecnn sizes its batches from the activations of one image
    batch = args.sg_batch or auto_batch_size(model, args.n_samples, None)
    tunnel = NoiseTunnel(saliency)
    n = args.n_samples

    def mdc_sg(n_samples=n):
        return explain.smoothgrad(
            model, x, target, n_samples=n_samples, sigma=sigma, batch_size=batch, seed=0
        )

    def torch_sg(n_samples=n):
        return tunnel.attribute(
            xt,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            nt_samples_batch_size=batch,
            stdevs=sigma,
            target=target,
            abs=False,
        )

    sg_task = f"smoothgrad-{n}"
    mdc_sg(batch), torch_sg(batch)  # warm-up: one batch of noisy copies each
    times.update(alternate({sg_task: (mdc_sg, torch_sg)}, args.sg_repeats, warmup=0))
    sg_map = np.asarray(times[sg_task]["maps"]["minidecnn"])
    if not args.skip_sg_check:
        check[sg_task] = rel_diff(sg_map[0], torch_smoothgrad_at(net, x, target, n, sigma, batch))
    check["sg"] = {"sigma": sigma, "batch": batch}
    check["float64"] = float64_agreement(model, net, x, target, sigma, batch, np)
    return times, check


def torch_smoothgrad_at(net, x, target, n, sigma, batch):
    """PyTorch's gradients averaged over minidecnn's own noisy copies (``noisy_samples``)."""
    import numpy as np
    from torch_twins import nchw, nhwc

    from minidecnn import explain

    noisy = explain.noisy_samples(x, n, sigma=sigma, seed=0)[0]
    total = np.zeros(x.shape[1:], np.float64)
    for s in range(0, n, batch):
        xb = nchw(noisy[s : s + batch]).requires_grad_(True)
        net(xb)[:, target].sum().backward()
        total += nhwc(xb.grad).sum(axis=0)
    return total / n


def float64_agreement(model, net, x, target, sigma, batch, np, sg_samples=8) -> dict:
    """The same maps with both engines in float64 (the models are converted in place).

    In float32 the two engines sum in different orders, so values that tie up to
    rounding can go either way at a max-pool (a different switch) or a ReLU (z ~ 0), and
    one flipped switch moves a whole patch of the map. In float64 those near-ties are
    resolved alike, and what is left is the difference of the implementations.
    """
    import torch
    from captum.attr import Deconvolution, GuidedBackprop, Saliency
    from torch_twins import nchw, nhwc

    from minidecnn import explain

    model.astype(np.float64)
    net.double()
    x64 = x.astype(np.float64)
    xt = nchw(x64)
    out = {}
    for name, ours, theirs in (
        ("gradient", explain.gradient, lambda t: Saliency(net).attribute(t, target, abs=False)),
        ("guided_backprop", explain.guided_backprop, GuidedBackprop(net).attribute),
        ("deconvnet", explain.deconvnet, Deconvolution(net).attribute),
    ):
        a = np.asarray(ours(model, x64, target))
        b = nhwc(theirs(xt, target=target) if name != "gradient" else theirs(xt))
        out[name] = rel_diff(a, b)
    sg = explain.smoothgrad(
        model, x64, target, n_samples=sg_samples, sigma=sigma, batch_size=batch, seed=0
    )
    out["smoothgrad"] = rel_diff(
        sg[0], torch_smoothgrad_at(net, x64, target, sg_samples, sigma, batch)
    )
    out["sg_samples"] = sg_samples
    out["switches"] = switch_mismatches(model, net, x64)
    with torch.no_grad():
        model.forward(x64)
        out["logits"] = rel_diff(model.activations[model.logits], net(xt).numpy())
    return out


def training_benchmark(args, workdir: Path, np):
    import torch
    import torch.nn.functional as F
    from torch_twins import TorchDemoCNN, nchw

    from minidecnn.demo_model import build_demo_model, demo_data
    from minidecnn.train import SGD, softmax_cross_entropy, train_step

    path = workdir / "demo_cnn.weights.h5"
    model = build_demo_model(seed=0)
    model.save_weights(path)
    net = TorchDemoCNN().load_keras_weights(path).train()
    xb, yb, _ = demo_data(args.batch, "train")
    xt, yt = nchw(xb), torch.from_numpy(yb.astype(np.int64))
    opt_m, opt_t = SGD(args.lr), torch.optim.SGD(net.parameters(), lr=args.lr)

    def mdc_step():
        return train_step(model, xb, yb, softmax_cross_entropy, opt_m, model.logits)[0]

    def torch_step():
        opt_t.zero_grad()
        loss = F.cross_entropy(net(xt), yt)
        loss.backward()
        opt_t.step()
        return float(loss.detach())

    # one step from the same weights: same loss, same updated weights
    loss_m, loss_t = mdc_step(), torch_step()
    conv1_m = model.get_layer("conv1").params["W"]
    conv1_t = net.features[0].weight.detach().numpy().transpose(2, 3, 1, 0)
    check = {"loss": abs(loss_m - loss_t) / abs(loss_t), "conv1_W": rel_diff(conv1_m, conv1_t)}

    k = args.steps_per_repeat

    def many(step):
        def run():
            for _ in range(k):
                step()

        return run

    times = alternate({"train": (many(mdc_step), many(torch_step))}, args.repeats)
    for engine in ("minidecnn", "pytorch"):
        times["train"][engine] = [t / k for t in times["train"][engine]]
    return times["train"], check


def memory_figures(args, weights: Path, batch: int, sigma: float) -> dict:
    common = ["--weights", str(weights), "--n-samples", str(args.n_samples)]
    common += ["--sg-batch", str(batch), "--sigma", repr(sigma)]
    return {
        engine: child(["--child", "memory", "--engine", engine, *common])
        for engine in ("minidecnn", "pytorch")
    }


def print_report(args, startup, times, checks, train, train_check, memory, loads) -> None:
    import torch

    import minidecnn

    med = statistics.median
    print(f"\n{'=' * 88}")
    print(
        f"minidecnn {minidecnn.__version__} vs PyTorch {torch.__version__} "
        f"(Captum {__import__('captum').__version__}); torch threads "
        f"{torch.get_num_threads()}; NUMBA_NUM_THREADS="
        f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}"
    )
    for when, text in loads:
        print(f"{when}: {text}")
    print(
        f"\nVGG16, 224x224x3, batch 1; medians of {args.repeats} alternating rounds "
        f"(SmoothGrad: {args.sg_repeats}) after a warm-up"
    )
    head = f"{'task':<34}{'minidecnn s':>12}{'PyTorch s':>11}{'ratio':>8}{'target':>8}  ok"
    print(head + "\n" + "-" * len(head))
    rows = {task: times[task] for task in times}
    rows["train step (demo CNN, batch 64)"] = train
    for task, t in rows.items():
        a, b = med(t["minidecnn"]), med(t["pytorch"])
        key = "smoothgrad-50" if task.startswith("smoothgrad") else task
        goal = TARGETS.get(key)
        ok = "" if goal is None else ("yes" if a / b <= goal else "NO")
        goal_s = "" if goal is None else f"<={goal}"
        print(f"{task:<34}{a:12.3f}{b:11.3f}{a / b:8.2f}{goal_s:>8}  {ok}")

    f64 = checks["float64"]
    print(f"\nmaps, relative L2 difference ||mdc - torch|| / ||torch|| (<= {MAP_TOLERANCE}):")
    print(f"  {'':<16} {'float64':>9}  ok   {'float32 (timed runs)':>20}")
    print(f"  {'logits':<16} {f64['logits']:9.1e}       {checks['logits']:20.1e}")
    for task in ("gradient", "guided_backprop", "deconvnet"):
        ok = "yes" if f64[task] <= MAP_TOLERANCE else "NO"
        print(f"  {task:<16} {f64[task]:9.1e}  {ok:<4} {checks[task]:20.1e}")
    print(
        f"  (target class {checks['target']}; float32 maps differ where a near-tie at a "
        "max-pool or a ReLU goes the other way, see the switches below)"
    )
    sg = [k for k in checks if k.startswith("smoothgrad")]
    for k in sg:
        ok = "yes" if f64["smoothgrad"] <= MAP_TOLERANCE else "NO"
        print(
            f"  {k:<16} {f64['smoothgrad']:9.1e}  {ok:<4} "
            f"{checks[k]:20.1e}  (vs PyTorch gradients at minidecnn's noisy copies; "
            f"float64 with {f64['sg_samples']} samples)"
        )
    for label, rows in (("float32", checks["switches"]), ("float64", f64["switches"])):
        print(
            f"  max-pool switches that differ, {label}: "
            + ", ".join(f"{name} {bad}/{n}" for name, bad, n in rows)
        )
    print(
        f"  SmoothGrad: sigma {checks['sg']['sigma']:.4g} (0.15 x the image's range), "
        f"batches of {checks['sg']['batch']} noisy copies in both engines"
    )
    print(
        f"  training step from equal weights: loss rel. diff {train_check['loss']:.1e}, "
        f"updated conv1 kernel rel. diff {train_check['conv1_W']:.1e}"
    )

    if memory:
        goal = f"<= {TARGET_PEAK_GB} GB"
        print(f"\npeak resident memory, SmoothGrad-50 in a child process ({goal}):")
        for engine, m in memory.items():
            how = "reset after loading" if m["reset"] else "not resettable: lifetime peak"
            print(
                f"  {engine:<10} {m['peak_gb']:.2f} GB during SmoothGrad ({how}; "
                f"{m['rss_before_gb']:.2f} GB before it, model loaded), lifetime peak "
                f"{m['lifetime_peak_gb']:.2f} GB"
            )
    if startup:
        ok = "yes" if startup["import_s"] <= TARGET_IMPORT_S else "NO"
        runs = ", ".join(f"{t:.2f}" for t in startup["import_runs"])
        print(
            f"\nimport minidecnn: {startup['import_s']:.2f} s median of "
            f"{len(startup['import_runs'])} fresh processes ({runs}); <= {TARGET_IMPORT_S} s: {ok}"
        )
        print(
            f"  with every subpackage (explain, keras, zoo, train, data, gradcheck) imported "
            f"too: {startup['everything_s']:.2f} s (median)"
        )
        c, w = startup["cold"], startup["warm"]
        print(f"first attribution on the embedded model ({w['model']}), fresh process:")
        warm = f"warm cache (median of {args.first_map_runs})"
        for label, f in (("cold Numba cache", c), (warm, w)):
            print(
                f"  {label:<27} import {f['import_s']:.2f} s, load {f['load_s']:.2f} s, "
                f"first gradient {f['first_map_s']:.2f} s, next method "
                f"{f['second_map_s']:.3f} s; import to first map {f['total_s']:.2f} s"
            )
        ok = "yes" if w["first_map_s"] <= TARGET_FIRST_MAP_S else "NO"
        print(f"  first map with a warm cache <= {TARGET_FIRST_MAP_S} s: {ok}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="rounds per task (default 7)")
    p.add_argument("--sg-repeats", type=int, default=5, help="SmoothGrad rounds (default 5)")
    p.add_argument("--n-samples", type=int, default=50)
    p.add_argument("--noise-level", type=float, default=0.15)
    p.add_argument("--sg-batch", type=int, default=None, help="default: minidecnn's choice")
    p.add_argument("--batch", type=int, default=64, help="training batch (default 64)")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--steps-per-repeat", type=int, default=5)
    p.add_argument("--import-runs", type=int, default=7)
    p.add_argument("--first-map-runs", type=int, default=5)
    p.add_argument("--skip-startup", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--skip-sg-check", action="store_true")
    p.add_argument("--child", choices=["import", "first-map", "memory"], help=argparse.SUPPRESS)
    p.add_argument("--engine", help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    p.add_argument("--sigma", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.child == "import":
        return child_import()
    if args.child == "first-map":
        return child_first_map()
    if args.child == "memory":
        return child_memory(args.engine, args.weights, args.n_samples, args.sg_batch, args.sigma)

    # Captum announces every hook it sets and every input it marks as requiring grad
    warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\.")
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad")
    loads = [("start", load_average())]
    print(loads[0][1], flush=True)
    startup = None if args.skip_startup else startup_figures(args)
    with tempfile.TemporaryDirectory(prefix="mdc-vs-torch-") as tmp:
        workdir = Path(tmp)
        model, net, weights, np = build_vgg16(workdir)
        x = test_image()
        print("VGG16 built and loaded in both engines; timing ...", flush=True)
        times, checks = attribution_benchmarks(args, model, net, x, np)
        del model, net
        print("training step ...", flush=True)
        train, train_check = training_benchmark(args, workdir, np)
        memory = None
        if not args.skip_memory:
            print("memory children ...", flush=True)
            memory = memory_figures(args, weights, checks["sg"]["batch"], checks["sg"]["sigma"])
    loads.append(("end", load_average()))
    print_report(args, startup, times, checks, train, train_check, memory, loads)


if __name__ == "__main__":
    main()
