"""The command line: every error a person can act on ends with one line and status 2.

Tests call ``minidecnn.cli.main`` in-process (what the console script and
``python -m minidecnn`` run) and read stdout/stderr with capsys; one test runs
``python -m minidecnn`` in a subprocess to check the module entry point itself.
"""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

import minidecnn as mdc
from minidecnn.cli import main
from minidecnn.demo_model import SHAPES_CLASSES, demo_data

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shapes_png(tmp_path_factory):
    """Test image 2 of the demo data (a triangle the demo model gets right), as a PNG."""
    x, y, names = demo_data(10, "test")
    i = int(np.flatnonzero(y == names.index("triangle"))[0])
    path = tmp_path_factory.mktemp("images") / "triangle.png"
    mpimg.imsave(path, x[i])
    return path


def run(capsys, *argv):
    """Run the command; return (status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, *fragments):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [[], ["demo"], ["explain"], ["info"], ["train-demo"]])
def test_help_everywhere_with_examples(capsys, command):
    status, out, _ = run(capsys, *command, "--help")
    assert status == 0
    assert "usage: minidecnn" in out and "examples:" in out


def test_no_command_prints_the_help(capsys):
    status, out, _ = run(capsys)
    assert status == 0
    assert "demo" in out and "explain" in out and "train-demo" in out


def test_python_dash_m_runs_the_same_main(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "minidecnn", "explain", str(tmp_path / "missing.png")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("minidecnn explain: no image at")
    assert "Traceback" not in done.stderr


def test_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'minidecnn = "minidecnn.cli:main"' in text


# ----------------------------------------------------------------------------- errors


def test_missing_image(capsys, tmp_path):
    status, _, err = run(capsys, "explain", tmp_path / "nope.png")
    assert_one_line_error(status, err, "minidecnn explain: no image at", "nope.png")


def test_image_is_a_folder(capsys, tmp_path):
    status, _, err = run(capsys, "explain", tmp_path)
    assert_one_line_error(status, err, "is a folder", "Expected the path of a PNG or JPEG")


def test_file_that_is_not_an_image(capsys, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a PNG at all")
    status, _, err = run(capsys, "explain", bad)
    assert_one_line_error(status, err, "cannot read", "as an image", "Convert it to PNG")


def test_missing_model_file(capsys, shapes_png, tmp_path):
    status, _, err = run(capsys, "explain", shapes_png, "--model", tmp_path / "none.h5")
    assert_one_line_error(status, err, "load_keras('none.h5'): no such file")


def test_unreadable_model_file(capsys, shapes_png, tmp_path):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"\x00" * 64)
    status, _, err = run(capsys, "explain", shapes_png, "--model", bad)
    assert_one_line_error(status, err, "minidecnn explain: error: load_keras('broken.keras')")


def test_info_of_an_unreadable_model(capsys, tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not hdf5")
    status, _, err = run(capsys, "info", bad)
    assert_one_line_error(status, err, "minidecnn info: error: load_keras('broken.h5')")


def test_class_target_out_of_range(capsys, shapes_png):
    status, _, err = run(capsys, "explain", shapes_png, "--target", 10)
    assert_one_line_error(status, err, "class 10 is out of range", "Expected an int in [0, 9]")


def test_channel_target_out_of_range(capsys, shapes_png):
    status, _, err = run(capsys, "explain", shapes_png, "--layer", "relu2", "--target", 32)
    assert_one_line_error(status, err, "channel 32 is out of range", "[0, 31]")


def test_unknown_layer_suggests_the_name(capsys, shapes_png):
    status, _, err = run(capsys, "explain", shapes_png, "--layer", "relu9")
    assert_one_line_error(status, err, "unknown layer 'relu9'", "Did you mean")


def test_unknown_method_suggests_the_name(capsys, shapes_png):
    status, _, err = run(capsys, "explain", shapes_png, "--method", "guidd")
    assert_one_line_error(status, err, "unknown method 'guidd'", "Did you mean 'guided'")


def test_layer_with_a_method_that_takes_none(capsys, shapes_png):
    status, _, err = run(
        capsys, "explain", shapes_png, "--method", "occlusion", "--layer", "relu2"
    )
    assert_one_line_error(status, err, "--layer does not apply to --method occlusion")


def test_two_model_sources(capsys, shapes_png):
    status, _, err = run(capsys, "explain", shapes_png, "--model", "a.h5", "--vgg16", "b.h5")
    assert_one_line_error(status, err, "not allowed with argument", "--help")


def test_bad_option_value(capsys, shapes_png):
    status, _, err = run(capsys, "explain", shapes_png, "--samples", "0")
    assert_one_line_error(status, err, "argument --samples", "positive whole number")


def test_unknown_command(capsys):
    status, _, err = run(capsys, "explian")
    assert_one_line_error(status, err, "invalid choice: 'explian'")


def test_missing_vgg16_weights(capsys, shapes_png, tmp_path):
    status, _, err = run(capsys, "explain", shapes_png, "--vgg16", tmp_path / "vgg16.h5")
    assert_one_line_error(status, err, "no VGG16 weights file at", "never downloads")


def test_missing_demo_weights(capsys, shapes_png, tmp_path):
    status, _, err = run(capsys, "explain", shapes_png, "--weights", tmp_path / "w.weights.h5")
    assert_one_line_error(status, err, "load_demo_model: no weights file", "train-demo")


def test_demo_into_a_file(capsys, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x")
    status, _, err = run(capsys, "demo", "--out", target)
    assert_one_line_error(status, err, "exists and is not a folder", "--out")


def test_train_demo_needs_a_weights_name(capsys, tmp_path):
    status, _, err = run(capsys, "train-demo", "--out", tmp_path / "model.h5")
    assert_one_line_error(status, err, "invalid --out", "'.weights.h5'")


def test_unwritable_output(capsys, shapes_png, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder is needed
    status, _, err = run(capsys, "explain", shapes_png, "--out", blocker / "sub" / "map.png")
    assert_one_line_error(status, err, "minidecnn explain: error: cannot use")


# ----------------------------------------------------------------------------- explain


@pytest.mark.parametrize(
    "method",
    [
        "gradient",
        "smoothgrad",
        "guided",
        "deconvnet",
        "gradcam",
        "guided-gradcam",
        "gradient-x-input",
        "integrated-gradients",
        "occlusion",
    ],
)
def test_explain_every_method_on_the_demo_model(capsys, shapes_png, tmp_path, method):
    out = tmp_path / f"{method}.png"
    status, stdout, err = run(
        capsys, "explain", shapes_png, "--method", method, "--out", out, "--samples", 8
    )
    assert status == 0, err
    assert "predicted class 2 'triangle'" in stdout
    assert stdout.splitlines()[1].split()[1] == "triangle"  # the top class, printed first
    fig = mpimg.imread(out)
    assert fig.shape[0] > 300 and fig.shape[1] > 3 * fig.shape[0] // 2  # three panels side by side
    assert fig[..., :3].std() > 0.05  # not a blank picture


def test_explain_default_output_name_and_method(capsys, shapes_png, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, stdout, _ = run(capsys, "explain", shapes_png)
    assert status == 0
    assert (tmp_path / "triangle_guided.png").is_file()
    assert "wrote triangle_guided.png" in stdout


def test_explain_a_channel_of_a_layer(capsys, shapes_png, tmp_path):
    from minidecnn.cli.explain_image import explain_image

    result = explain_image(
        shapes_png, method="deconvnet", layer="relu3", target=5, out=tmp_path / "ch5.png"
    )
    assert result.target.startswith("channel 5 of relu3 at its strongest position")
    model = mdc.demo_model.load_demo_model()
    expected = mdc.explain.deconvnet(model, result.x, target=5, layer="relu3")
    np.testing.assert_array_equal(np.asarray(result.maps), np.asarray(expected))


@pytest.mark.parametrize("kind", ["jpeg", "grey", "rgba", "large"])
def test_images_of_every_kind_are_read_and_resized(capsys, tmp_path, kind):
    x, y, _ = demo_data(10, "test")
    img = x[int(np.flatnonzero(y == 2)[0])]  # a triangle
    if kind == "jpeg":
        path = tmp_path / "t.jpg"
        mpimg.imsave(path, img, pil_kwargs={"quality": 95})
    elif kind == "grey":
        path = tmp_path / "t.png"
        mpimg.imsave(path, img.mean(axis=-1), cmap="gray")
    elif kind == "rgba":
        path = tmp_path / "t.png"
        mpimg.imsave(path, np.concatenate([img, np.ones_like(img[..., :1])], axis=-1))
    else:  # 4x larger: area resampling brings it back to 32x32
        path = tmp_path / "t.png"
        mpimg.imsave(path, np.repeat(np.repeat(img, 4, axis=0), 4, axis=1))
    status, stdout, err = run(capsys, "explain", path, "--out", tmp_path / "m.png")
    assert status == 0, err
    if kind in ("jpeg", "rgba", "large"):  # colour kept: still a triangle
        assert "predicted class 2 'triangle'" in stdout


def test_explain_a_keras_file_with_labels_and_scaling(capsys, shapes_png, tmp_path):
    from minidecnn.cli.explain_image import explain_image

    model = mdc.demo_model.load_demo_model()
    path = tmp_path / "shapes.keras"
    mdc.save_keras(model, path)
    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(n.upper() for n in SHAPES_CLASSES) + "\n")
    status, stdout, err = run(
        capsys,
        "explain",
        shapes_png,
        "--model",
        path,
        "--labels",
        labels,
        "--method",
        "gradient",
        "--out",
        tmp_path / "g.png",
    )
    assert status == 0, err
    assert "predicted class 2 'TRIANGLE'" in stdout
    result = explain_image(
        shapes_png, model=path, preprocess="255", method="gradient", out=tmp_path / "g255.png"
    )
    assert result.x.max() > 1.5  # pixel values in [0, 255]


# ----------------------------------------------------------------------------- VGG16


def write_release_file(path, model):
    """A VGG16 weights file laid out like Keras' published one (layer_names, <layer>_W_1:0)."""
    import h5py

    names = ["input_1"] + [leaf.name for leaf in model.layers]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            group = f.create_group(name)
            params = {} if name == "input_1" else model.get_layer(name).params
            wnames = [f"{name}_W_1:0", f"{name}_b_1:0"] if params else []
            group.attrs["weight_names"] = [w.encode() for w in wnames]
            for wname, key in zip(wnames, ("W", "b")):
                group.create_dataset(wname, data=params[key])


