"""Grad-CAM and Guided Grad-CAM (Selvaraju et al. 2017).

For the feature maps ``A^k`` (shape ``(h, w)``) of a convolutional layer and a class
score ``y^c`` (the logit)::

    alpha_k = (1/Z) sum_{i,j} dy^c / dA^k_ij         (Z = h * w: global-average-pooled gradients)
    L^c     = ReLU( sum_k alpha_k A^k )               (an (h, w) map)

then ``L^c`` is upsampled bilinearly to the input size. For a network ending in
``conv -> ReLU -> global average pooling -> dense`` this is CAM (Zhou et al. 2016):
``Z * L^c = ReLU(sum_k w_k^c A^k)``. Guided Grad-CAM multiplies Guided Backprop's map
by the upsampled ``L^c``, pixel by pixel.

By default ``A`` is the last convolution's output *after* its activation: Keras fuses
the ReLU into ``Conv2D`` (Grad-CAM's usual ``block5_conv3`` is rectified), while
minidecnn keeps the activation as its own layer, so the default follows the
convolution through the BatchNormalization and activation layers that come straight
after it.
"""

from __future__ import annotations

import numpy as np

from ..errors import TargetError
from ..layers.activations import ELEMENTWISE
from ..layers.conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from ..layers.normalization import BatchNormalization
from ._common import check_model_and_input, reverse_pass
from ._resize import resize_bilinear
from .explanation import Explanation
from .recipes import make_info
from .targets import find_node, resolve_target

_CONVS = (Conv2D, DepthwiseConv2D, SeparableConv2D)
_FOLLOW = (*ELEMENTWISE, BatchNormalization)


def last_conv_layer(model, where: str = "explain.grad_cam") -> str:
    """Node key of the last convolution's feature maps, after its BN/activation layers."""
    convs = [node for node in model.nodes if isinstance(node.layer, _CONVS)]
    if not convs:
        spatial = [n.key for n in model.nodes if len(n.output.shape) == 4]
        raise TargetError(
            f"{where}: model '{model.name}' has no convolution at its top level. Expected a "
            f"Conv2D, DepthwiseConv2D or SeparableConv2D, received none. Pass "
            f"conv_layer=<a layer with (H, W, C) output>"
            + (f", one of {spatial}." if spatial else ".")
        )
    node = convs[-1]
    while True:
        consumers = [m for m in model.nodes if any(t is node.output for t in m.inputs)]
        if len(consumers) == 1 and isinstance(consumers[0].layer, _FOLLOW):
            node = consumers[0]
        else:
            return node.key


def _grad_cam(model, x, target, conv_layer, where):
    """Forward, target, dF/dA at the conv layer; returns (top, node, A, alpha, cam)."""
    x = check_model_and_input(model, x, where)
    model.forward(x)
    node = (
        last_conv_layer(model, where)
        if conv_layer is None
        else find_node(model, conv_layer, where)
    )
    A = model.activations[node]
    if A.ndim != 4:
        raise TargetError(
            f"{where}: Grad-CAM needs feature maps. Expected a layer whose output is "
            f"(N, H, W, C), received {node!r} with output shape {A.shape}. Choose a "
            f"convolutional layer (the default is the last one)."
        )
    top = resolve_target(model, target, None, False, where)
    dA = reverse_pass(model, top, np.arange(len(x)), "gradient", stop=node)
    alpha = dA.mean(axis=(1, 2))  # (N, K): global-average-pooled gradients
    cam = np.maximum(np.einsum("nhwk,nk->nhw", A, alpha), 0)
    return x, top, node, A, alpha, cam


def grad_cam(model, x, target=None, conv_layer=None, *, upsample=True) -> Explanation:
    """Grad-CAM heat maps of a class, upsampled to the input size.

    Parameters
    ----------
    model : Model
    x : ndarray of shape (N, H, W, C)
    target : None, int, list of int, float array or callable
        A class target at the logits (see :mod:`minidecnn.explain.targets`);
        ``None`` is the predicted class.
    conv_layer : str, optional
        The layer whose feature maps ``A`` are weighted. Default: the last
        convolution, followed through its BatchNormalization and activation layers.
    upsample : bool, default True
        Resize to the input's ``(H, W)`` bilinearly; with False the map stays at the
        layer's resolution ``(h, w)``.

    Returns
    -------
    Explanation of shape (N, H, W)
        Non-negative, one map per image (shared by all channels of the input). Not
        normalised: divide by ``maps.max()`` for display. ``aux["cam"]`` is the
        ``(N, h, w)`` map before upsampling and ``aux["weights"]`` the ``(N, K)``
        channel weights ``alpha``.

    Notes
    -----
    ``alpha_k = mean_ij dy/dA^k_ij``; ``L = ReLU(sum_k alpha_k A^k)``. The gradient at
    ``A`` comes from ``model.backward(..., stop=conv_layer)``, which skips the layers
    below it.

    References
    ----------
    R. R. Selvaraju et al. Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization. ICCV 2017.
    """
    where = "explain.grad_cam"
    x, top, node, A, alpha, cam = _grad_cam(model, x, target, conv_layer, where)
    maps = resize_bilinear(cam, x.shape[1], x.shape[2]) if upsample else cam
    params = {"conv_layer": node, "upsample": "bilinear" if upsample else "none"}
    recipe = {**params, "input_hw": x.shape[1:3]}
    out = f"(N, H, W); feature maps {A.shape[1:]} at {node!r}"
    info = make_info("grad_cam", model, top, params, out, recipe=recipe)
    return Explanation(maps, info, aux={"cam": cam, "weights": alpha})


def guided_grad_cam(model, x, target=None, conv_layer=None) -> Explanation:
    """Guided Grad-CAM: Guided Backprop times the upsampled Grad-CAM map.

    Parameters
    ----------
    model, x, target, conv_layer
        As in :func:`grad_cam`.

    Returns
    -------
    Explanation of shape (N, H, W, C)
        ``guided_backprop(x) * grad_cam(x)[..., None]``; ``aux["cam"]`` is the
        upsampled ``(N, H, W)`` Grad-CAM map.

    Notes
    -----
    Both factors use the same forward pass and the same target.
    """
    where = "explain.guided_grad_cam"
    x, top, node, A, alpha, cam = _grad_cam(model, x, target, conv_layer, where)
    heat = resize_bilinear(cam, x.shape[1], x.shape[2])
    guided = reverse_pass(model, top, np.arange(len(x)), "guided")  # caches still hold x
    maps = guided * heat[..., None]
    params = {"conv_layer": node, "upsample": "bilinear"}
    info = make_info("guided_grad_cam", model, top, params, "shaped like x")
    return Explanation(maps, info, aux={"cam": heat, "weights": alpha})
