"""The backward tracer: it walks like Model.backward and counts what each ReLU does."""

from __future__ import annotations

import numpy as np
import pytest

import minidecnn as mdc
from minidecnn.errors import ShapeError, TargetError
from minidecnn.explain.tracer import trace
from minidecnn.layers import Add, Conv2D, Dense, Flatten, MaxPool2D, ReLU


def residual_net():
    x = mdc.Input((10, 10, 2), name="image")
    h = ReLU(name="relu1")(Conv2D(4, 3, padding="same", seed=1, name="conv1")(x))
    b = ReLU(name="relu2")(Conv2D(4, 3, padding="same", seed=2, name="conv2")(h))
    s = Add(name="add")([h, b])  # relu1's output fans out
    p = MaxPool2D(2, name="pool")(s)
    f = ReLU(name="relu3")(Dense(8, seed=3, name="fc1")(Flatten(name="flat")(p)))
    model = mdc.Model(x, Dense(5, seed=4, name="logits")(f))
    model.astype(np.float64)
    rng = np.random.default_rng(0)
    for layer in model.leaf_layers():
        for value in layer.params.values():
            value[...] = rng.normal(0, 0.4, value.shape)
    return model


@pytest.fixture(scope="module")
def net_and_x():
    return residual_net(), np.random.default_rng(1).standard_normal((10, 10, 2))


@pytest.mark.parametrize(
    ("target", "layer"), [(3, None), (2, "add"), ((1, 2, 0), "pool"), (4, "fc1")]
)
def test_input_signal_is_what_model_backward_returns(net_and_x, target, layer):
    model, x = net_and_x
    t = trace(model, x, target, layer=layer)
    for rule in ("gradient", "deconvnet", "guided"):
        model.forward(x[None])
        expected = model.backward(t.top, rule=rule, start=t.start, param_grads=False)
        np.testing.assert_array_equal(t.input_signal[rule], expected)
        assert np.abs(expected).sum() > 0


def test_rows_are_in_backward_order_and_agree_above_the_first_relu(net_and_x):
    model, x = net_and_x
    t = trace(model, x, 1)
    assert [r.key for r in t.rows] == [
        "logits", "relu3", "fc1", "flat", "pool", "add", "relu2", "conv2", "relu1", "conv1"
    ]  # fmt: skip
    logits = t.row("logits")
    for rule in ("deconvnet", "guided"):
        np.testing.assert_array_equal(logits.signal_out[rule], logits.signal_out["gradient"])
    # below the first ReLU the rules part ways
    assert not np.array_equal(
        t.row("fc1").signal_in["gradient"], t.row("fc1").signal_in["deconvnet"]
    )
    # the fan-out: relu1 receives the sum of what add and conv2 send down
    for rule in t.rules:
        add_part = t.row("add").signal_out[rule][0]
        conv_part = t.row("conv2").signal_out[rule]
        np.testing.assert_array_equal(t.row("relu1").signal_in[rule], add_part + conv_part)


def test_relu_records_count_what_each_rule_zeroes(net_and_x):
    model, x = net_and_x
    t = trace(model, x, 0)
    model.forward(x[None])
    for key, pre in (("relu1", "conv1"), ("relu2", "conv2"), ("relu3", "fc1")):
        rec = t.row(key).relu
        z = model.activations[pre]
        np.testing.assert_array_equal(rec.forward_mask, z > 0)
        for rule in t.rules:
            g = t.row(key).signal_in[rule]
            np.testing.assert_array_equal(rec.backward_mask[rule], g > 0)
        g = t.row(key).signal_in
        assert rec.zeroed["gradient"] == np.count_nonzero((g["gradient"] != 0) & (z <= 0))
        assert rec.zeroed["deconvnet"] == np.count_nonzero(g["deconvnet"] < 0)
        assert rec.zeroed["guided"] == np.count_nonzero(
            (g["guided"] != 0) & ((g["guided"] < 0) | (z <= 0))
        )
    assert t.row("conv1").relu is None


def test_table_lists_every_node_and_the_relu_masks(net_and_x):
    model, x = net_and_x
    t = trace(model, x, 2)
    text = str(t)
    assert text == t.table()
    assert "the logit of class c at node 'logits'" in text and "c = 2" in text
    for key in ("logits", "relu3", "add", "conv1"):
        assert any(line.startswith(key) for line in text.splitlines())
    rec = t.row("relu2").relu
    assert f"z>0: {int(rec.forward_mask.sum())}/{rec.n_units}" in text
    assert (
        f"guided: g>0 {int(rec.backward_mask['guided'].sum())}, zeroes {rec.zeroed['guided']}"
        in text
    )


def test_mask_target_and_single_rule(net_and_x):
    model, x = net_and_x
    model.forward(x[None])
    mask = np.random.default_rng(0).standard_normal(model.activations["pool"].shape[1:])
    t = trace(model, x[None], mask, layer="pool", rules=("deconvnet",))
    assert t.rules == ("deconvnet",)
    np.testing.assert_array_equal(t.top[0], mask)


def test_bad_calls_explain_the_fix(net_and_x):
    model, x = net_and_x
    with pytest.raises(
        TargetError, match=r"trace: class 5 is out of range\. Expected an int in \[0, 4\]"
    ):
        trace(model, x, 5)
    with pytest.raises(
        TargetError, match=r"trace: the mask has the wrong shape\. Expected \(5, 5, 4\)"
    ):
        trace(model, x, np.zeros((3, 3)), layer="pool")
    with pytest.raises(TargetError, match=r"trace: unit index 9 \(axis 0\) is out of range"):
        trace(model, x, (9, 9, 9), layer="pool")
    with pytest.raises(ShapeError, match="Pass x\\[i\\]"):
        trace(model, np.stack([x, x]), 0)
    with pytest.raises(ValueError, match="unknown rule"):
        trace(model, x, 0, rules=("lrp",))
    with pytest.raises(KeyError, match="no row 'nope'"):
        trace(model, x, 0).row("nope")
