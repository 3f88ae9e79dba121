"""Grading of the convolution exercises: ``conv_forward`` and ``conv_backward``.

The reference answers are minidecnn's own: :func:`~minidecnn.kernels.geometry.window_geometry`,
the naive im2col/col2im kernels and the :class:`~minidecnn.layers.Conv2D` layer (run in
float64), plus centred differences from :mod:`minidecnn.gradcheck`. Every case is seeded.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import gradient_error, numerical_gradient
from ..kernels import col2im_naive, im2col_naive
from ..kernels.geometry import window_geometry
from ..layers import Conv2D
from .grading import Grader, as_array, only_where

#: (label, x shape (N, H, W, C), kernel (KH, KW), stride, padding)
GEOMETRIES = [
    ("3x3 image, 2x2 kernel, stride 1, 'valid' (the worked example)", (1, 3, 3, 1), (2, 2), 1,
     "valid"),
    ("two 5x6 images, 3 channels, 3x3 kernel, stride 2, 'valid'", (2, 5, 6, 3), (3, 3), 2,
     "valid"),
    ("5x5 image, 3x3 kernel, stride 2, 'same' (even total: one row each side)", (1, 5, 5, 2),
     (3, 3), 2, "same"),
    ("6x7 image, 3x2 kernel, stride 2, 'same' (odd totals: the extra row/column goes "
     "bottom/right)", (2, 6, 7, 2), (3, 2), 2, "same"),
    ("4x4 image, 3 channels, 3x3 kernel, stride 1, 'same'", (1, 4, 4, 3), (3, 3), 1, "same"),
]  # fmt: skip

#: window_geometry cases: (size, kernel, stride, padding)
GEOMETRY_TABLE = [
    (5, 3, 1, "valid"),
    (7, 3, 2, "valid"),
    (6, 3, 2, "valid"),
    (5, 3, 1, "same"),
    (5, 3, 2, "same"),
    (6, 3, 2, "same"),
    (7, 2, 1, "same"),
    (4, 1, 3, "same"),
    (5, 2, 3, "same"),
]

ROWS = ("row", "column")
IMAGE_AXES = ("n", "h", "w", "c")
OUT_AXES = ("n", "i", "j", "f")
KERNEL_AXES = ("u", "v", "c", "f")


def geometry(shape, kernel, stride, padding, top_heavy=False, no_padding=False):
    """``(KH, KW, sh, sw, pad_top, pad_left, H_out, W_out)``, optionally with a known mistake."""
    _, H, W, _ = shape
    KH, KW = kernel
    rows = window_geometry(H, KH, stride, "valid" if no_padding else padding)
    cols = window_geometry(W, KW, stride, "valid" if no_padding else padding)
    pad_top = rows[2] if top_heavy else rows[1]  # the mistake: the extra row on top
    pad_left = cols[2] if top_heavy else cols[1]
    return KH, KW, stride, stride, pad_top, pad_left, rows[0], cols[0]


def _data(shape, kernel, filters, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    W = rng.standard_normal((*kernel, shape[-1], filters))
    b = rng.standard_normal(filters)
    return x, W, b


def reference_layer(x, W, b, stride, padding) -> Conv2D:
    """A float64 :class:`Conv2D` holding ``W`` and ``b``, after a forward pass on ``x``."""
    layer = Conv2D(W.shape[-1], W.shape[:2], strides=stride, padding=padding, name="reference")
    layer.build(x.shape[1:])
    layer.astype(np.float64)
    layer.params["W"][...] = W
    layer.params["b"][...] = b
    layer.forward(x)
    return layer


def _conv_with(x, W, b, geom, flip=False, bias=True):
    """The convolution with an explicit geometry (used to recognise wrong answers)."""
    KH, KW, C, F = W.shape
    N = len(x)
    Wm = (W[::-1, ::-1] if flip else W).reshape(KH * KW * C, F)
    y = im2col_naive(x, *geom) @ Wm + (b if bias else 0)
    return y.reshape(N, geom[6], geom[7], F)


def _padding_hint(padding):
    if padding == "same":
        return (
            "This is the answer with the extra padding row/column on top/left. TensorFlow "
            "(and minidecnn) put it at the bottom/right: before = total // 2, "
            "after = total - before."
        )
    return ""


# ----------------------------------------------------------------------------- conv_forward


def grade_window_geometry(g: Grader) -> None:
    for size, kernel, stride, padding in GEOMETRY_TABLE:
        case = f"size={size}, kernel={kernel}, stride={stride}, padding={padding!r}"
        ok, got = g.call("window_geometry", case, size, kernel, stride, padding)
        if not ok:
            continue
        expected = np.array(window_geometry(size, kernel, stride, padding))
        out, before, after = expected
        mistakes = []
        if padding == "same":
            mistakes.append(
                (
                    np.array([out, after, before]),
                    "With an odd total the extra padding goes after (bottom/right): "
                    "before = total // 2, after = total - before.",
                )
            )
            mistakes.append(
                (
                    np.array(window_geometry(size, kernel, stride, "valid")),
                    "That is the 'valid' answer. With 'same' padding H_out = ceil(H / stride) "
                    "and the total padding is max((H_out - 1)*stride + kernel - H, 0).",
                )
            )
        g.compare(
            "window_geometry",
            case,
            expected,
            got,
            "(out, before, after)",
            exact=True,
            mistakes=mistakes,
        )


def grade_im2col(g: Grader) -> None:
    for k, (label, shape, kernel, stride, padding) in enumerate(GEOMETRIES):
        x, _, _ = _data(shape, kernel, 1, 100 + k)
        ok, got = g.call("im2col", label, x, kernel[0], kernel[1], stride, padding)
        if not ok:
            continue
        geom = geometry(shape, kernel, stride, padding)
        expected = im2col_naive(x, *geom)
        mistakes = []
        if padding == "same":
            mistakes += [
                (im2col_naive(x, *geometry(shape, kernel, stride, padding, top_heavy=True)),
                 _padding_hint(padding)),
                (im2col_naive(x, *geometry(shape, kernel, stride, padding, no_padding=True)),
                 "That is the 'valid' im2col: you forgot the padding. Rows and columns outside "
                 "the image read as zero."),
            ]  # fmt: skip
        C = shape[3]
        KH, KW = kernel
        # the columns in (c, u, v) order instead of (u, v, c)
        cuv = expected.reshape(-1, KH, KW, C).transpose(0, 3, 1, 2).reshape(expected.shape)
        mistakes.append(
            (
                cuv,
                "The right numbers in the wrong column order: columns run over (u, v, c) "
                "with c fastest, the order of W.reshape(KH*KW*C, F) for W of shape "
                "(KH, KW, C, F).",
            )
        )
        g.compare("im2col", label, expected, got, "cols", mistakes=mistakes, index_names=ROWS)


def grade_conv_forward(g: Grader) -> None:
    for k, (label, shape, kernel, stride, padding) in enumerate(GEOMETRIES):
        x, W, b = _data(shape, kernel, 4, 200 + k)
        ok, got = g.call("conv_forward", label, x, W, b, stride, padding)
        if not ok:
            continue
        expected = reference_layer(x, W, b, stride, padding).forward(x)
        geom = geometry(shape, kernel, stride, padding)
        mistakes = [
            (_conv_with(x, W, b, geom, bias=False), "The bias is missing: add b[f] to channel f."),
            (
                _conv_with(x, W, b, geom, flip=True),
                "You flipped the kernel (a true convolution). Deep-learning layers, minidecnn "
                "included, compute a cross-correlation: W[u, v] multiplies "
                "x_pad[i*s + u, j*s + v].",
            ),
        ]
        if padding == "same":
            mistakes += [
                (_conv_with(x, W, b, geometry(shape, kernel, stride, padding, top_heavy=True)),
                 _padding_hint(padding)),
                (_conv_with(x, W, b, geometry(shape, kernel, stride, padding, no_padding=True)),
                 "That is the 'valid' convolution: you forgot the padding."),
            ]  # fmt: skip
        g.compare(
            "conv_forward", label, expected, got, "y", mistakes=mistakes, index_names=OUT_AXES
        )


def grade_forward(g: Grader) -> None:
    grade_window_geometry(g)
    grade_im2col(g)
    grade_conv_forward(g)


# ----------------------------------------------------------------------------- conv_backward


def _overwrites(shape, geom, expected):
    """Recognises a col2im that overwrites where windows overlap instead of adding."""
    rows = shape[0] * geom[6] * geom[7]
    cover = col2im_naive(np.ones((rows, geom[0] * geom[1] * shape[3])), *shape, *geom)
    return only_where(cover > 1, expected)


def grade_col2im(g: Grader) -> None:
    for k, (label, shape, kernel, stride, padding) in enumerate(GEOMETRIES):
        geom = geometry(shape, kernel, stride, padding)
        rows, cols = shape[0] * geom[6] * geom[7], kernel[0] * kernel[1] * shape[3]
        dcols = np.random.default_rng(300 + k).standard_normal((rows, cols))
        ok, got = g.call("col2im", label, dcols, shape, kernel[0], kernel[1], stride, padding)
        if not ok:
            continue
        expected = col2im_naive(dcols, *shape, *geom)
        mistakes = [
            (
                _overwrites(shape, geom, expected),
                "Where windows overlap, their contributions must ADD (dx += ...), not overwrite: "
                "col2im is the adjoint of im2col, which copied each pixel into several rows.",
            )
        ]
        if padding == "same":
            wrong = geometry(shape, kernel, stride, padding, top_heavy=True)
            mistakes.append((col2im_naive(dcols, *shape, *wrong), _padding_hint(padding)))
        g.compare("col2im", label, expected, got, "dx", mistakes=mistakes, index_names=IMAGE_AXES)


def _unpack_three(g, case, got):
    """``(dx, dW, db)`` from the student's return value, or None after recording the failure."""
    if not isinstance(got, tuple | list) or len(got) != 3:
        what = f"a {type(got).__name__}" + (
            f" of length {len(got)}" if isinstance(got, tuple | list) else ""
        )
        g.fail(
            "conv_backward",
            case,
            f"conv_backward returned {what}. Expected a tuple (dx, dW, db).",
        )
        return None
    return got


