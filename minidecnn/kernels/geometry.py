"""Window arithmetic shared by convolution and pooling: output sizes and padding.

Padding follows TensorFlow/Keras.

* ``"valid"``: no padding, ``H_out = floor((H - KH) / stride) + 1``.
* ``"same"``: ``H_out = ceil(H / stride)``; the total padding is
  ``max((H_out - 1) * stride + KH - H, 0)``, split as ``top = total // 2``,
  ``bottom = total - top``. With an odd total the extra row goes to the
  bottom (and the extra column to the right).

Examples
--------
>>> window_geometry(5, 3, 2, "same")   # H=5, KH=3, stride 2
(3, 1, 1)
>>> window_geometry(6, 3, 2, "same")   # total padding 1: nothing on top, 1 at the bottom
(3, 0, 1)
>>> window_geometry(7, 3, 2, "valid")
(3, 0, 0)
"""

from __future__ import annotations

PADDINGS = ("valid", "same")


def window_geometry(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """Output length and padding of one spatial axis.

    Parameters
    ----------
    size : int
        Input length ``H`` (or ``W``).
    kernel : int
        Window length ``KH`` (or ``KW``).
    stride : int
        Step between windows.
    padding : {"valid", "same"}
        TensorFlow padding mode.

    Returns
    -------
    out : int
        ``H_out``; 0 or less means the window does not fit.
    before, after : int
        Zero rows added on top (left) and bottom (right).
    """
    if padding == "valid":
        return (size - kernel) // stride + 1, 0, 0
    if padding == "same":
        out = -(-size // stride)  # ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    raise ValueError(f"padding must be 'valid' or 'same'; received {padding!r}.")


def as_pair(value, what: str, where: str) -> tuple[int, int]:
    """Turn ``3`` or ``(3, 3)`` into ``(3, 3)``, validating that both are positive ints."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        pair = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
    if len(pair) != 2 or not all(_is_positive_int(v) for v in pair):
        raise ValueError(
            f"{where}: invalid {what}. Expected a positive int or a pair of positive ints, "
            f"received {what}={value!r}."
        )
    return int(pair[0]), int(pair[1])


def _is_positive_int(v) -> bool:
    try:
        return not isinstance(v, bool) and int(v) == v and v >= 1
    except (TypeError, ValueError):
        return False
