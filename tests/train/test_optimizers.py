"""Optimizers: update rules against steps computed by hand, state, weight decay, errors."""

import numpy as np
import pytest

from minidecnn import Input, Sequential
from minidecnn.layers import BatchNormalization, Dense, Flatten
from minidecnn.train import SGD, Adam, get_optimizer


def run(opt, grads, w0=1.0):
    """Apply ``opt.update`` for a list of scalar gradients; return the weights after each."""
    w, state, out = np.array([w0]), {}, []
    for g in grads:
        opt.iterations += 1
        opt.update(w, np.array([g]), state)
        out.append(float(w[0]))
    return out


def test_sgd_plain():
    assert run(SGD(0.1), [1.0, -2.0]) == pytest.approx([0.9, 1.1])


def test_sgd_momentum_by_hand():
    # v1 = -0.1*1 = -0.1; w = 0.9.  v2 = 0.9*(-0.1) - 0.1*2 = -0.29; w = 0.61
    # v3 = 0.9*(-0.29) - 0.1*(-1) = -0.161; w = 0.449
    assert run(SGD(0.1, momentum=0.9), [1.0, 2.0, -1.0]) == pytest.approx([0.9, 0.61, 0.449])


def test_sgd_nesterov_by_hand():
    # w += mu*v - lr*g with the new v:  v1 = -0.1 -> w = 1 - 0.09 - 0.1 = 0.81
    # v2 = -0.09 - 0.2 = -0.29 -> w = 0.81 - 0.261 - 0.2 = 0.349
    assert run(SGD(0.1, momentum=0.9, nesterov=True), [1.0, 2.0]) == pytest.approx([0.81, 0.349])


def test_sgd_decoupled_weight_decay():
    # w <- w - lr*wd*w, then the gradient step: 2 - 0.1*0.5*2 - 0.1*1 = 1.8
    assert run(SGD(0.1, weight_decay=0.5), [1.0], w0=2.0) == pytest.approx([1.8])


def test_adam_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    grads, w, m, v, expected = [0.5, -1.0, 2.0], 1.0, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        expected.append(w)
    assert run(Adam(lr), grads) == pytest.approx(expected, rel=1e-12)
    # the first step moves by lr whatever the gradient's size (bias correction)
    assert run(Adam(0.01), [1e-3])[0] == pytest.approx(0.99, rel=1e-5)  # eps: 1e-4 of g


def test_adamw_decay_is_decoupled():
    # a zero gradient leaves only the decay: w <- w (1 - lr*wd)
    assert run(Adam(0.1, weight_decay=0.2), [0.0, 0.0]) == pytest.approx([0.98, 0.9604])


def model_with_bn():
    model = Sequential(
        [Input((2, 2, 1)), BatchNormalization(name="bn"), Flatten(), Dense(2, name="fc", seed=0)]
    )
    return model


def test_step_updates_params_in_place_and_not_buffers(rng):
    model = model_with_bn()
    x = rng.normal(size=(4, 2, 2, 1)).astype(np.float32)
    model.forward(x, training=True)
    model.backward(np.ones((4, 2), np.float32))
    before = model.get_weights()
    W = model.get_layer("fc").params["W"]
    opt = SGD(0.5)
    opt.step(model)
    assert model.get_layer("fc").params["W"] is W  # same array, updated in place
    after = model.get_weights()
    grads = model.grads
    np.testing.assert_allclose(after["fc"]["W"], before["fc"]["W"] - 0.5 * grads["fc"]["W"])
    np.testing.assert_allclose(
        after["bn"]["gamma"], before["bn"]["gamma"] - 0.5 * grads["bn"]["gamma"]
    )
    for buffer in ("moving_mean", "moving_variance"):  # not trained by the optimizer
        np.testing.assert_array_equal(after["bn"][buffer], before["bn"][buffer])
    assert opt.iterations == 1
    assert all(not state for state in opt.state.values())  # plain SGD keeps no arrays


def test_state_is_per_parameter(rng):
    model = model_with_bn()
    model.forward(rng.normal(size=(4, 2, 2, 1)).astype(np.float32), training=True)
    model.backward(np.ones((4, 2), np.float32))
    opt = Adam()
    opt.step(model)
    keys = {(layer.name, key) for layer, key in opt.state}
    assert keys == {("bn", "gamma"), ("bn", "beta"), ("fc", "W"), ("fc", "b")}
    assert opt.state[(model.get_layer("fc"), "W")]["m"].shape == (4, 2)


def test_float64_model_keeps_float64(rng):
    model = Sequential([Input((3,)), Dense(2, seed=0)]).astype(np.float64)
    model.forward(rng.normal(size=(2, 3)))
    model.backward(np.ones((2, 2)))
    Adam().step(model)
    assert model.get_layer(model.layers[0].name).params["W"].dtype == np.float64


def test_step_before_backward_says_what_to_do():
    model = Sequential([Input((3,)), Dense(2, name="dense_x", seed=0)])
    model.get_layer("dense_x").grads = {}
    with pytest.raises(
        RuntimeError,
        match=(
            r"SGD: no gradient for dense_x.W. Expected an array of shape \(3, 2\) "
            r"in layer.grads, received None. Run model.backward"
        ),
    ):
        SGD().step(model)


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (
            lambda: SGD(learning_rate=0),
            (
                "SGD: invalid value for argument `learning_rate`. Expected a number > "
                "0.0, received learning_rate=0."
            ),
        ),
        (
            lambda: SGD(momentum=1.0),
            (
                "SGD: invalid value for argument `momentum`. Expected a number >= 0.0 "
                "and < 1.0, received momentum=1.0."
            ),
        ),
        (lambda: Adam(beta_2=-0.1), "Adam: invalid value for argument `beta_2`"),
        (
            lambda: Adam(weight_decay=float("nan")),
            "Adam: invalid value for argument `weight_decay`",
        ),
        (lambda: Adam(learning_rate="fast"), "received learning_rate='fast'"),
        (
            lambda: get_optimizer("rmsprop"),
            (
                "fit: unknown optimizer 'rmsprop'. Expected an Optimizer instance such "
                "as Adam(learning_rate=1e-3) or one of the names ['adam', 'sgd']."
            ),
        ),
    ],
)
def test_bad_hyperparameters(make, text):
    with pytest.raises(ValueError) as info:
        make()
    assert text in str(info.value)


def test_get_optimizer():
    opt = SGD(0.3)
    assert get_optimizer(opt) is opt
    assert isinstance(get_optimizer("Adam"), Adam)
    assert (
        repr(SGD(0.1, momentum=0.9))
        == "SGD(learning_rate=0.1, weight_decay=0.0, momentum=0.9, nesterov=False)"
    )
