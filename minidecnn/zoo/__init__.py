"""Ready-made models and their ImageNet pre/post-processing, working offline.

* :func:`vgg16`, :func:`vgg19`: built in minidecnn with Keras' layer names and the
  activations as layers of their own (``block1_conv1`` -> ``block1_conv1_relu``);
  ``weights=path`` loads the published Keras files you have on disk.
* :func:`preprocess_input` / :func:`deprocess_input`: Keras' "caffe" mode.
* :func:`decode_predictions`: ``(wnid, label, score)`` from the 1000 ImageNet classes
  shipped with the package (or your own ``imagenet_class_index.json``).
"""

from .imagenet import (
    CAFFE_MEAN_BGR,
    decode_predictions,
    deprocess_input,
    load_class_index,
    preprocess_input,
)
from .vgg import vgg16, vgg19

__all__ = [
    "CAFFE_MEAN_BGR",
    "decode_predictions",
    "deprocess_input",
    "load_class_index",
    "preprocess_input",
    "vgg16",
    "vgg19",
]