def test_vgg16_uses_imagenet_preprocessing_and_labels(capsys, tmp_path, monkeypatch):
    """A VGG16 at 32x32 (so the file is small) stands in for the published 224x224 one."""
    from minidecnn.cli import explain_image as module
    from minidecnn.cli.images import read_image, resize

    monkeypatch.setattr(module, "VGG16_INPUT_SHAPE", (32, 32, 3))
    results = []  # what the command computed, to compare with a direct computation
    real = module.explain_image
    monkeypatch.setattr(
        module, "explain_image", lambda *a, **k: results.append(real(*a, **k)) or results[-1]
    )
    source = mdc.zoo.vgg16(input_shape=(32, 32, 3), seed=3)
    source.get_layer("predictions").params["b"][281] = 50.0  # make 'tabby' win
    weights = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    write_release_file(weights, source)
    image = tmp_path / "photo.jpg"
    mpimg.imsave(image, np.random.default_rng(0).uniform(size=(48, 40, 3)))

    status, stdout, err = run(
        capsys,
        "explain",
        image,
        "--vgg16",
        weights,
        "--method",
        "gradient",
        "--out",
        tmp_path / "v.png",
    )
    assert status == 0, err
    assert "gradient for predicted class 281 'tabby', p = 1.000" in stdout
    assert "1.000  tabby (class 281)" in stdout
    result = results[0]
    expected_x = mdc.zoo.preprocess_input(255.0 * resize(read_image(image), 32, 32))
    np.testing.assert_allclose(result.x[0], expected_x, rtol=1e-6, atol=1e-4)
    expected = mdc.explain.gradient(source, expected_x[None].astype(np.float32))
    np.testing.assert_allclose(
        np.asarray(result.maps),
        np.asarray(expected),
        rtol=1e-4,
        atol=1e-6 * float(np.abs(expected).max()),
    )


