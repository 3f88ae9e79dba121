"""The unpooling experiment of the original tutorial: why the DeconvNet needs switches.

An image goes through a chain of 2x2 max-pools and then back up again, in three ways:

``"switches"``
    Zeiler & Fergus unpooling: each pooled value returns to the cell that won
    its window (the stored switch), every other cell gets 0. This is what
    ``MaxPool2D.deconv`` (and its gradient) does.
``"top_left"``
    Unpooling with a *fixed* switch: each value goes to the top-left cell of its
    window. This is what the tutorial's CPU heuristic did (it concatenated zeros
    and reshaped); it needs no memory of the forward pass, and it forgets where
    things were.
``"nearest"``
    Nearest-neighbour upsampling: each value is copied to every cell of its
    window (no zeros; a blocky picture of the max envelope).

Facts the tests check, for a chain of pools: the switches put back *exact*
image values, at the surviving maxima, and zeros elsewhere; where every switch
of a chain happens to be top-left, the fixed-switch result is identical to it,
and elsewhere it puts the value in the wrong place; nearest-neighbour
upsampling is never below the image. The switch reconstruction correlates
better with the image than the fixed-switch one.

Examples
--------
>>> x = np.array([[1.0, 2.0], [4.0, 3.0]]).reshape(2, 2, 1)
>>> exp = unpooling_experiment(x, levels=1)
>>> exp.reconstructions["switches"][..., 0]
array([[0., 0.],
       [4., 0.]])
>>> exp.reconstructions["top_left"][..., 0]
array([[4., 0.],
       [0., 0.]])
>>> exp.reconstructions["nearest"][..., 0]
array([[4., 4.],
       [4., 4.]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_float_array, check_finite
from ..errors import ShapeError
from ..layers.pooling import MaxPool2D

METHODS = ("switches", "top_left", "nearest")


def unpool_top_left(y: np.ndarray, H: int, W: int, size: int = 2) -> np.ndarray:
    """Put each value of ``y`` (N, H_out, W_out, C) at the top-left cell of its window.

    Returns an ``(N, H, W, C)`` array, zero elsewhere (rows/columns that no window
    covered stay zero).

    >>> unpool_top_left(np.array([[[[5.0]]]]), 2, 3)[0, ..., 0]
    array([[5., 0., 0.],
           [0., 0., 0.]])
    """
    N, H_out, W_out, C = y.shape
    out = np.zeros((N, H, W, C), y.dtype)
    out[:, : H_out * size : size, : W_out * size : size] = y
    return out


def upsample_nearest(y: np.ndarray, H: int, W: int, size: int = 2) -> np.ndarray:
    """Copy each value of ``y`` (N, H_out, W_out, C) to every cell of its ``size x size`` window.

    >>> upsample_nearest(np.array([[[[5.0]]]]), 2, 3)[0, ..., 0]
    array([[5., 5., 0.],
           [5., 5., 0.]])
    """
    N, H_out, W_out, C = y.shape
    out = np.zeros((N, H, W, C), y.dtype)
    out[:, : H_out * size, : W_out * size] = y.repeat(size, axis=1).repeat(size, axis=2)
    return out


@dataclass
class UnpoolingExperiment:
    """Result of :func:`unpooling_experiment`.

    Attributes
    ----------
    image : ndarray of shape (H, W, C)
    pooled : list of ndarray
        The image after 1, 2, ..., ``levels`` max-pools.
    reconstructions : dict of str to ndarray of shape (H, W, C)
        ``"switches"``, ``"top_left"`` and ``"nearest"``: the deepest pooled image
        brought back to full size.
    switches : list of ndarray
        Each pool's switches (flat index ``h*W + w`` of the winner), for teaching.
    """

    image: np.ndarray
    pooled: list
    reconstructions: dict
    switches: list

    def correlations(self) -> dict:
        """Pearson correlation of each reconstruction with the image (all values pooled)."""
        x = self.image.ravel()
        return {
            name: float(np.corrcoef(x, rec.ravel())[0, 1])
            for name, rec in self.reconstructions.items()
        }

    def describe(self) -> str:
        corr = self.correlations()
        H, W, _ = self.image.shape
        h, w, _ = self.pooled[-1].shape
        lines = [
            f"Unpooling experiment: a {H}x{W} image through {len(self.pooled)} max-pools "
            f"of 2x2 (down to {h}x{w}) and back up.",
            f"{'method':>9}  {'corr. with image':>16}  {'nonzero pixels':>14}",
        ]
        for name in METHODS:
            nz = int(np.count_nonzero(self.reconstructions[name]))
            lines.append(f"{name:>9}  {corr[name]:>16.3f}  {nz:>14}")
        return "\n".join(lines)

    def __str__(self):
        return self.describe()


def unpooling_experiment(image, levels: int = 4) -> UnpoolingExperiment:
    """Pool ``image`` ``levels`` times with 2x2 max-pools, then unpool it three ways.

    Parameters
    ----------
    image : ndarray of shape (H, W, C) or (H, W)
        Any float image; each channel is pooled on its own.
    levels : int, default 4
        Number of 2x2 / stride 2 max-pools (the tutorial used 4). Needs
        ``H, W >= 2**levels``; rows and columns a pool drops stay zero on the way up.

    Returns
    -------
    UnpoolingExperiment

    Notes
    -----
    Going up one level from ``y`` (H_out, W_out) to (H, W)::

        switches  x[s(i, j)] = y[i, j]                      (s = the stored switch)
        top_left  x[2i, 2j] = y[i, j]
        nearest   x[2i + u, 2j + v] = y[i, j]   for u, v in {0, 1}

    References
    ----------
    Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014, §2.1.
    """
    where = "unpooling_experiment"
    x = as_float_array(image, where, "image")
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ShapeError(
            f"{where}: wrong image shape. Expected (H, W, C) or (H, W), received {x.shape}. "
            f"For a batch, pass one image: images[0]."
        )
    check_finite(x, where, "image")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"{where}: invalid levels. Expected an int >= 1, received {levels!r}.")
    if min(x.shape[:2]) < 2**levels:
        raise ShapeError(
            f"{where}: the image is too small for {levels} pools of 2x2. Expected H, W >= "
            f"{2**levels}, received {x.shape[0]}x{x.shape[1]}. Use fewer levels."
        )
    pools, pooled, shapes = [], [], []
    y = x[None]
    for _ in range(levels):
        pool = MaxPool2D(2)
        shapes.append(y.shape[1:3])
        y = pool.forward(y)
        pools.append(pool)
        pooled.append(y[0])
    recs = {name: y for name in METHODS}
    for pool, (H, W) in zip(reversed(pools), reversed(shapes)):
        recs["switches"] = pool.deconv(recs["switches"])
        recs["top_left"] = unpool_top_left(recs["top_left"], H, W)
        recs["nearest"] = upsample_nearest(recs["nearest"], H, W)
    return UnpoolingExperiment(
        image=x,
        pooled=pooled,
        reconstructions={name: r[0] for name, r in recs.items()},
        switches=[pool.switches[0] for pool in pools],
    )
