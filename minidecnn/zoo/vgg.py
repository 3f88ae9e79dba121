"""VGG16 and VGG19 (Simonyan & Zisserman 2015) built in minidecnn with Keras' layer names.

Layer names
-----------
The layers that own weights are named exactly as in ``keras.applications``, so
the published weight files load by position or by name and the layer names of
papers and tutorials work with ``model.get_layer``::

    input_layer
    block1_conv1  block1_conv1_relu  block1_conv2  block1_conv2_relu  block1_pool
    ...                                                               block5_pool
    flatten  fc1  fc1_relu  fc2  fc2_relu  predictions  predictions_softmax

Keras fuses the ReLU into each ``Conv2D``/``Dense``; here every activation is a
layer of its own, named ``<keras name>_<activation>`` (the same rule
``minidecnn.load_keras`` uses when it splits a fused activation). So
``"block5_conv3"`` is the convolution's output *before* the ReLU and
``"block5_conv3_relu"`` the rectified feature map, and ``model.logits`` is
``"predictions"``: the class scores before the softmax, where saliency methods take
their targets.

VGG16 has 13 convolutions in 5 blocks (2, 2, 3, 3, 3), VGG19 has 16 (2, 2, 4, 4, 4);
every convolution is 3x3 with ``"same"`` padding, every pool 2x2 with stride 2.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ModelFileError
from ..graph import Input
from ..layers import (
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    MaxPool2D,
    ReLU,
    Softmax,
)
from ..model import Model

_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_FILTERS = (64, 128, 256, 512, 512)
_FILES = {  # names of the published Keras weight files, for error messages
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels",
}


def _check_args(arch, weights, include_top, input_shape, pooling, classes, activation):
    where = arch
    if isinstance(weights, str) and weights == "imagenet":
        raise ModelFileError(
            f"{where}: weights='imagenet' would need a download, which minidecnn never "
            f"does. Expected None or the path of a weights file you have, received "
            f"'imagenet'. Pass weights='.../{_FILES[arch]}.h5' (or the '_notop.h5' file "
            f"with include_top=False)."
        )
    if weights is not None and not isinstance(weights, str | os.PathLike):
        raise TypeError(
            f"{where}: weights must be None or a file path, received {type(weights).__name__}."
        )
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape[:2]) < 32 or shape[2] < 1:
        raise ValueError(
            f"{where}: invalid input_shape. Expected (H, W, C) with H, W >= 32 (five 2x2 "
            f"poolings) and C >= 1, such as (224, 224, 3), received {input_shape!r}."
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(
            f"{where}: invalid pooling. Expected None, 'avg' or 'max', received {pooling!r}."
        )
    if isinstance(classes, bool) or not isinstance(classes, int | np.integer) or classes < 1:
        raise ValueError(
            f"{where}: invalid classes. Expected a positive int, received {classes!r}."
        )
    if activation not in ("softmax", None):
        raise ValueError(
            f"{where}: invalid classifier_activation. Expected 'softmax' or None (logits "
            f"only), received {activation!r}."
        )
    return shape


def _vgg(arch, weights, include_top, input_shape, pooling, classes, activation, seed):
    shape = _check_args(arch, weights, include_top, input_shape, pooling, classes, activation)
    rng = np.random.default_rng(seed)

    def layer_seed():  # each layer draws its own seed, so seed=... reproduces the model
        return None if seed is None else int(rng.integers(2**31))

    inputs = Input(shape, name="input_layer")
    x = inputs
    for b, (n_convs, filters) in enumerate(zip(_BLOCKS[arch], _FILTERS), start=1):
        for i in range(1, n_convs + 1):
            name = f"block{b}_conv{i}"
            x = Conv2D(filters, 3, padding="same", name=name, seed=layer_seed())(x)
            x = ReLU(name=f"{name}_relu")(x)
        x = MaxPool2D(2, strides=2, name=f"block{b}_pool")(x)
    if include_top:
        x = Flatten(name="flatten")(x)
        for name in ("fc1", "fc2"):
            x = ReLU(name=f"{name}_relu")(Dense(4096, name=name, seed=layer_seed())(x))
        x = Dense(classes, name="predictions", seed=layer_seed())(x)
        if activation == "softmax":
            x = Softmax(name="predictions_softmax")(x)
    elif pooling == "avg":
        x = GlobalAvgPool2D(name="global_average_pooling2d")(x)
    elif pooling == "max":
        x = GlobalMaxPool2D(name="global_max_pooling2d")(x)
    model = Model(inputs, x, name=arch)
    if weights is not None:
        _load(model, arch, weights, include_top)
    return model


def _load(model, arch, path, include_top):
    try:
        model.load_weights(path)
    except ModelFileError as exc:
        notop = os.fspath(path).endswith("_notop.h5")
        if include_top and notop:
            hint = " This is a '_notop' file: build the model with include_top=False."
        elif include_top:
            hint = (
                " With include_top=True the file needs fc1, fc2 and predictions (the "
                "published file expects input_shape=(224, 224, 3)); for a file without "
                "them build the model with include_top=False."
            )
        else:
            hint = f" With include_top=False use '{_FILES[arch]}_notop.h5'."
        raise ModelFileError(f"{exc}{hint}") from exc


def vgg16(
    weights=None,
    include_top: bool = True,
    input_shape=(224, 224, 3),
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    seed=None,
) -> Model:
    """VGG16 with Keras' layer names (see the module docstring for the naming rule).

    Parameters
    ----------
    weights : None or path
        ``None``: random weights (Keras' Glorot-uniform kernels, zero biases). A path:
        loaded with ``model.load_weights`` (the published
        ``vgg16_weights_tf_dim_ordering_tf_kernels.h5``, its ``_notop`` variant for
        ``include_top=False``, or a Keras 3 ``.weights.h5`` of the same model).
    include_top : bool, default True
        Keep ``flatten``, ``fc1``, ``fc2`` and ``predictions``.
    input_shape : (H, W, C), default (224, 224, 3)
        ``H, W >= 32``. With ``include_top`` the size sets fc1's input (``7*7*512``
        at 224x224, as the published weights need).
    pooling : {None, "avg", "max"}
        Without the top: a global pooling after ``block5_pool``.
    classes : int, default 1000
    classifier_activation : {"softmax", None}
        ``None`` ends the model at the logits (``predictions``).
    seed : int, optional
        Seeds the random weights.

    Returns
    -------
    Model
        ``138,357,544`` parameters with the top at 224x224 (``14,714,688`` without).

    Raises
    ------
    ModelFileError
        An unreadable weights file, or one that does not fit (with a hint when the
        ``_notop``/top variant or the input size is the cause).

    References
    ----------
    K. Simonyan, A. Zisserman. Very Deep Convolutional Networks for Large-Scale
    Image Recognition. ICLR 2015.

    Examples
    --------
    >>> model = vgg16(include_top=False, input_shape=(32, 32, 3), seed=0)
    >>> model.output_shape, model.count_params()
    ((1, 1, 512), 14714688)
    """
    return _vgg(
        "vgg16", weights, include_top, input_shape, pooling, classes, classifier_activation, seed
    )


def vgg19(
    weights=None,
    include_top: bool = True,
    input_shape=(224, 224, 3),
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    seed=None,
) -> Model:
    """VGG19 with Keras' layer names: as :func:`vgg16` with 4 convolutions in blocks 3-5.

    The published file is ``vgg19_weights_tf_dim_ordering_tf_kernels.h5``
    (``_notop.h5`` without the top); ``143,667,240`` parameters with the top at
    224x224 (``20,024,384`` without).

    >>> vgg19(include_top=False, input_shape=(32, 32, 3), pooling="avg").output_shape
    (512,)
    """
    return _vgg(
        "vgg19", weights, include_top, input_shape, pooling, classes, classifier_activation, seed
    )