# ----------------------------------------------------------------------------- check


def test_check_hands_over_to_the_exercise_grader(capsys, tmp_path):
    solution = ROOT / "tests" / "exercises" / "solutions" / "maxpool.py"
    status, out, _ = run(capsys, "check", "maxpool", solution)
    assert status == 0 and "PASSED" in out
    status, out, _ = run(capsys, "check", "--start", "maxpool", tmp_path / "mine.py")
    assert status == 0 and (tmp_path / "mine.py").is_file()
    status, out, _ = run(capsys, "check", "maxpool", tmp_path / "mine.py")
    assert status == 1 and "not written yet" in out
    status, out, _ = run(capsys, "check", "--list")
    assert status == 0 and "relu_rules" in out
    status, _, err = run(capsys, "check", "maxpool", tmp_path / "none.py")
    assert status == 2 and "Traceback" not in err


# ----------------------------------------------------------------------------- info, train-demo


def test_info_of_the_demo_model(capsys):
    status, out, _ = run(capsys, "info")
    assert status == 0
    assert 'Model: "demo_shapes"' in out and "conv1 (Conv2D)" in out
    assert "classes: 0 square, 1 circle, 2 triangle" in out


def test_info_of_a_keras_file(capsys, tmp_path):
    path = tmp_path / "demo.keras"
    mdc.save_keras(mdc.demo_model.load_demo_model(), path)
    status, out, _ = run(capsys, "info", path)
    assert status == 0
    assert "relu3 (ReLU)" in out and "Total params: 96,426" in out
    assert "logits at 'fc2'" in out


def test_train_demo_quick_run_writes_usable_weights(capsys, shapes_png, tmp_path, monkeypatch):
    import functools

    from minidecnn import demo_model

    # the shipped recipe takes minutes; a tiny run with small evaluation sets shows the wiring
    small = functools.partial(demo_model.train_demo, n_val=50, n_test=100)
    monkeypatch.setattr(demo_model, "train_demo", small)
    out = tmp_path / "mine.weights.h5"
    status, stdout, err = run(capsys, "train-demo", "--out", out, "--epochs", 1, "--n-train", 200)
    assert status == 0, err
    assert out.is_file() and f"minidecnn demo --weights {out}" in stdout
    assert "test accuracy" in stdout and "on 100 fresh images" in stdout
    status, stdout, err = run(
        capsys, "explain", shapes_png, "--weights", out, "--out", tmp_path / "m.png"
    )
    assert status == 0, err
    assert (tmp_path / "m.png").is_file()
