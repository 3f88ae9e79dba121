"""The demo job: every figure and the page that explains them, end to end.

``run_demo(quick=True)`` runs in-process (fewer scanned images and SmoothGrad
samples, the same figures); the real ``minidecnn demo`` runs once in a subprocess,
as a new user would run it.
"""

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from minidecnn.demo import (
    METHOD_CLASSES,
    _distinct_channels,
    _relu_after_convs,
    grace_hopper,
    run_demo,
)
from minidecnn.demo_model import build_demo_model
from minidecnn.errors import MinidecnnError, ModelFileError
from minidecnn.explain.projection import TopActivation

ROOT = Path(__file__).resolve().parents[1]

FIGURES = [
    *(f"methods_{name}.png" for name in METHOD_CLASSES),
    "top9_relu2.png",
    "top9_relu3.png",
    "filters.png",
    "activations.png",
    "unpooling.png",
]


def check_output(out: Path, result=None):
    """Every figure is a real picture, and index.html shows each with its sentence."""
    for name in FIGURES:
        img = mpimg.imread(out / name)
        assert img.shape[0] > 150 and img.shape[1] > 150, name
        assert img[..., :3].std() > 0.05, f"{name} looks blank"
    page = (out / "index.html").read_text()
    shown = re.findall(r'<img src="([^"]+)"', page)
    assert shown == FIGURES
    for name in METHOD_CLASSES:
        picture = mpimg.imread(out / "images" / f"{name}.png")
        assert picture.shape[:2] == (32, 32)
    if result is not None:
        assert [f.file for f in result.figures] == FIGURES
        for fig in result.figures:
            assert html.escape(fig.caption) in page
            assert len(fig.caption.split()) > 15  # a sentence that explains, not a label
    return page


@pytest.mark.slow
def test_quick_demo_writes_every_figure_and_the_page(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "filters.png").write_bytes(b"left over from an earlier run")
    lines = []
    result = run_demo(out, quick=True, log=lines.append)
    page = check_output(out, result)  # the stale filters.png was replaced by a real one
    assert result.index == out / "index.html"
    assert len(lines) == len(FIGURES) + 1 and lines[-1].endswith("index.html")
    assert "quick mode" in page
    accuracy = float(re.search(r"classifies ([\d.]+)% of the 200 test images", page).group(1))
    assert accuracy > 90  # the embedded model, not an untrained one
    assert list(result.seconds) == [
        "load",
        "methods",
        "top9",
        "filters",
        "activations",
        "unpooling",
        "index",
    ]
    assert sorted(p.name for p in out.glob("*.png")) == sorted(FIGURES)


def test_demo_refuses_a_file_as_the_folder(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(MinidecnnError, match="exists and is not a folder"):
        run_demo(tmp_path / "f", quick=True, log=None)


def test_demo_with_missing_weights(tmp_path):
    with pytest.raises(ModelFileError, match="no weights file"):
        run_demo(tmp_path, weights=tmp_path / "none.weights.h5", log=None)


@pytest.mark.slow
def test_the_real_command_end_to_end(tmp_path):
    """``python -m minidecnn demo`` as a user runs it: full size, in a fresh process."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MPLBACKEND": "TkAgg",
    }  # the demo must pick Agg itself
    done = subprocess.run(
        [sys.executable, "-m", "minidecnn", "demo", "--out", "pictures"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    page = check_output(tmp_path / "pictures")
    assert "quick mode" not in page and "of the 500 test images" in page
    last = done.stdout.strip().splitlines()[-1]
    assert str((tmp_path / "pictures" / "index.html").resolve()) in last


# ----------------------------------------------------------------------------- helpers


def test_grace_hopper_is_the_bundled_photograph():
    photo = grace_hopper()
    assert photo.shape == (600, 512, 3) and photo.dtype == np.float32
    assert 0 <= photo.min() and photo.max() <= 1
    small = grace_hopper(shrink=4, grey=True)
    assert small.shape == (150, 128, 1)
    block = photo[:4, :4] @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(small[0, 0, 0], block.mean(), rtol=1e-5)


def test_the_relus_after_each_convolution():
    assert _relu_after_convs(build_demo_model()) == ["relu1", "relu2", "relu3"]


def test_channels_are_chosen_strong_and_from_different_classes():
    def recs(values, images):
        return [TopActivation(i, (0, 0), v) for v, i in zip(values, images)]

    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    tops = {
        0: recs([9, 8, 7], [0, 1, 2]),  # class 0, weakest top value 7
        1: recs([9, 9, 8], [1, 2, 3]),  # class 0 again (2 of 3), weakest 8: ranked first
        2: recs([5, 5, 5], [3, 4, 5]),  # class 1
        3: recs([6, 6, 0], [6, 7, 8]),  # dead at its third image: skipped
        4: recs([4, 4, 4], [6, 7, 8]),  # class 2
    }
    assert _distinct_channels(tops, labels, 2) == [1, 2]
    assert _distinct_channels(tops, labels, 5) == [1, 2, 4]
