"""Recipe cards: what an :class:`~minidecnn.explain.Explanation` says about itself.

Each method fills ``info`` with the facts (:func:`make_info`); :func:`render_card`
prints them; :func:`captum_call` and :func:`innvestigate_call` write the calls that
compute the same map in Captum (PyTorch) and iNNvestigate (tf.keras), so a student
can reproduce it in another library.
The mappings follow those libraries' documented defaults (Captum's ``Saliency``
takes ``abs=True`` unless told otherwise; its ``NoiseTunnel`` uses an absolute
``stdevs``; iNNvestigate refuses softmax outputs and selects neurons by a flat index).
"""

from __future__ import annotations

import textwrap

from ._common import rule_notes

RELU_RULES = {
    "gradient": "dz = dout * 1[z > 0]  (the true gradient)",
    "deconvnet": "dz = max(dout, 0)  (ignores the forward input z)",
    "guided": "dz = max(dout, 0) * 1[z > 0]  (forward mask and backward rectification)",
}

#: method name -> (title, reference, ReLU rule, formula)
METHODS = {
    "gradient": (
        "Gradient (saliency map)",
        "Simonyan, Vedaldi & Zisserman 2014, arXiv:1312.6034",
        "gradient",
        "map = dF/dx (one backward pass; Simonyan's picture is max_c |map|)",
    ),
    "deconvnet": (
        "DeconvNet",
        "Zeiler & Fergus, ECCV 2014, arXiv:1311.2901",
        "deconvnet",
        "the top signal projected to pixels: unpool through the max-pool switches, "
        "rectify, filter with the transposed weights, layer by layer (not a gradient)",
    ),
    "guided_backprop": (
        "Guided Backpropagation",
        "Springenberg, Dosovitskiy, Brox & Riedmiller 2015, arXiv:1412.6806",
        "guided",
        "the backward pass of dF/dx with every ReLU passing only positive signal "
        "where its input was positive (not a gradient)",
    ),
    "gradient_x_input": (
        "Gradient x Input",
        "Shrikumar et al. 2016; equals LRP-0 for ReLU/max-pool nets (Ancona et al. 2018)",
        "gradient",
        "map = x * dF/dx (sums to F(x) for a bias-free ReLU net: Euler's theorem)",
    ),
    "integrated_gradients": (
        "Integrated Gradients",
        "Sundararajan, Taly & Yan, ICML 2017, arXiv:1703.01365",
        "gradient",
        "map = (x - x') * (1/m) sum_k dF(x' + a_k (x - x'))/dx, a_k = (k - 1/2)/m (midpoint rule)",
    ),
    "smoothgrad": (
        "SmoothGrad",
        "Smilkov, Thorat, Kim, Viegas & Wattenberg 2017, arXiv:1706.03825",
        None,
        "map = (1/n) sum_i M(x + e_i), e_i ~ N(0, sigma^2 I), sigma = noise_level * "
        "(x.max() - x.min()) per image",
    ),
    "grad_cam": (
        "Grad-CAM",
        "Selvaraju et al., ICCV 2017, arXiv:1610.02391",
        "gradient",
        "L = ReLU(sum_k alpha_k A^k), alpha_k = mean_ij dF/dA^k_ij, A = the conv "
        "layer's output; L upsampled bilinearly to the input size",
    ),
    "guided_grad_cam": (
        "Guided Grad-CAM",
        "Selvaraju et al., ICCV 2017, arXiv:1610.02391",
        "guided",
        "map = guided_backprop(x) * upsample(Grad-CAM)[..., None]",
    ),
    "occlusion": (
        "Occlusion sensitivity",
        "Zeiler & Fergus, ECCV 2014, section 4.2",
        None,
        "S(window) = F(x) - F(x with the window set to fill); each pixel gets the mean "
        "of S over the windows that cover it",
    ),
}


def make_info(method, model, top, params, output, extra_notes=(), rule=None, recipe=None):
    """The ``Explanation.info`` dict of a method.

    ``params`` are shown; ``recipe`` (default ``params``) feeds the equivalent calls.
    """
    title, reference, method_rule, formula = METHODS.get(method, (method, "", None, ""))
    rule = rule or method_rule
    target = top.as_info()
    target["summary"] = top.summary()
    info = {
        "method": method,
        "title": title,
        "reference": reference,
        "formula": formula,
        "relu_rule": RELU_RULES.get(rule),
        "rule": rule,
        "target": target,
        "params": dict(params),
        "output": output,
        "notes": [*rule_notes(model, rule or "gradient"), *extra_notes],
    }
    if top.kind == "strongest" or top.kind == "channel":
        dead = [i for i, v in enumerate(top.values) if v <= 0]
        if dead:
            info["notes"].append(
                f"images {dead}: the chosen activation is <= 0, so the top signal is not "
                f"positive (DeconvNet and guided maps of a non-positive signal are 0)"
            )
    recipe = params if recipe is None else recipe
    info["captum"] = captum_call(method, target, recipe)
    info["innvestigate"] = innvestigate_call(method, target, recipe, shape=top.shape)
    return info


