"""Exercise ``smoothgrad``: average a saliency map over noisy copies of the input.

Write ``noise_sigma`` and ``smoothgrad``, then grade them::

    minidecnn check smoothgrad this_file.py

SmoothGrad (Smilkov et al. 2017) for a batch ``x`` of shape ``(N, H, W, C)``::

    SG(x) = (1/n) sum_{k=1..n} M(x + e_k),     e_k ~ N(0, sigma^2 I)

* ``M`` is a saliency map: here ``grad_fn``, which takes a batch shaped like ``x`` and
  returns maps of the same shape (in practice ``mdc.explain.gradient(model, batch, c)``).
* ``sigma`` is set **per image** from the range of the array fed to the network:
  ``sigma_n = noise_level * (x[n].max() - x[n].min())``; the paper suggests a
  noise level of 10 to 20 % and ``n`` around 50.
* The noise is Gaussian with zero mean, drawn from the generator ``rng`` you are given
  (``rng.standard_normal(shape)``), so a seed reproduces the map.

The Keras tutorial minidecnn grew out of added ``np.random.random(x.shape)``: uniform on
[0, 1), with mean 0.5 and about 0.1 % of a VGG input's range -- in effect no smoothing.
The grader records the noise you add and tells you if it looks like that.
"""

import numpy as np

from minidecnn.exercises import Unfinished


def noise_sigma(x, noise_level):
    """The noise standard deviation of each image.

    Parameters
    ----------
    x : ndarray of shape (N, ...)
    noise_level : float

    Returns
    -------
    sigma : ndarray of shape (N,)
        ``noise_level * (x[n].max() - x[n].min())`` for each image ``n``.
    """
    raise Unfinished("noise_sigma")


def smoothgrad(grad_fn, x, n_samples, noise_level, rng):
    """SmoothGrad of ``grad_fn`` at ``x``.

    Parameters
    ----------
    grad_fn : callable
        ``grad_fn(batch)`` with ``batch`` shaped like ``x`` returns maps shaped like ``x``.
        Call it once per noisy copy of the whole batch (``n_samples`` calls).
    x : ndarray of shape (N, H, W, C)
    n_samples : int
    noise_level : float
    rng : numpy.random.Generator
        Draw all the noise from it.

    Returns
    -------
    ndarray of shape (N, H, W, C)
        The mean of the ``n_samples`` maps.
    """
    raise Unfinished("smoothgrad")


if __name__ == "__main__":
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 3))
    print(noise_sigma(x, 0.15))
    print(smoothgrad(lambda b: b, x, 50, 0.15, np.random.default_rng(1)).mean())
