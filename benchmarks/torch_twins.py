"""PyTorch twins of minidecnn models, for ``vs_pytorch.py`` (benchmark-only: needs torch).

The weights come from the Keras weights file minidecnn wrote, read here with h5py
alone, and are converted to PyTorch's layouts:

* convolution kernels ``(KH, KW, C, F)`` (Keras, HWIO) -> ``(F, C, KH, KW)`` (OIHW);
* dense kernels ``(D_in, D_out)`` -> ``(D_out, D_in)``;
* the first dense layer after ``Flatten``: Keras flattens NHWC feature maps in
  ``(h, w, c)`` order, PyTorch flattens NCHW ones in ``(c, h, w)`` order, so the rows of
  the kernel are permuted: ``W.reshape(H, W, C, D).transpose(3, 2, 0, 1).reshape(D, -1)``.

Images go NHWC -> NCHW with ``x.transpose(0, 3, 1, 2)`` and maps come back the other way.
Every ReLU is its own ``nn.ReLU`` module (not in place), so Captum's Guided Backprop and
Deconvolution hooks see all of them.
"""

from __future__ import annotations

import h5py
import numpy as np
import torch
from torch import nn


def keras_weights_by_name(path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [kernel, bias, ...]}`` from a Keras 3 ``.weights.h5`` file.

    Keras 3 stores each layer under ``layers/<auto name>/vars/<i>`` and the layer's
    own name in the ``name`` attribute of ``vars``.
    """
    out = {}
    with h5py.File(path, "r") as f:
        for group in f["layers"].values():
            vars_ = group["vars"]
            name = vars_.attrs.get("name", group.name.rsplit("/", 1)[-1])
            name = name.decode() if isinstance(name, bytes) else str(name)
            arrays = [vars_[str(i)][()] for i in range(len(vars_))]
            if arrays:
                out[name] = arrays
    return out


def _set_conv(module: nn.Conv2d, kernel, bias):
    module.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    module.bias.data = torch.from_numpy(np.ascontiguousarray(bias))


def _set_dense(module: nn.Linear, kernel, bias, after_flatten_hwc=None):
    if after_flatten_hwc is not None:  # Keras' (h, w, c) rows -> PyTorch's (c, h, w)
        H, W, C = after_flatten_hwc
        kernel = kernel.reshape(H, W, C, -1).transpose(3, 2, 0, 1).reshape(kernel.shape[1], -1)
    else:
        kernel = kernel.T
    module.weight.data = torch.from_numpy(np.ascontiguousarray(kernel))
    module.bias.data = torch.from_numpy(np.ascontiguousarray(bias))


class TorchVGG16(nn.Module):
    """VGG16 with the layer names of ``minidecnn.zoo.vgg16`` (logits out, no softmax)."""

    BLOCKS = (2, 2, 3, 3, 3)
    FILTERS = (64, 128, 256, 512, 512)

    def __init__(self, classes: int = 1000):
        super().__init__()
        feats, c = [], 3
        self.conv_names = []
        for b, (n, f) in enumerate(zip(self.BLOCKS, self.FILTERS), 1):
            for i in range(1, n + 1):
                feats += [nn.Conv2d(c, f, 3, padding=1), nn.ReLU()]
                self.conv_names.append(f"block{b}_conv{i}")
                c = f
            feats.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*feats)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(7 * 7 * 512, 4096),
            nn.ReLU(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, classes),
        )

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))

    def load_keras_weights(self, path) -> TorchVGG16:
        w = keras_weights_by_name(path)
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        for name, module in zip(self.conv_names, convs):
            _set_conv(module, *w[name])
        dense = [m for m in self.classifier if isinstance(m, nn.Linear)]
        _set_dense(dense[0], *w["fc1"], after_flatten_hwc=(7, 7, 512))
        _set_dense(dense[1], *w["fc2"])
        _set_dense(dense[2], *w["predictions"])
        return self


class TorchDemoCNN(nn.Module):
    """The architecture of ``minidecnn.demo_model.build_demo_model`` (logits out): its
    ``Rescaling(2.0, -1.0)`` maps [0, 1] images to [-1, 1] before the first convolution."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.flatten(self.features(2.0 * x - 1.0)))

    def load_keras_weights(self, path) -> TorchDemoCNN:
        w = keras_weights_by_name(path)
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        for name, module in zip(("conv1", "conv2", "conv3"), convs):
            _set_conv(module, *w[name])
        dense = [m for m in self.classifier if isinstance(m, nn.Linear)]
        _set_dense(dense[0], *w["fc1"], after_flatten_hwc=(4, 4, 64))
        _set_dense(dense[1], *w["fc2"])
        return self


def nchw(x: np.ndarray) -> torch.Tensor:
    """An NHWC float32 batch as a contiguous NCHW tensor."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t: torch.Tensor) -> np.ndarray:
    """An NCHW tensor (for example a map) as an NHWC array."""
    return t.detach().numpy().transpose(0, 2, 3, 1)
