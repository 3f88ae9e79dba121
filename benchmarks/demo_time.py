"""Wall time of ``minidecnn demo``, cold (Numba compiles every kernel) and warm (cached).

Each run is a new process, ``python -m minidecnn demo --out <temp dir>``, timed from
start to exit (interpreter start, imports, compilation, figures, index.html):

* cold: ``NUMBA_CACHE_DIR`` points to a new, empty folder, so every Numba kernel is
  compiled, as on the first run after ``pip install``;
* warm: the same again with the folder the previous cold run filled.

Cold and warm runs alternate, so both see the same machine load, and the load
average is printed before and after. With ``--blas-single`` every run is repeated
with ``OPENBLAS_NUM_THREADS=1`` (and the equivalents for other BLAS builds), side by
side, to show what BLAS threading costs on this machine.

Targets: cold <= 60 s, warm <= 10 s (2 cores).

    python benchmarks/demo_time.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SINGLE_BLAS = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_demo(cache_dir: str, out_dir: str, extra_env: dict) -> tuple[float, float]:
    """Wall and processor seconds (user + system, all threads) of one demo process."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "minidecnn", "demo", "--out", out_dir],
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"minidecnn demo failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold/warm pairs (default 3)")
    parser.add_argument(
        "--blas-single", action="store_true", help="also time with single-threaded BLAS"
    )
    args = parser.parse_args(argv)
    variants = {"default": {}}
    if args.blas_single:
        variants["BLAS 1 thread"] = SINGLE_BLAS
    times = {(v, kind): [] for v in variants for kind in ("cold", "warm")}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for name, extra in variants.items():
                cache = tempfile.mkdtemp(dir=tmp, prefix="numba-cache-")
                out = os.path.join(tmp, f"out-{r}")
                cold, cold_cpu = run_demo(cache, out, extra)
                warm, warm_cpu = run_demo(cache, out, extra)
                times[(name, "cold")].append((cold, cold_cpu))
                times[(name, "warm")].append((warm, warm_cpu))
                print(
                    f"run {r + 1} {name:>14}: cold {cold:6.1f} s (cpu {cold_cpu:5.1f} s), "
                    f"warm {warm:6.1f} s (cpu {warm_cpu:5.1f} s)",
                    flush=True,
                )
    load_after = os.getloadavg()
    print()
    print(
        f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) before "
        f"{', '.join(f'{v:.1f}' for v in load_before)}, after "
        f"{', '.join(f'{v:.1f}' for v in load_after)}"
    )
    print("medians, wall time (processor time in brackets); targets: cold 60 s, warm 10 s")
    print(f"{'variant':>14}  {'cold':>18}  {'warm':>18}")
    for name in variants:
        row = []
        for kind in ("cold", "warm"):
            wall = statistics.median(t for t, _ in times[(name, kind)])
            cpu = statistics.median(c for _, c in times[(name, kind)])
            row.append(f"{wall:6.1f} s ({cpu:5.1f} s)")
        print(f"{name:>14}  {row[0]:>18}  {row[1]:>18}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
