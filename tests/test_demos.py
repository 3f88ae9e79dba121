"""Every demo script runs in quick mode and writes its figures; the VGG16 demo's paths.

The scripts are run in this process with ``runpy`` (their ``main(argv)`` returns the
exit status), so a failure shows a normal traceback; one script is also run as a
program, the way a reader starts it.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"
SCRIPTS = sorted(DEMOS.glob("[0-9][0-9]_*.py"))
PNG = b"\x89PNG\r\n\x1a\n"

#: what each script writes (in quick mode); a new script must be added here
FIGURES = {
    "01_pooling_unpooling": ["unpooling.png", "unpooling_face.png", "switch_positions.png"],
    "02_convolution_transpose": ["im2col.png", "transpose.png", "single_unit.png"],
    "03_vanilla_backprop": ["saliency_top5.png", "logit_vs_probability.png"],
    "04_smoothgrad": ["noise_level.png", "sample_size.png", "tutorial_noise_bug.png"],
    "05_guided_backprop": ["guided_vs_gradient.png", "trace.png", "units.png"],
    "06_deconvnet": ["class_maps.png", "unit_projections.png"],
    "07_zeiler_fergus_top9": [
        "top9_relu1.png", "top9_relu2.png", "top9_relu3.png", "filters.png",
    ],
    "08_feature_evolution": [
        "evolution_relu1.png", "evolution_relu3.png", "learning_curve.png",
        "checkpoints/epoch_00.weights.h5", "checkpoints/epoch_01.weights.h5",
    ],
    "09_occlusion": ["occlusion.png"],
    "10_sanity_checks": [
        "randomisation_maps.png", "randomisation_curves.png", "class_sensitivity.png",
        "random_network_recovery.png",
    ],
    "11_vgg16_keras_weights": [
        "vgg16_top_classes.png", "vgg16_smoothgrad.png", "vgg16_deconv_layers.png",
    ],
}  # fmt: skip
SLOW = {"07_zeiler_fergus_top9", "08_feature_evolution", "10_sanity_checks",
        "11_vgg16_keras_weights"}  # fmt: skip


def load(name: str) -> dict:
    """The namespace of a demo script, without running its ``main``."""
    return runpy.run_path(str(DEMOS / f"{name}.py"), run_name="demo_under_test")


def test_every_script_is_listed():
    assert [p.stem for p in SCRIPTS] == sorted(FIGURES)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(FIGURES)],
)
def test_demo_runs_in_quick_mode(name, tmp_path, capsys):
    status = load(name)["main"](["--quick", "--out", str(tmp_path)])
    assert status == 0
    for figure in FIGURES[name]:
        path = tmp_path / figure
        assert path.is_file(), f"{name} did not write {figure}"
        if figure.endswith(".png"):
            data = path.read_bytes()
            assert data.startswith(PNG) and len(data) > 5_000, f"{figure} is not a real PNG"
    assert str(tmp_path) in capsys.readouterr().out  # says where the figures are


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_demo_documents_itself_and_writes_outside_the_package(name, monkeypatch):
    ns = load(name)
    doc = ns["__doc__"]
    assert doc.startswith(name[:2] + " - ")
    assert "What it teaches" in doc and "Run\n" in doc and "--quick" in doc
    assert "Paper" in doc
    args = ns["parse_args"]([])
    assert Path(args.out) == Path("demo_output") / name  # relative: under the current folder
    assert args.quick is False
    monkeypatch.setenv("MINIDECNN_DEMO_QUICK", "1")
    assert ns["parse_args"]([]).quick is True


def test_demo_runs_as_a_program(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = DEMOS / "01_pooling_unpooling.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "unpooling.png").is_file()
    assert "switches" in result.stdout


# ----------------------------------------------------------------------------- 11: VGG16


def test_vgg16_demo_without_weights_says_how_to_get_them(tmp_path, capsys):
    status = load("11_vgg16_keras_weights")["main"](["--out", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in out
    assert "64373286793e3c8b2b4e3219cbf3544b" in out
    assert "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" in out
    assert "528 MB" in out
    assert not any(tmp_path.iterdir())  # nothing computed, nothing written


def test_vgg16_demo_missing_file(tmp_path, capsys):
    missing = tmp_path / "nowhere.h5"
    status = load("11_vgg16_keras_weights")["main"]([str(missing), "--out", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err
    assert f"no weights file at {str(missing)!r}" in err and "md5" in err


def test_vgg16_demo_wrong_file_is_refused_with_the_loader_message(tmp_path, capsys):
    from minidecnn.demo_model import demo_weights_path

    args = [str(demo_weights_path()), "--out", str(tmp_path)]
    assert load("11_vgg16_keras_weights")["main"](args) == 2
    err = capsys.readouterr().err
    # the loader's own message, prefixed with the script's name; no traceback
    assert err.startswith("11_vgg16_keras_weights: load_weights(")
    assert "demo_shapes.weights.h5" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- 08: checkpoints


@pytest.mark.slow
def test_feature_evolution_reads_a_checkpoint_folder(tmp_path, capsys):
    main = load("08_feature_evolution")["main"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["--quick", "--checkpoints", str(empty), "--out", str(tmp_path / "a")]) == 2
    assert "no epoch_*.weights.h5 files" in capsys.readouterr().err

    from minidecnn.demo_model import build_demo_model

    folder = tmp_path / "ckpt"
    folder.mkdir()
    for epoch in (0, 1):  # two checkpoints of the demo architecture
        build_demo_model(seed=epoch).save_weights(folder / f"epoch_{epoch:02d}.weights.h5")
    out = tmp_path / "b"
    assert main(["--quick", "--checkpoints", str(folder), "--out", str(out)]) == 0
    assert (out / "evolution_relu1.png").is_file() and (out / "evolution_relu3.png").is_file()
    assert not (out / "learning_curve.png").exists()  # no training here
