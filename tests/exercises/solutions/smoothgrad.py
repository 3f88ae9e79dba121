"""A correct answer to the smoothgrad exercise (for the grader's tests)."""

import numpy as np


def noise_sigma(x, noise_level):
    flat = x.reshape(len(x), -1)
    return noise_level * (flat.max(axis=1) - flat.min(axis=1))


def smoothgrad(grad_fn, x, n_samples, noise_level, rng):
    sigma = noise_sigma(x, noise_level).reshape(-1, *([1] * (x.ndim - 1)))
    total = np.zeros(x.shape)
    for _ in range(n_samples):
        total += grad_fn(x + rng.standard_normal(x.shape) * sigma)
    return total / n_samples