def grade_conv_backward(g: Grader) -> None:
    for k, (label, shape, kernel, stride, padding) in enumerate(GEOMETRIES):
        x, W, b = _data(shape, kernel, 4, 400 + k)
        layer = reference_layer(x, W, b, stride, padding)
        dout = np.random.default_rng(500 + k).standard_normal((shape[0], *layer.output_shape))
        ok, got = g.call("conv_backward", label, dout, x, W, stride, padding)
        if not ok or (got := _unpack_three(g, label, got)) is None:
            continue
        dx_ref = layer.backward(dout)
        geom = geometry(shape, kernel, stride, padding)
        D = dout.reshape(-1, W.shape[-1])
        dcols = D @ W.reshape(-1, W.shape[-1]).T  # what col2im receives
        mistakes_dx = [
            (
                _overwrites(shape, geom, dx_ref),
                "Overlapping windows must add their contributions in col2im (dx += ...).",
            )
        ]
        if padding == "same":
            wrong = geometry(shape, kernel, stride, padding, top_heavy=True)
            mistakes_dx.append((col2im_naive(dcols, *shape, *wrong), _padding_hint(padding)))
        parts = (
            ("dx", dx_ref, mistakes_dx, IMAGE_AXES),
            ("dW", layer.grads["W"], [], KERNEL_AXES),
            ("db", layer.grads["b"], [], None),
        )
        for (name, expected, mistakes, axes), received in zip(parts, got):
            g.compare(
                "conv_backward",
                f"{label}: {name}",
                expected,
                received,
                name,
                mistakes=mistakes,
                index_names=axes,
            )
    _gradient_check(g)
    _adjoint_check(g)


