"""Keras files <-> minidecnn models, without importing Keras.

``load_keras(path)`` rebuilds a whole model; ``model.load_weights(path)`` (or
:func:`load_weights`) fills a model built with minidecnn. Every Keras file family
is read with ``h5py``, ``zipfile`` and ``json``:

=====================================  ==========================  =========================
file                                   written by                  read with
=====================================  ==========================  =========================
legacy ``.h5`` with ``model_config``   Keras 1/2, tf.keras,        ``load_keras(path)``
                                       Keras 3 ``model.save``
legacy weights-only ``.h5``            ``save_weights`` (Keras     ``model.load_weights(path)``
(e.g. the VGG16 ImageNet release)      1/2), Keras 1 release files ``load_keras(path, config=...)``
``.keras`` zip (or unzipped folder)    Keras 3, tf.keras >= 2.12   ``load_keras(path)``
``.weights.h5``                        Keras 3 ``save_weights``    ``model.load_weights(path)``
                                                                   ``load_keras(path, config=...)``
``.weights.json`` + shards             Keras 3 ``save_weights``    as ``.weights.h5``, given the
                                       with ``max_shard_size``     ``.weights.json`` index
=====================================  ==========================  =========================

How Keras layers become minidecnn layers
----------------------------------------
* Supported classes: Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, Flatten,
  ZeroPadding2D, Dropout, Rescaling, MaxPooling2D, AveragePooling2D,
  GlobalAveragePooling2D, GlobalMaxPooling2D (``keepdims``), BatchNormalization
  (``center``/``scale``, ``epsilon``), ReLU (``negative_slope`` or ``max_value``),
  LeakyReLU, ELU (``alpha``), Activation and Softmax, Add, Concatenate, InputLayer,
  and nested Functional/Sequential models. Anything else (Lambda, custom or
  registered classes, unknown classes, options such as ``dilation_rate``,
  ``groups > 1``, ``ReLU(threshold=...)``, ``renorm``) raises
  :class:`~minidecnn.errors.UnsupportedLayerError` naming the layer. Nothing
  stored in a file is ever executed.
* Activations (``activation="..."`` or ``Activation``): linear, relu, relu6,
  leaky_relu, elu, selu, gelu (exact erf form, what the string means in Keras),
  swish/silu, softplus, softsign, hard_sigmoid, hard_silu/hard_swish,
  exponential, sigmoid, tanh, softmax. ``hard_sigmoid`` is
  ``clip(0.2 x + 0.5, 0, 1)`` in Keras 1/2 and tf.keras but ``relu6(x + 3) / 6``
  in Keras 3; the loader reads which Keras wrote the configuration
  (:func:`~minidecnn.keras.config.written_by_keras3`) and refuses when it cannot tell.
* **Fused activations are split.** A Keras ``Conv2D(..., activation="relu",
  name="block1_conv1")`` becomes our ``Conv2D`` named ``block1_conv1`` (the layer
  that owns the weights keeps the Keras name) followed by a ``ReLU`` named
  ``block1_conv1_relu``: the rule is ``<keras name>_<activation>`` (``_1``,
  ``_2``... appended if that name is taken). So ``get_layer("block1_conv1")``
  is the convolution *before* its ReLU and DeconvNet/Guided Backprop act on
  ``block1_conv1_relu``. ``Dense(1000, activation="softmax", name="predictions")``
  becomes ``predictions`` + ``predictions_softmax``, and ``model.logits`` is
  ``"predictions"``. ``Activation("linear")`` adds no layer.
* ``model.keras_nodes`` maps each Keras layer call (``"name"``, ``"name:1"`` for a
  shared layer's second call) to our node key with the same output
  (``{"block1_conv1": "block1_conv1_relu", ...}``).
* ``channels_first`` models are converted to NHWC as a whole: the model takes
  ``(N, H, W, C)`` input, BatchNormalization/Concatenate/Softmax axes are moved,
  and Flatten keeps Keras' order: ``data_format="channels_first"`` flattens in
  ``(H, W, C)`` order like ours; without ``data_format`` (Keras 1, Keras <= 2.1.5)
  or with ``"channels_last"`` Keras flattens ``(C, H, W)``, and the rows of the
  Dense after it are permuted at load, so the predictions match.
* Keras 1 configurations (``Convolution2D``, ``nb_filter``, ``border_mode``,
  ``dim_ordering``, ``Merge``...) are renamed into Keras 2 terms first
  (:mod:`minidecnn.keras.keras1`); ``dim_ordering="th"`` kernels stored
  ``(F, C, KH, KW)`` are converted.
* Weights: ``kernel`` -> ``W``, ``bias`` -> ``b``; SeparableConv2D
  ``depthwise_W``, ``pointwise_W``, ``b``; BatchNormalization ``gamma``, ``beta``
  and buffers ``moving_mean``, ``moving_variance``. Kept in float32.

Examples
--------
>>> import minidecnn as mdc
>>> sorted(mdc.keras.SUPPORTED_CLASSES)[:3]
['Activation', 'Add', 'AveragePooling2D']
"""

from .convert import CONVERTERS
from .export import save_keras, save_weights
from .load import load_keras
from .weights import load_weights

#: Keras layer classes load_keras can rebuild (plus nested Functional/Sequential models)
SUPPORTED_CLASSES = tuple(sorted(CONVERTERS))

__all__ = ["SUPPORTED_CLASSES", "load_keras", "load_weights", "save_keras", "save_weights"]
