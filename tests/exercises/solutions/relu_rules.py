"""A correct answer to the relu_rules exercise (for the grader's tests)."""

import numpy as np


def relu_forward(z):
    return np.maximum(z, 0)


def relu_gradient(dout, z):
    return dout * (z > 0)


def relu_deconvnet(dout, z):
    return np.maximum(dout, 0)


def relu_guided(dout, z):
    return np.maximum(dout, 0) * (z > 0)