def _gradient_check(g: Grader) -> None:
    """dx and dW against centred differences of <conv(x), dout> (minidecnn.gradcheck)."""
    label = "centred differences of <conv_forward(x), dout> (5x5 image, 3x3, stride 2, 'same')"
    shape, kernel, stride, padding = (1, 5, 5, 2), (3, 3), 2, "same"
    x, W, b = _data(shape, kernel, 3, 600)
    layer = reference_layer(x, W, b, stride, padding)
    dout = np.random.default_rng(601).standard_normal((1, *layer.output_shape))

    def objective_x(v):
        return float(np.vdot(layer.forward(v), dout))

    num_dx = numerical_gradient(objective_x, x.copy())
    layer.forward(x)
    w = layer.params["W"]

    def objective_w(_):
        return float(np.vdot(layer.forward(x), dout))

    num_dW = numerical_gradient(objective_w, w)
    ok, got = g.call("conv_backward", label, dout, x, W, stride, padding)
    if not ok or (got := _unpack_three(g, label, got)) is None:
        return
    for name, num, received in (("dx", num_dx, got[0]), ("dW", num_dW, got[1])):
        arr = as_array(received)
        if arr is None or arr.shape != num.shape:
            shape_got = None if arr is None else arr.shape
            g.fail(
                "conv_backward",
                f"{label}: {name}",
                f"{name} has shape {shape_got}. Expected {num.shape}.",
            )
            continue
        err = gradient_error(arr, num)
        if err < 1e-6:
            g.ok("conv_backward", f"{label}: {name}")
        else:
            g.fail(
                "conv_backward",
                f"{label}: {name}",
                f"{name} disagrees with the numerical gradient: relative error {err:.2e} "
                f"(tolerance 1e-6; minidecnn.gradcheck.gradient_error).",
            )


