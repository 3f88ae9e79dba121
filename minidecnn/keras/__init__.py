"""Keras files <-> minidecnn models (the format notes are in the module docstrings)."""

from .export import save_keras, save_weights  # noqa: F401  (the writers)