_CAPTUM = {
    "gradient": ("Saliency", "NeuronGradient"),
    "deconvnet": ("Deconvolution", "NeuronDeconvolution"),
    "guided_backprop": ("GuidedBackprop", "NeuronGuidedBackprop"),
    "gradient_x_input": ("InputXGradient", "NeuronGradient"),
    "integrated_gradients": ("IntegratedGradients", "NeuronIntegratedGradients"),
}

_INNVESTIGATE = {
    "gradient": "gradient",
    "deconvnet": "deconvnet",
    "guided_backprop": "guided_backprop",
    "gradient_x_input": "input_t_gradient",
    "integrated_gradients": "integrated_gradients",
    "smoothgrad": "smoothgrad",
}

_NT_TYPE = {"mean": "smoothgrad", "squared": "smoothgrad_sq", "vargrad": "vargrad"}

_NCHW = "xt = torch.tensor(x.transpose(0, 3, 1, 2))"  # Captum works on NCHW tensors


def _classes(target) -> str:
    c = target.get("classes", ["c"])
    return str(c[0]) if len(set(c)) == 1 else str(c)


def _neuron(target) -> str | None:
    """Captum's neuron_selector (C, H, W order) for the first image, or None."""
    if target["kind"] not in ("strongest", "channel", "unit"):
        return None
    pos = target["positions"][0]
    sel = (pos[-1], *pos[:-1]) if len(pos) == 3 else pos
    return str(tuple(sel))


def _flat_index(target, shape) -> str:
    """iNNvestigate's neuron_selection: the flat (row-major) index into (H, W, C)."""
    pos = target["positions"][0]
    flat, stride = 0, 1
    for p, s in zip(reversed(pos), reversed(shape)):
        flat += p * stride
        stride *= s
    return str(flat)


def _model_note(target) -> str:
    if target["kind"] == "probability":
        return "the PyTorch model must end with its softmax"
    return "the PyTorch model must output logits"


def captum_call(method: str, target: dict, params: dict) -> str:
    """The Captum call computing the same map (for the first image of a batch)."""
    kind = target["kind"]
    if kind in ("mask", "logit_mask", "callable"):
        return (
            "no direct equivalent: wrap the model in a forward function that returns the "
            "explained scalar (for a mask, (layer_output * mask).sum()) and pass target=None"
        )
    call, notes = _captum(method, target, params)
    if call is None:
        return notes[0]
    notes.append("Captum's maps are NCHW: .permute(0, 2, 3, 1) gives NHWC again")
    return f"{_NCHW}; {call}  # " + "; ".join(notes)


def _captum(method, target, params):
    """``(call, notes)`` for :func:`captum_call`; ``(None, [reason])`` when there is none."""
    kind = target["kind"]
    layer = target.get("node")
    sel = _neuron(target)
    classes = f"target={_classes(target)}"
    scaled = ["then multiply by v"] if kind in ("strongest", "channel") else []
    if method in ("grad_cam", "guided_grad_cam"):
        layer = params["conv_layer"]
        H, W = params.get("input_hw", ("H", "W"))
        if method == "grad_cam":
            return (
                f"cam = LayerGradCam(model, model.{layer}).attribute(xt, {classes}, "
                f"relu_attributions=True); LayerAttribution.interpolate(cam, ({H}, {W}), "
                f'interpolate_mode="bilinear")',
                [_model_note(target)],
            )
        return (
            f"GuidedGradCam(model, model.{layer}).attribute(xt, {classes}, "
            f'interpolate_mode="bilinear")',
            [_model_note(target)],
        )
    if method == "occlusion":
        C = params.get("channels", "C")
        (ph, pw), (sh, sw) = params["patch"], params["stride"]
        return (
            f"Occlusion(model).attribute(xt, sliding_window_shapes=({C}, {ph}, {pw}), "
            f"strides=({C}, {sh}, {sw}), baselines={params['fill']}, {classes})",
            [_model_note(target)],
        )
    smooth = method == "smoothgrad"
    base = params["base"] if smooth else method
    cls, neuron_cls = _CAPTUM[base]
    opts = ""
    if base == "integrated_gradients":
        opts += (
            f", baselines={params.get('baseline', 0.0)}, n_steps={params.get('steps')}, "
            f'method="riemann_middle"'
        )
    if base == "gradient" and sel is None:
        opts += ", abs=False"
    chosen = f"neuron_selector={sel}" if sel else classes
    notes = [_model_note(target)] if sel is None else ["one image at a time", *scaled]
    if sel is not None and base == "gradient_x_input":
        if smooth:
            return None, ["no direct equivalent (Captum has no neuron Input x Gradient)"]
        notes.append("multiply by xt")
    explainer = f"{neuron_cls}(model, model.{layer})" if sel else f"{cls}(model)"
    if not smooth:
        return f"{explainer}.attribute(xt, {chosen}{opts})", notes
    nt = (
        f'nt_type="{_NT_TYPE[params["variant"]]}", nt_samples={params["n_samples"]}, '
        f"stdevs={params.get('sigma_first', 'sigma')}"
    )
    notes += [
        "stdevs is absolute and one number per input: call once per image with its sigma",
        "Captum draws its own noise, so maps agree in expectation, not digit for digit",
    ]
    return f"NoiseTunnel({explainer}).attribute(xt, {nt}, {chosen}{opts})", notes


