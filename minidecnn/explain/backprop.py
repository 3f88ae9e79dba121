"""The backward-pass maps: gradient, DeconvNet, Guided Backprop, Gradient x Input.

All four run one forward pass, build the top signal ``T`` at the target node (see
:mod:`minidecnn.explain.targets`) and send it down with ``model.backward``. Convolution,
dense, pooling, batch-norm and merge layers reverse the same way in all of them (the
transposed convolution, ``W^T``, unpooling through the max-pool switches); only the
ReLU differs:

===================  =====================================  =============================
method               ReLU rule (``dout`` arrives at ``a``)  paper
===================  =====================================  =============================
gradient             ``dz = dout * 1[z > 0]``               Simonyan et al. 2014
deconvnet            ``dz = max(dout, 0)``                  Zeiler & Fergus 2014
guided_backprop      ``dz = max(dout, 0) * 1[z > 0]``       Springenberg et al. 2015
===================  =====================================  =============================

Biases take no part in any of them. DeconvNet and Guided Backprop are not gradients
of any function; the gradient is ``dF/dx`` exactly, which the tests check against
finite differences.
"""

from __future__ import annotations

import numpy as np

from ._common import check_model_and_input, reverse_pass
from .explanation import Explanation
from .recipes import METHODS, make_info
from .targets import resolve_target


def _backprop(method, model, x, target, layer, probability):
    where = f"explain.{method}"
    x = check_model_and_input(model, x, where)
    model.forward(x)
    top = resolve_target(model, target, layer, probability, where)
    rule = METHODS[method][2]
    maps = reverse_pass(model, top, np.arange(len(x)), rule)
    if method == "gradient_x_input":
        maps = x * maps
    info = make_info(method, model, top, {}, "shaped like x")
    return Explanation(maps, info)


def gradient(model, x, target=None, layer=None, *, probability=False) -> Explanation:
    """Gradient saliency (Simonyan et al.): ``dF/dx`` for each image.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, H, W, C)
        The batch, preprocessed as the model expects.
    target : None, int, list of int, tuple, ndarray or callable
        What to explain (see :mod:`minidecnn.explain.targets`); ``None`` is the
        predicted class of each image, at the logits.
    layer : str, optional
        Explain a channel, unit or mask of this layer's output instead of a class.
    probability : bool, default False
        Explain the softmax probability ``p_c`` instead of the logit ``z_c``.

    Returns
    -------
    Explanation of shape (N, H, W, C)
        The raw gradient; ``channel_max_abs(maps)`` gives Simonyan's picture.

    Raises
    ------
    TargetError
        For an invalid target, layer or parameter.

    Notes
    -----
    At every ReLU the backward signal is ``dz = dout * 1[z > 0]``; everything else
    is the ordinary backward pass. Without weight gradients: attribution never needs
    them.

    References
    ----------
    K. Simonyan, A. Vedaldi, A. Zisserman. Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps. ICLR-W 2014.

    Examples
    --------
    >>> import numpy as np, minidecnn as mdc
    >>> from minidecnn.layers import Dense
    >>> model = mdc.Sequential([mdc.Input((2,)), Dense(2, use_bias=False)])
    >>> model.set_weights({"W": [[1.0, 2.0], [3.0, 4.0]]}, name=model.layers[0].name)
    >>> gradient(model, np.ones((1, 2), np.float32), target=1).raw
    array([[2., 4.]], dtype=float32)
    """
    return _backprop("gradient", model, x, target, layer, probability)


def deconvnet(model, x, target=None, layer=None, *, probability=False) -> Explanation:
    """DeconvNet projection (Zeiler & Fergus) of the target down to pixel space.

    Parameters and returns as :func:`gradient`. With ``layer=`` and an int channel,
    the channel's strongest activation is projected alone, with its value (the
    paper's procedure).

    Notes
    -----
    At every ReLU: ``dz = max(dout, 0)``, independent of the forward pass. The image
    enters only through the max-pool switches (and the chosen activation): without
    max-pooling and with a class target, the map is the same for every input.

    References
    ----------
    M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks.
    ECCV 2014.
    """
    return _backprop("deconvnet", model, x, target, layer, probability)


def guided_backprop(model, x, target=None, layer=None, *, probability=False) -> Explanation:
    """Guided backpropagation (Springenberg et al.).

    Parameters and returns as :func:`gradient`.

    Notes
    -----
    At every ReLU: ``dz = max(dout, 0) * 1[z > 0]`` -- the gradient's forward mask and
    DeconvNet's rectification together. No mask is applied at the input image.
    Its maps depend little on the target class (Nie et al. 2018; Adebayo et al. 2018).

    References
    ----------
    J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. Striving for
    Simplicity: The All Convolutional Net. ICLR-W 2015.
    """
    return _backprop("guided_backprop", model, x, target, layer, probability)


def gradient_x_input(model, x, target=None, layer=None, *, probability=False) -> Explanation:
    """Gradient times input, ``x * dF/dx``.

    Parameters and returns as :func:`gradient`.

    Notes
    -----
    For networks of convolutions, dense layers, ReLUs and max-pools it equals the
    LRP-0 relevance exactly (biases included); for bias-free ones it sums to
    ``F(x)`` (Euler's theorem for positively homogeneous functions).
    """
    return _backprop("gradient_x_input", model, x, target, layer, probability)