def _adjoint_check(g: Grader) -> None:
    """<conv(x), y> = <x, conv^T(y)>: the input gradient is the transposed convolution."""
    label = "adjoint identity <conv(x), y> = <x, dx(y)> (two 6x7 images, 3x2, stride 2, 'same')"
    shape, kernel, stride, padding = (2, 6, 7, 2), (3, 2), 2, "same"
    x, W, _ = _data(shape, kernel, 3, 700)
    zero = np.zeros(W.shape[-1])
    y_x = reference_layer(x, W, zero, stride, padding).forward(x)
    probe = np.random.default_rng(701).standard_normal(y_x.shape)
    ok, got = g.call("conv_backward", label, probe, x, W, stride, padding)
    if not ok or (got := _unpack_three(g, label, got)) is None:
        return
    dx = as_array(got[0])
    if dx is None or dx.shape != x.shape:
        g.fail("conv_backward", label, f"dx has shape {getattr(dx, 'shape', None)}, not {shape}.")
        return
    lhs, rhs = float(np.vdot(y_x, probe)), float(np.vdot(x, dx))
    err = abs(lhs - rhs) / max(abs(lhs) + abs(rhs), 1e-300)
    if err < 1e-10:
        g.ok("conv_backward", label)
    else:
        g.fail(
            "conv_backward",
            label,
            f"<conv(x), y> = {lhs:.10g} but <x, dx> = {rhs:.10g} (relative difference {err:.1e}).",
            "dx must be the transposed convolution of dout: col2im(dout @ W.reshape(-1, F).T).",
        )


def grade_backward(g: Grader) -> None:
    grade_col2im(g)
    grade_conv_backward(g)