def innvestigate_call(method: str, target: dict, params: dict, shape=None) -> str:
    """The iNNvestigate 2.x call computing the same map, or why there is none."""
    kind = target["kind"]
    name = _INNVESTIGATE.get(method)
    if name is None:
        return "no equivalent in iNNvestigate"
    if kind == "probability":
        return "no equivalent: iNNvestigate refuses to explain a softmax output"
    if kind in ("mask", "logit_mask", "callable"):
        return "no equivalent: iNNvestigate selects single output neurons only"
    opts, caveat = "", ""
    if method == "integrated_gradients":
        opts = f", reference_inputs={params.get('baseline', 0.0)}, steps={params.get('steps')}"
        caveat = "  (its path points differ slightly from the midpoint rule)"
    if method == "smoothgrad":
        if params["base"] != "gradient" or params["variant"] == "vargrad":
            return "no equivalent: iNNvestigate's smoothgrad averages plain gradients only"
        opts = f", augment_by_n={params['n_samples']}, noise_scale={params.get('sigma_first')}"
        if params["variant"] == "squared":
            opts += ', postprocess="square"'
        caveat = "  (2.1.2 does not pass noise_scale on and uses std 1.0; check your version)"
    if kind == "class":
        return (
            f'a = innvestigate.create_analyzer("{name}", innvestigate.model_wo_softmax(m), '
            f'neuron_selection_mode="index"{opts}); '
            f"a.analyze(x, neuron_selection={_classes(target)}){caveat}"
        )
    scale = " then multiply by v" if kind in ("strongest", "channel") else ""
    flat = _flat_index(target, shape) if shape is not None else "<flat index>"
    return (
        f'cut = keras.Model(m.input, m.get_layer("{target["node"]}").output); '
        f'a = innvestigate.create_analyzer("{name}", cut, neuron_selection_mode="index"{opts}); '
        f"a.analyze(x, neuron_selection={flat}){scale}  (flat index into the layer output)"
        f"{caveat}"
    )


def _fmt(values) -> str:
    vals = [float(f"{v:.6g}") for v in values[:6]]
    return (
        str(vals[0])
        if len(values) == 1
        else str(vals)[:-1] + (", ...]" if len(values) > 6 else "]")
    )


def render_card(info: dict, shape, dtype) -> str:
    """The text of ``Explanation.describe()``."""
    lines = [f"{info.get('title', info.get('method', '?'))} -- {info.get('reference', '')}"]

    def field(label, text):
        wrapped = textwrap.wrap(str(text), width=88 - 15) or [""]
        lines.append(f"  {label:<12} {wrapped[0]}")
        lines.extend(" " * 15 + w for w in wrapped[1:])

    if "formula" in info:
        field("formula", info["formula"])
    if info.get("relu_rule"):
        field("ReLU rule", info["relu_rule"])
    target = info.get("target")
    if target:
        field("explains", target["explains"])
        if target.get("summary"):
            field("target", target["summary"])
    params = info.get("params") or {}
    if params:
        field("parameters", ", ".join(f"{k}={v}" for k, v in params.items()))
    if "sigma" in info:
        field("sigma", info["sigma_text"])
    if "completeness" in info:
        c = info["completeness"]
        worst = max(c["relative_error"]) if c["relative_error"] else 0.0
        field(
            "completeness",
            f"sum(map) = {_fmt(c['sum_ig'])} vs F(x) - F(x') = "
            f"{_fmt(c['f_x_minus_f_baseline'])} (worst relative gap {worst:.2g})",
        )
    field("output", f"raw map of shape {tuple(shape)}, {dtype}; {info.get('output', '')}")
    for note in info.get("notes", []):
        field("note", note)
    if "captum" in info:
        field("Captum", info["captum"])
    if "innvestigate" in info:
        field("iNNvestigate", info["innvestigate"])
    return "\n".join(lines)
