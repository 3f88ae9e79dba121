"""Shared test helpers.

Tests that need an optional heavy library (Keras, TensorFlow, JAX, PyTorch) get it
with :func:`optional_import`. Locally a missing library skips the test; in CI
(``MINIDECNN_REQUIRE_OPTIONAL=1``) it fails, so a broken install cannot turn the
cross-checks into silent skips.
"""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # TF 2.21 crashes in conv grads otherwise
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "jax")


def optional_import(name: str):
    """Import ``name`` or skip the test (fail instead when MINIDECNN_REQUIRE_OPTIONAL=1)."""
    required = os.environ.get("MINIDECNN_REQUIRE_OPTIONAL") == "1"
    module = importlib.import_module(name) if required else pytest.importorskip(name)
    if getattr(module, "__file__", None) is None:
        # A bare folder on sys.path (tests/keras) imports as an empty namespace package
        # when the real library is missing: that is not the library.
        sys.modules.pop(name, None)
        if required:
            raise ImportError(f"{name} is not installed (found only the folder {module!r}).")
        pytest.skip(f"{name} is not installed")
    return module


@pytest.fixture
def rng():
    """A seeded generator; tests that need other seeds make their own."""
    return np.random.default_rng(20261129)
