"""Explanation: a plain array for maths, a recipe card for people."""

import pickle

import numpy as np
import pytest
from explain_nets import images, reference_net

from minidecnn import explain
from minidecnn.explain import Explanation


@pytest.fixture(scope="module")
def net():
    return reference_net(seed=130, softmax=True)


@pytest.fixture(scope="module")
def x():
    return images(2, seed=131)


def test_explanations_are_arrays_whose_derived_values_are_plain(net, x):
    g = explain.gradient(net, x)
    assert isinstance(g, np.ndarray) and isinstance(g, Explanation)
    for derived in (g * 2, g + g, np.abs(g), g.sum(axis=0), g.max(), g.raw):
        assert not isinstance(derived, Explanation)
    assert isinstance(g[0], Explanation) and g[0].info["method"] == "gradient"
    h = g.copy()
    h *= 2  # in place keeps the object
    assert isinstance(h, Explanation)
    np.testing.assert_array_equal(h.raw, 2 * g.raw)


def test_explanations_survive_pickling(net, x):
    g = explain.grad_cam(net, x)
    back = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(back, g)
    assert back.info == g.info
    np.testing.assert_array_equal(back.aux["cam"], g.aux["cam"])


@pytest.mark.parametrize(
    ("method", "kwargs", "expected"),
    [
        (
            explain.gradient,
            {},
            [
                "Simonyan",
                "dz = dout * 1[z > 0]",
                "Saliency(model)",
                "abs=False",
                '"gradient"',
                "(predicted)",
            ],
        ),
        (
            explain.deconvnet,
            {"target": 3, "layer": "relu2"},
            [
                "Zeiler & Fergus",
                "dz = max(dout, 0)",
                "NeuronDeconvolution(model, model.relu2)",
                "multiply by v",
                "channel c = 3",
                '"deconvnet"',
            ],
        ),
        (
            explain.guided_backprop,
            {"target": 2, "probability": True},
            [
                "Springenberg",
                "dz = max(dout, 0) * 1[z > 0]",
                "softmax output of class c",
                "GuidedBackprop(model)",
                "iNNvestigate refuses to explain a softmax output",
            ],
        ),
        (
            explain.gradient_x_input,
            {"target": [1, 2]},
            ["x * dF/dx", "InputXGradient(model)", '"input_t_gradient"', "c = [1, 2]"],
        ),
        (
            explain.integrated_gradients,
            {"steps": 5, "baseline": 0.5},
            [
                "midpoint",
                "steps=5",
                "baseline=0.5",
                'method="riemann_middle"',
                "n_steps=5",
                "reference_inputs=0.5",
            ],
        ),
        (
            explain.smoothgrad,
            {"n_samples": 3, "seed": 4, "variant": "squared"},
            [
                "SmoothGrad (squared) of Gradient",
                "sigma = noise_level * (x.max() - x.min())",
                "noise_level=0.15",
                "seed=4",
                'nt_type="smoothgrad_sq"',
                "nt_samples=3",
                'postprocess="square"',
                "augment_by_n=3",
            ],
        ),
        (
            explain.smoothgrad,
            {"n_samples": 2, "base": "guided", "seed": 1},
            [
                "dz = max(dout, 0) * 1[z > 0]",
                "NoiseTunnel(GuidedBackprop(model))",
                "averages plain gradients only",
            ],
        ),
        (
            explain.grad_cam,
            {},
            [
                "Selvaraju",
                "conv_layer=relu2",
                "LayerGradCam(model, model.relu2)",
                "relu_attributions=True",
                "(16, 16)",
                "no equivalent in iNNvestigate",
            ],
        ),
        (explain.guided_grad_cam, {"target": 0}, ["GuidedGradCam(model, model.relu2)"]),
        (
            explain.occlusion,
            {"patch": 8, "stride": 8},
            [
                "section 4.2",
                "patch=(8, 8)",
                "windows=2 x 2",
                "sliding_window_shapes=(3, 8, 8)",
                "strides=(3, 8, 8)",
            ],
        ),
    ],
)
def test_describe_gives_formula_rule_target_parameters_and_equivalents(
    net, x, method, kwargs, expected
):
    maps = method(net, x, **kwargs)
    text = maps.describe()
    assert "Captum" in text and "iNNvestigate" in text
    # the card wraps long lines, so look for the pieces in the unwrapped facts too
    haystack = " ".join([text, maps.info["captum"], maps.info["innvestigate"]])
    for piece in expected:
        assert piece in haystack, f"{piece!r} missing from:\n{text}"
    for key in ("method", "title", "reference", "formula", "target", "params", "captum"):
        assert key in maps.info
    assert f"raw map of shape {maps.shape}" in text


def test_sigma_is_reported_per_image(net, x):
    sg = explain.smoothgrad(net, x, n_samples=2, noise_level=0.1, seed=0)
    ranges = x.reshape(2, -1).max(axis=1) - x.reshape(2, -1).min(axis=1)
    np.testing.assert_allclose(sg.info["sigma"], 0.1 * ranges)
    assert f"{0.1 * ranges[0]:.6g}" in sg.describe()


def test_notes_warn_about_non_relu_nonlinearities():
    import minidecnn as mdc
    from minidecnn.layers import Dense, ReLU, Tanh

    model = mdc.Sequential([mdc.Input((3,)), Dense(4), Tanh(name="t"), Dense(2), ReLU()])
    xv = np.ones((1, 3), np.float32)
    text = explain.guided_backprop(model, xv, target=0).describe()
    assert "Tanh 't'" in text and "ordinary gradient" in text
    assert "Tanh" not in explain.gradient(model, xv, target=0).describe()
