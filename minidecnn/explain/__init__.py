"""What a CNN looks at: saliency maps, DeconvNet, Guided Backprop, SmoothGrad and relatives.

Every method takes ``(model, x, target, ...)``, works on a batch ``x`` of shape
``(N, H, W, C)`` and returns raw maps shaped like ``x`` (Grad-CAM: ``(N, H, W)``) as an
:class:`Explanation` -- a plain array for maths that can ``describe()`` how it was
made. Display post-processing is separate.

==========================  ==========================================================
``gradient``                ``dF/dx`` (Simonyan et al. 2014)
``deconvnet``               Zeiler & Fergus's projection (ReLU: ``max(dout, 0)``)
``guided_backprop``         Springenberg et al. (ReLU: ``max(dout, 0) * 1[z > 0]``)
``gradient_x_input``        ``x * dF/dx`` (= LRP-0 for ReLU/max-pool nets)
``integrated_gradients``    Sundararajan et al. 2017 (midpoint rule)
``smoothgrad``              Smilkov et al. 2017, and SmoothGrad-Squared, VarGrad
``grad_cam``                Selvaraju et al. 2017; ``guided_grad_cam``
``occlusion``               Zeiler & Fergus 2014, section 4.2
==========================  ==========================================================

Targets (:mod:`minidecnn.explain.targets`): ``None`` is the predicted class, an int a
class at the logits; with ``layer=`` an int is a channel at its strongest activation,
a tuple a unit, an array a mask, a callable a top signal.

>>> import numpy as np, minidecnn as mdc
>>> from minidecnn.layers import Conv2D, ReLU, MaxPool2D, Flatten, Dense
>>> model = mdc.Sequential([mdc.Input((8, 8, 3)), Conv2D(4, 3, seed=0), ReLU(),
...                         MaxPool2D(2), Flatten(), Dense(5, seed=1)])
>>> x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
>>> maps = mdc.explain.guided_backprop(model, x, target=3)
>>> maps.shape, maps.info["target"]["classes"]
((2, 8, 8, 3), [3, 3])
>>> print(maps.describe().splitlines()[0])
Guided Backpropagation -- Springenberg, Dosovitskiy, Brox & Riedmiller 2015, arXiv:1412.6806
"""

from .backprop import deconvnet, gradient, gradient_x_input, guided_backprop
from .cam import grad_cam, guided_grad_cam, last_conv_layer
from .evolution import feature_evolution
from .explanation import Explanation
from .integrated import integrated_gradients
from .occlusion import occlusion
from .postprocess import (
    abs_sum,
    channel_max_abs,
    normalize_diverging,
    normalize_minmax,
    normalize_percentile,
    overlay,
)
from .projection import project_units, top_activations, top_projections
from .receptive_field import Box, receptive_field
from .smoothgrad import noise_sigma, noisy_samples, smoothgrad
from .targets import Target, resolve_target
from .tracer import trace
from .unpooling import unpooling_experiment

__all__ = [
    "Box",
    "Explanation",
    "Target",
    "abs_sum",
    "channel_max_abs",
    "deconvnet",
    "feature_evolution",
    "grad_cam",
    "gradient",
    "gradient_x_input",
    "guided_backprop",
    "guided_grad_cam",
    "integrated_gradients",
    "last_conv_layer",
    "noise_sigma",
    "noisy_samples",
    "normalize_diverging",
    "normalize_minmax",
    "normalize_percentile",
    "occlusion",
    "overlay",
    "project_units",
    "receptive_field",
    "resolve_target",
    "smoothgrad",
    "top_activations",
    "top_projections",
    "trace",
    "unpooling_experiment",
]
