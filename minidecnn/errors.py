"""Exceptions raised by minidecnn.

Every exception a user can meet at a public boundary is a subclass of
:class:`MinidecnnError`, which is itself a :class:`ValueError`, so code that
already catches ``ValueError`` keeps working, and code that wants to catch only
our errors can do so.

Messages follow one form: *where*: what is wrong. Expected ..., received ...,
and, when there is one, the fix.
"""

from __future__ import annotations


class MinidecnnError(ValueError):
    """Base class of every error minidecnn raises on purpose."""


class ShapeError(MinidecnnError):
    """An array has the wrong rank, shape, channel count or layout."""


class DTypeError(MinidecnnError, TypeError):
    """An array has a dtype minidecnn cannot compute with (integer, object, ...)."""


class NotFiniteError(MinidecnnError):
    """An array holds NaN or infinite values."""


class ModelFileError(MinidecnnError):
    """A model or weights file is missing, unreadable, hostile or does not fit the model."""


class UnsupportedLayerError(ModelFileError):
    """A model file names a layer class (or option) minidecnn refuses to build."""


class TargetError(MinidecnnError):
    """An explanation target (class, channel, unit, mask, layer name) is invalid."""


def closest_names(name: str, candidates, n: int = 3) -> list[str]:
    """Return up to ``n`` names from ``candidates`` that look like ``name``.

    Used in error messages ("unknown layer 'conv_1'; did you mean 'conv1'?").
    """
    import difflib

    return difflib.get_close_matches(str(name), [str(c) for c in candidates], n=n, cutoff=0.5)


def did_you_mean(name: str, candidates) -> str:
    """Format the suggestion part of an unknown-name error, or '' when none is close."""
    close = closest_names(name, candidates)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


class UnknownNameError(MinidecnnError, KeyError):
    """A layer or node name that the model does not have."""

    def __str__(self):  # KeyError would otherwise print the message with quotes
        return str(self.args[0]) if self.args else ""


class DataFileError(MinidecnnError):
    """A data file (for example an MNIST-format IDX file) is missing, truncated or malformed."""
