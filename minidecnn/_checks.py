"""Validation of arrays at public boundaries, with messages that say how to fix the call.

Every message has the form ``"<where>: <what is wrong>. Expected ..., received ...
<how to fix>"``; ``where`` names the layer or model (``"Conv2D 'block1_conv1'"``).
"""

from __future__ import annotations

import numpy as np

from .errors import DTypeError, NotFiniteError, ShapeError


def as_float_array(x, where: str, what: str = "input") -> np.ndarray:
    """Return ``x`` as a float32/float64 ndarray, or raise a clear error.

    float16 is widened to float32 (Numba kernels do not compute in half precision);
    integer, boolean, complex and object arrays are refused rather than silently cast,
    because an image of uint8 in [0, 255] usually also needs scaling or preprocessing.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise DTypeError(
                f"{where}: the {what} cannot be turned into an array ({exc}). "
                f"Expected a float32 ndarray, received {type(x).__name__}."
            ) from None
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype == np.float16:
            return arr.astype(np.float32)
        if arr.dtype.itemsize > 8:
            return arr.astype(np.float64)
        return arr
    if kind in "iub":
        raise DTypeError(
            f"{where}: the {what} has dtype {arr.dtype}. Expected a floating-point array "
            f"(float32 or float64), received {arr.dtype}. Convert it with "
            f"x.astype('float32') and apply the preprocessing the model expects "
            f"(for example x / 255.0)."
        )
    raise DTypeError(
        f"{where}: the {what} has dtype {arr.dtype}, which minidecnn cannot compute with. "
        f"Expected a float32 or float64 array, received dtype {arr.dtype} "
        f"(type {type(x).__name__})."
    )


def check_finite(x: np.ndarray, where: str, what: str = "input") -> None:
    """Raise :class:`NotFiniteError` if ``x`` holds NaN or infinite values."""
    if np.isfinite(x).all():
        return
    bad = ~np.isfinite(x)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_nan, n_inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    raise NotFiniteError(
        f"{where}: the {what} contains {n_nan} NaN and {n_inf} infinite values "
        f"(the first at index {first}). Expected finite numbers everywhere. "
        f"Check the preprocessing that produced it (a division by zero, a log of 0, "
        f"an unnormalised image)."
    )


def check_shape(x: np.ndarray, expected: tuple, where: str, what: str = "input") -> None:
    """Check ``x.shape == (N, *expected)``; ``None`` in ``expected`` matches any size.

    Recognises the common mistakes and says how to fix them: a single example
    without the batch axis, grayscale images without the channel axis, a
    channels-first array for a channels-last model, and a wrong channel count.

    Examples
    --------
    >>> check_shape(np.zeros((28, 28, 1)), (28, 28, 1), "Model 'm'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    minidecnn.errors.ShapeError: Model 'm': wrong input shape. ... pass x[None].
    """
    expected = tuple(expected)
    want = "(N, " + ", ".join("?" if d is None else str(d) for d in expected) + ")"

    def fits(shape):
        return len(shape) == len(expected) and all(
            e is None or e == s for e, s in zip(expected, shape)
        )

    if x.ndim == len(expected) + 1 and fits(x.shape[1:]):
        return
    c = expected[-1]
    hint = ""
    if fits(x.shape):
        hint = " This looks like one example without the batch axis: pass x[None]."
    elif c == 1 and x.ndim == len(expected) and fits((*x.shape[1:], 1)):
        hint = " This looks like a batch without the channel axis: pass x[..., None]."
    elif c == 1 and fits((*x.shape, 1)):
        hint = (
            " This looks like one image without batch and channel axes: pass x[None, ..., None]."
        )
    elif x.ndim == len(expected) + 1 and len(expected) == 3:
        if c is not None and x.shape[1] == c and x.shape[-1] != c:
            hint = (
                " This looks like a channels-first (N, C, H, W) array; minidecnn is "
                "channels-last (NHWC): pass x.transpose(0, 2, 3, 1)."
            )
        elif c is not None and x.shape[-1] != c:
            hint = f" The last axis holds the channels: {c} expected, {x.shape[-1]} received."
            if c == 3 and x.shape[-1] == 1:
                hint += " For grayscale images pass np.repeat(x, 3, axis=-1)."
            elif c == 3 and x.shape[-1] == 4:
                hint += " For RGBA images drop the alpha channel: x[..., :3]."
    elif x.ndim != len(expected) + 1:
        hint = f" The array has {x.ndim} axes; {len(expected) + 1} are expected."
    raise ShapeError(
        f"{where}: wrong {what} shape. Expected {want}, received {tuple(x.shape)}.{hint}"
    )


def check_positive_int(value, what: str, where: str) -> int:
    """Return ``value`` as an int if it is a strictly positive integer, else raise.

    >>> check_positive_int(3, "filters", "Conv2D")
    3
    >>> check_positive_int(0, "filters", "Conv2D")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Conv2D: invalid value for argument `filters`. Expected ... received filters=0.
    """
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1
    if not ok:
        raise ValueError(
            f"{where}: invalid value for argument `{what}`. Expected a strictly positive "
            f"int, received {what}={value!r}."
        )
    return int(value)
