"""Grading of the ``smoothgrad`` exercise: the noise scale and the average over noisy copies.

The noise itself is random, so the grader checks what the method promises rather than
digits: ``noise_sigma`` against :func:`minidecnn.explain.noise_sigma`; SmoothGrad of a
linear model is its weight vector exactly; the noise the student adds (recorded by the
grader's ``grad_fn``) has zero mean, the right standard deviation per image and a
Gaussian shape; the result is the mean of the maps; the same ``rng`` seed gives the
same answer.
"""

from __future__ import annotations

import numpy as np

from ..explain.smoothgrad import noise_sigma
from .grading import Grader, as_array


def _batch():
    """Three images with very different ranges (so a global range is visibly wrong)."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((3, 6, 6, 3))
    x[1] *= 10.0
    x[2] = x[2] * 0.1 + 5.0
    return x


def grade_noise_sigma(g: Grader) -> None:
    x = _batch()
    for level in (0.15, 0.1):
        ranges = np.ptp(x.reshape(3, -1), axis=1).round(2).tolist()
        case = f"three images with ranges {ranges}, noise_level={level}"
        ok, got = g.call("noise_sigma", case, x, level)
        if not ok:
            continue
        expected = noise_sigma(x, level)
        flat = x.reshape(len(x), -1)
        ranges = flat.max(axis=1) - flat.min(axis=1)
        mistakes = [
            (
                np.full(len(x), level * (x.max() - x.min())),
                "That is one sigma from the range of the whole batch. The range is measured "
                "per image: sigma_n = noise_level * (x[n].max() - x[n].min()).",
            ),
            (
                level / ranges,
                "sigma = noise_level * (max - min), not noise_level / (max - min).",
            ),
            (
                level * flat.std(axis=1),
                "The paper scales by the range (max - min) of each image, not its std.",
            ),
        ]
        g.compare("noise_sigma", case, expected, got, "sigma", mistakes=mistakes)


class Recorder:
    """A ``grad_fn`` that remembers every batch it is called with."""

    def __init__(self, x, fn):
        self.x = x
        self.fn = fn
        self.calls = []
        self.outputs = []
        self.bad_shape = None

    def __call__(self, batch):
        batch = np.array(batch, dtype=np.float64)
        if batch.shape != self.x.shape and self.bad_shape is None:
            self.bad_shape = batch.shape
        self.calls.append(batch)
        out = self.fn(batch)
        self.outputs.append(out)
        return out.copy()


def _linear_case(g: Grader) -> None:
    case = "a linear model: grad_fn always returns its weights w (SmoothGrad must return w)"
    x = _batch()
    w = np.random.default_rng(22).standard_normal(x.shape[1:])
    rec = Recorder(x, lambda b: np.broadcast_to(w, b.shape).copy())
    ok, got = g.call("smoothgrad", case, rec, x, 10, 0.15, np.random.default_rng(0))
    if not ok:
        return
    expected = np.broadcast_to(w, x.shape)
    g.compare(
        "smoothgrad",
        case,
        expected,
        got,
        "the smoothed map",
        mistakes=[(10 * expected, "That is the sum of the maps: divide by n_samples (the mean).")],
    )


def _noise_case(g: Grader) -> None:
    n = 300
    case = (
        f"the noise added to three images (grad_fn records its inputs; n_samples={n}, "
        f"noise_level=0.15)"
    )
    x = _batch()
    rec = Recorder(x, lambda b: b)  # the map of an input is the input itself
    ok, got = g.call("smoothgrad", case, rec, x, n, 0.15, np.random.default_rng(1))
    if not ok:
        return
    if rec.bad_shape is not None:
        g.fail(
            "smoothgrad",
            case,
            f"grad_fn was called with an array of shape {rec.bad_shape}. Expected batches "
            f"shaped like x, {x.shape}: one noisy copy of every image per call.",
        )
        return
    if len(rec.calls) != n:
        g.fail(
            "smoothgrad",
            case,
            f"grad_fn was called {len(rec.calls)} times. Expected n_samples = {n} calls, one "
            f"per noisy copy of the batch.",
        )
        return
    noise = np.stack(rec.calls) - x  # (n, N, H, W, C)
    sigma = noise_sigma(x, 0.15)
    for k in range(len(x)):
        e = noise[:, k].ravel()
        m, s = e.mean(), e.std()
        within = float(np.mean(np.abs(e) < sigma[k]))
        tag = f"image {k} (sigma = {sigma[k]:.4g})"
        bound = 5 * s / np.sqrt(e.size)  # five standard errors of the mean
        if abs(m) > bound:
            hint = ""
            if abs(m - 0.5) < 0.05:
                hint = (
                    "Noise with mean 0.5 is np.random.random: uniform on [0, 1), the original "
                    "Keras tutorial's bug. Draw rng.standard_normal(x.shape) * sigma."
                )
            g.fail(
                "smoothgrad",
                case,
                f"{tag}: the noise has mean {m:.4g}. Expected zero-mean noise "
                f"(|mean| < {bound:.2g}, five standard errors).",
                hint,
            )
            return
        if abs(s / sigma[k] - 1) > 0.03:
            g.fail(
                "smoothgrad",
                case,
                f"{tag}: the noise has standard deviation {s:.4g}. Expected sigma = "
                f"noise_level * (x[n].max() - x[n].min()) = {sigma[k]:.4g} (within 3 %).",
                "Each image gets its own sigma, from its own range (use your noise_sigma).",
            )
            return
        if abs(within - 0.6827) > 0.02:
            g.fail(
                "smoothgrad",
                case,
                f"{tag}: {100 * within:.1f} % of the noise lies within one sigma. Gaussian "
                f"noise puts 68.3 % there.",
                "Draw Gaussian noise (rng.standard_normal), not uniform noise.",
            )
            return
    g.ok("smoothgrad", case)
    mean_map = np.mean(rec.outputs, axis=0)
    g.compare(
        "smoothgrad",
        "the result is the mean of grad_fn's maps over the noisy copies",
        mean_map,
        got,
        "the smoothed map",
        rtol=1e-9,
        atol=1e-9,
    )


def _seed_case(g: Grader) -> None:
    case = "the noise comes from the rng argument (same seed, same map; other seed, other map)"
    x = _batch()
    results = []
    for seed in (5, 5, 6):
        ok, got = g.call("smoothgrad", case, Recorder(x, lambda b: b), x, 4, 0.15,
                         np.random.default_rng(seed))  # fmt: skip
        if not ok:
            return
        arr = as_array(got)
        if arr is None or arr.shape != x.shape:
            g.fail(
                "smoothgrad",
                case,
                f"the map has shape {getattr(arr, 'shape', None)}, not {x.shape}.",
            )
            return
        results.append(arr)
    if not np.array_equal(results[0], results[1]):
        g.fail(
            "smoothgrad",
            case,
            "two calls with np.random.default_rng(5) gave different maps.",
            "Draw the noise with the rng you are given (rng.standard_normal), not with "
            "np.random.* (the global generator), so that a seed reproduces the map.",
        )
    elif np.array_equal(results[0], results[2]):
        g.fail(
            "smoothgrad",
            case,
            "seeds 5 and 6 gave identical maps: no noise was drawn from rng.",
            "Add rng.standard_normal(x.shape) * sigma to x for every sample.",
        )
    else:
        g.ok("smoothgrad", case)


def _zero_noise_case(g: Grader) -> None:
    case = "noise_level = 0 gives grad_fn(x) itself"
    x = _batch()
    ok, got = g.call("smoothgrad", case, Recorder(x, lambda b: b**2), x, 3, 0.0,
                     np.random.default_rng(2))  # fmt: skip
    if ok:
        g.compare("smoothgrad", case, x**2, got, "the smoothed map")


def grade(g: Grader) -> None:
    grade_noise_sigma(g)
    _linear_case(g)
    _noise_case(g)
    _seed_case(g)
    _zero_noise_case(g)
