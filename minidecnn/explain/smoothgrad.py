"""SmoothGrad (Smilkov et al. 2017) and its variants SmoothGrad-Squared and VarGrad.

Average a sensitivity map ``M`` over noisy copies of the image::

    mean      SG(x)    = (1/n) sum_i M(x + e_i)
    squared   SG-SQ(x) = (1/n) sum_i M(x + e_i)^2
    vargrad   VG(x)    = (1/n) sum_i (M(x + e_i) - SG(x))^2

with ``e_i ~ N(0, sigma^2 I)`` and, per image,
``sigma = noise_level * (x.max() - x.min())`` measured on the array fed to the
network (after preprocessing). The paper suggests a noise level of 10-20 % and
``n`` around 50. ``M`` is the gradient by default; Guided Backprop, DeconvNet,
Gradient x Input and Integrated Gradients can be smoothed too.

The noisy copies go through the network in batches whose activations fit in a fixed
memory budget, so ``n_samples`` does not change the peak memory; the noise is drawn in
the same order whatever the batch size, so a seed gives the same map for any batch
size.

(The Keras tutorial this project grew out of added ``np.random.random`` noise: uniform
on [0, 1), mean 0.5, about 0.1 % of a VGG input's range -- in effect no smoothing.)
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import TargetError
from ._common import (
    auto_batch_size,
    check_batch_size,
    check_choice,
    check_float,
    check_int,
    check_model_and_input,
    chunks,
    forward_and_reverse,
)
from .explanation import Explanation
from .integrated import check_baseline, path_gradients
from .recipes import METHODS, make_info
from .targets import resolve_target

VARIANTS = ("mean", "squared", "vargrad")

#: accepted ``base`` names -> (method name, ReLU rule)
BASES = {
    "gradient": ("gradient", "gradient"),
    "guided": ("guided_backprop", "guided"),
    "guided_backprop": ("guided_backprop", "guided"),
    "deconvnet": ("deconvnet", "deconvnet"),
    "gradient_x_input": ("gradient_x_input", "gradient"),
    "integrated_gradients": ("integrated_gradients", "gradient"),
}


def noise_sigma(x: np.ndarray, noise_level: float) -> np.ndarray:
    """Per-image noise standard deviation ``noise_level * (x_n.max() - x_n.min())``.

    Parameters
    ----------
    x : ndarray of shape (N, ...)
    noise_level : float

    Returns
    -------
    ndarray of shape (N,), float64

    Examples
    --------
    >>> noise_sigma(np.array([[0.0, 2.0], [-1.0, 1.0]]), 0.15)
    array([0.3, 0.3])
    """
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    return noise_level * (flat.max(axis=1) - flat.min(axis=1))


def _make_rng(seed, where):
    """A Generator and the seed to report (fresh entropy is drawn, and reported, for None)."""
    if isinstance(seed, np.random.Generator):
        return seed, "a Generator"
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise TargetError(
            f"{where}: invalid seed. Expected None, an int >= 0 or a numpy Generator, "
            f"received seed={seed!r}."
        )
    return np.random.default_rng(int(seed)), int(seed)


def _sigmas(x, noise_level, sigma, where) -> np.ndarray:
    if sigma is None:
        return noise_sigma(x, noise_level)
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(len(x), float(s))
    if s.shape != (len(x),) or not np.isfinite(s).all() or (s < 0).any():
        raise TargetError(
            f"{where}: invalid sigma. Expected a finite number >= 0, or one per image "
            f"(shape ({len(x)},)), received sigma={sigma!r}. Or leave sigma=None and set "
            f"noise_level, a fraction of each image's range."
        )
    return s


def noise_stream(x, sigmas, n_samples, chunk, rng):
    """Yield ``(owner, x_noisy)`` batches of at most ``chunk`` noisy copies.

    Copy ``r`` (in image-major order: all samples of image 0, then of image 1, ...)
    belongs to image ``owner = r // n_samples``. The noise is drawn in that order, so
    the stream does not depend on ``chunk``.
    """
    for part in chunks(len(x) * n_samples, chunk):
        owner = np.arange(part.start, part.stop) // n_samples
        e = rng.standard_normal((len(owner), *x.shape[1:]), dtype=x.dtype)
        e *= sigmas[owner].astype(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        yield owner, x[owner] + e


def noisy_samples(x, n_samples=8, noise_level=0.15, *, sigma=None, seed=None) -> np.ndarray:
    """The noisy copies SmoothGrad averages over, to look at (same noise, same seed).

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
    n_samples : int, default 8
    noise_level : float, default 0.15
    sigma : float or ndarray of shape (N,), optional
        Absolute standard deviation, instead of ``noise_level``.
    seed : int, optional

    Returns
    -------
    ndarray of shape (N, n_samples, H, W, C)
        ``smoothgrad(model, x, n_samples=n, seed=s)`` evaluates its map at exactly
        these inputs.
    """
    where = "explain.noisy_samples"
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.ndim < 2:
        raise TargetError(
            f"{where}: expected a float batch (N, ...), received dtype {x.dtype}, shape {x.shape}."
        )
    n_samples = check_int(n_samples, "n_samples", where)
    noise_level = check_float(noise_level, "noise_level", where)
    rng, _ = _make_rng(seed, where)
    sig = _sigmas(x, noise_level, sigma, where)
    (_, xs), *_ = noise_stream(x, sig, n_samples, len(x) * n_samples, rng)
    return xs.reshape(len(x), n_samples, *x.shape[1:])


class _Accumulator:
    """Per-image running mean, mean of squares, or variance (Chan et al.'s pairwise update)."""

    def __init__(self, shape, dtype, variant):
        self.variant = variant
        self.count = np.zeros(shape[0], np.int64)
        self.mean = np.zeros(shape, dtype)  # running mean of M (or of M^2)
        self.m2 = np.zeros(shape, dtype) if variant == "vargrad" else None

    def add(self, maps, owner):
        for i in np.unique(owner):
            g = maps[owner == i]
            if self.variant == "squared":
                g = g * g
            k, n = len(g), self.count[i]
            g_mean = g.mean(axis=0)
            delta = g_mean - self.mean[i]
            self.mean[i] += delta * (k / (n + k))
            if self.m2 is not None:
                self.m2[i] += ((g - g_mean) ** 2).sum(axis=0) + delta**2 * (n * k / (n + k))
            self.count[i] = n + k

    def result(self):
        if self.variant == "vargrad":
            n = self.count.astype(self.m2.dtype)
            return self.m2 / n.reshape(-1, *([1] * (self.m2.ndim - 1)))
        return self.mean


def smoothgrad(
    model,
    x,
    target=None,
    layer=None,
    *,
    n_samples=50,
    noise_level=0.15,
    sigma=None,
    variant="mean",
    base="gradient",
    batch_size=None,
    seed=None,
    probability=False,
    steps=None,
    baseline=None,
) -> Explanation:
    """SmoothGrad: a sensitivity map averaged over Gaussian-noise copies of each image.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, H, W, C)
        Preprocessed as the model expects; the noise scale is measured on it.
    target, layer, probability
        As in :func:`~minidecnn.explain.gradient`. The class, position and value are
        chosen on the clean image and kept for every noisy copy.
    n_samples : int, default 50
        ``n``: noisy copies per image.
    noise_level : float, default 0.15
        ``sigma / (x.max() - x.min())`` per image (the paper: 0.10 to 0.20).
    sigma : float or ndarray of shape (N,), optional
        An absolute standard deviation instead (Captum's ``stdevs``, iNNvestigate's
        ``noise_scale``); overrides ``noise_level``.
    variant : {"mean", "squared", "vargrad"}, default "mean"
    base : {"gradient", "guided", "deconvnet", "gradient_x_input", "integrated_gradients"}
        The map ``M`` being smoothed (``"guided_backprop"`` is accepted for ``"guided"``).
    batch_size : int, optional
        Noisy copies per forward pass (path points, for Integrated Gradients); by
        default as many as fit in ``ACTIVATION_BUDGET`` bytes of activations.
    seed : int or numpy Generator, optional
        Without one, fresh entropy is drawn and reported in ``info["params"]["seed"]``
        so the map can be reproduced.
    steps, baseline : optional
        Integrated Gradients' parameters when ``base="integrated_gradients"``
        (defaults 50 and 0.0).

    Returns
    -------
    Explanation of shape (N, H, W, C)
        ``info["sigma"]`` holds the effective standard deviation per image.

    Raises
    ------
    TargetError
        For an invalid target, negative or non-finite noise, ``n_samples < 1``, an
        unknown variant or base, ...

    Notes
    -----
    ``SG(x) = (1/n) sum_i M(x + e_i)``, ``e_i ~ N(0, sigma^2 I)``,
    ``sigma = noise_level * (x.max() - x.min())``. SmoothGrad-Squared averages ``M^2``;
    VarGrad is the (1/n) variance of the ``M(x + e_i)``. As sigma -> 0 SmoothGrad
    returns ``M(x)``; for ``f = relu`` it is ``Phi(x / sigma)``; for a linear model it is
    the weight vector and VarGrad is 0.

    References
    ----------
    D. Smilkov, N. Thorat, B. Kim, F. Viegas, M. Wattenberg. SmoothGrad: removing noise
    by adding noise. arXiv:1706.03825, 2017. J. Adebayo et al. 2018 and S. Hooker et al.
    (ROAR) 2019 for VarGrad and SmoothGrad-Squared.
    """
    where = "explain.smoothgrad"
    x = check_model_and_input(model, x, where)
    n_samples = check_int(n_samples, "n_samples", where)
    noise_level = check_float(noise_level, "noise_level", where)
    variant = check_choice(variant, "variant", VARIANTS, where)
    base = check_choice(base, "base", tuple(BASES), where)
    method, rule = BASES[base]
    batch_size = check_batch_size(batch_size, where)
    if method != "integrated_gradients" and (steps is not None or baseline is not None):
        raise TargetError(
            f"{where}: steps and baseline belong to Integrated Gradients. Expected them only "
            f"with base='integrated_gradients', received base={base!r}, steps={steps!r}, "
            f"baseline={baseline!r}."
        )
    steps = check_int(50 if steps is None else steps, "steps", where)
    b = check_baseline(0.0 if baseline is None else baseline, x, where)
    sig = _sigmas(x, noise_level, sigma, where)
    rng, seed_used = _make_rng(seed, where)

    model.forward(x)
    top = resolve_target(model, target, layer, probability, where)
    n = len(x)
    is_ig = method == "integrated_gradients"
    size = auto_batch_size(model, n * n_samples * (steps if is_ig else 1), batch_size)
    noise_chunk = max(1, size // steps) if is_ig else size

    acc = _Accumulator(x.shape, np.result_type(x, model.dtype), variant)
    for owner, xb in noise_stream(x, sig, n_samples, noise_chunk, rng):
        if is_ig:
            g = path_gradients(model, xb, b[owner], top, owner, steps, size)
            maps = (xb - b[owner]) * g / steps
        else:
            maps = forward_and_reverse(model, xb, top, owner, rule)
            if method == "gradient_x_input":
                maps = xb * maps
        acc.add(maps, owner)

    params = {"n_samples": n_samples}
    params.update({"noise_level": noise_level} if sigma is None else {"sigma": "absolute"})
    params.update(variant=variant, base=method, batch_size=noise_chunk, seed=seed_used)
    if is_ig:
        params.update(steps=steps, baseline=_short_baseline(baseline))
    recipe = {**params, "sigma_first": round(float(sig[0]), 6)}
    info = make_info("smoothgrad", model, top, params, "shaped like x", rule=rule, recipe=recipe)
    info["title"] = f"SmoothGrad ({variant}) of {METHODS[method][0]}"
    info["sigma"] = sig.tolist()
    info["sigma_text"] = _sigma_text(x, sig, noise_level, sigma)
    return Explanation(acc.result(), info)


def _short_baseline(baseline):
    arr = np.asarray(0.0 if baseline is None else baseline)
    return repr(float(arr)) if arr.ndim == 0 else f"array of shape {arr.shape}"


def _sigma_text(x, sig, noise_level, sigma) -> str:
    if sigma is not None:
        return f"sigma = {_listing(sig)} (absolute, given)"
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    ranges = flat.max(axis=1) - flat.min(axis=1)
    return (
        f"sigma = noise_level * (x.max() - x.min()) per image = {noise_level} * "
        f"{_listing(ranges)} = {_listing(sig)}"
    )


def _listing(values) -> str:
    vals = [float(f"{v:.6g}") for v in values]
    if len(vals) == 1:
        return str(vals[0])
    return str(vals) if len(vals) <= 6 else str(vals[:6])[:-1] + ", ...]"
