"""Hand-computed cases and the facts the course relies on, for naive and fast kernels alike."""

import numpy as np
import pytest

from minidecnn.kernels import KERNEL_PAIRS, window_geometry
from minidecnn.kernels.geometry import as_pair

BOTH = pytest.mark.parametrize("k", [0, 1], ids=["naive", "fast"])


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [
        (7, 3, 2, "valid", (3, 0, 0)),  # floor((7 - 3) / 2) + 1
        (5, 3, 2, "same", (3, 1, 1)),  # ceil(5/2) = 3; total (3-1)*2 + 3 - 5 = 2
        (6, 3, 2, "same", (3, 0, 1)),  # total 1 is odd: the extra row goes to the bottom
        (5, 2, 1, "same", (5, 0, 1)),  # even kernel, stride 1: total 1, bottom
        (4, 4, 4, "same", (1, 0, 0)),
        (3, 5, 1, "valid", (-1, 0, 0)),  # does not fit: the layers turn this into an error
    ],
)
def test_window_geometry(size, kernel, stride, padding, expected):
    assert window_geometry(size, kernel, stride, padding) == expected


def test_window_geometry_rejects_unknown_padding():
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'; received 'full'"):
        window_geometry(5, 3, 1, "full")


def test_as_pair():
    assert as_pair(3, "kernel_size", "Conv2D") == (3, 3)
    assert as_pair((2, 5), "kernel_size", "Conv2D") == (2, 5)
    with pytest.raises(ValueError, match=r"Conv2D: invalid strides\. Expected a positive int"):
        as_pair((2, 0), "strides", "Conv2D")


@BOTH
def test_im2col_by_hand(k):
    """3x3 image 0..8, 2x2 windows with stride 1 and padding 'same' (bottom/right)."""
    im2col = KERNEL_PAIRS["im2col"][k]
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    # same padding: H_out = 3, total padding 1 -> 0 on top/left, 1 bottom/right
    cols = im2col(x, 2, 2, 1, 1, 0, 0, 3, 3)
    assert cols.shape == (9, 4)
    np.testing.assert_array_equal(cols[0], [0, 1, 3, 4])
    np.testing.assert_array_equal(cols[2], [2, 0, 5, 0])  # right edge reads padding
    np.testing.assert_array_equal(cols[8], [8, 0, 0, 0])  # bottom-right corner


@BOTH
def test_im2col_channel_order_is_u_v_c(k):
    """Row entries run over (u, v, c) with c fastest: the order of W.reshape(KH*KW*C, F)."""
    im2col = KERNEL_PAIRS["im2col"][k]
    x = np.array([[[[1.0, 10.0], [2.0, 20.0]]]])  # (1, 1, 2, 2): two pixels, two channels
    np.testing.assert_array_equal(im2col(x, 1, 2, 1, 1, 0, 0, 1, 1), [[1, 10, 2, 20]])


@BOTH
def test_col2im_by_hand_overlaps_add(k):
    """1-D view: length-4 row, windows of 2 with stride 1: middle cells are in two windows."""
    col2im = KERNEL_PAIRS["col2im"][k]
    cols = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    dx = col2im(cols, 1, 1, 4, 1, 1, 2, 1, 1, 0, 0, 1, 3)
    np.testing.assert_array_equal(dx.ravel(), [1, 2 + 10, 20 + 100, 200])


@BOTH
def test_col2im_drops_padding(k):
    col2im = KERNEL_PAIRS["col2im"][k]
    # one 3x3 window centred on a 1x1 image (pad 1 all round): only the centre tap survives
    cols = np.arange(9.0).reshape(1, 9)
    np.testing.assert_array_equal(col2im(cols, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1).ravel(), [4])


@BOTH
def test_maxpool_by_hand(k):
    maxpool = KERNEL_PAIRS["maxpool_forward"][k]
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 1], [9, 0, 1, 2]], float)
    y, s = maxpool(x.reshape(1, 4, 4, 1), 2, 2, 2, 2, 0, 0, 2, 2)
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 8], [9, 2]])
    np.testing.assert_array_equal(s[0, :, :, 0], [[1, 6], [12, 15]])  # flat h*W + w


@BOTH
def test_maxpool_ties_go_to_first_row_major_cell(k):
    maxpool = KERNEL_PAIRS["maxpool_forward"][k]
    x = np.full((1, 4, 4, 2), 3.0)
    x[0, 1, 1, 1] = 3.0  # still a tie
    _, s = maxpool(x, 2, 2, 2, 2, 0, 0, 2, 2)
    # first cell of each window: (0,0), (0,2), (2,0), (2,2)
    np.testing.assert_array_equal(s[0, :, :, 0], [[0, 2], [8, 10]])
    np.testing.assert_array_equal(s[0, :, :, 1], [[0, 2], [8, 10]])
    # a tie between the 2nd and 4th cell: the 2nd wins
    x = np.array([0.0, 7.0, 1.0, 7.0]).reshape(1, 2, 2, 1)
    _, s = maxpool(x, 2, 2, 2, 2, 0, 0, 1, 1)
    assert s.item() == 1


@BOTH
def test_maxpool_padding_never_wins(k):
    """With 'same' padding and all-negative inputs the max is a real cell, not a padded 0."""
    maxpool = KERNEL_PAIRS["maxpool_forward"][k]
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # -1 .. -9
    H_out, pt, _ = window_geometry(3, 2, 2, "same")
    y, s = maxpool(x, 2, 2, 2, 2, pt, pt, H_out, H_out)
    np.testing.assert_array_equal(y[0, :, :, 0], [[-1, -3], [-7, -9]])
    np.testing.assert_array_equal(s[0, :, :, 0], [[0, 2], [6, 8]])


@BOTH
@pytest.mark.parametrize("overlap", [False, True])
def test_routing_conserves_the_signal(k, overlap):
    """The window sum of the routed signal is the window's dout; the total is conserved."""
    maxpool, route = KERNEL_PAIRS["maxpool_forward"][k], KERNEL_PAIRS["route_switches"][k]
    rng = np.random.default_rng(11)
    x = rng.integers(0, 3, size=(2, 7, 7, 3)).astype(float)  # many ties
    KH, s_ = (3, 2) if overlap else (2, 2)
    H_out, pt, _ = window_geometry(7, KH, s_, "same")
    y, switches = maxpool(x, KH, KH, s_, s_, pt, pt, H_out, H_out)
    dout = rng.standard_normal(y.shape)
    dx = route(dout, switches, 7, 7)
    np.testing.assert_allclose(dx.sum(axis=(1, 2)), dout.sum(axis=(1, 2)), rtol=1e-12)
    if not overlap:  # each window's cells receive exactly that window's signal
        for i in range(H_out):
            for j in range(H_out):
                window = dx[:, 2 * i - pt : 2 * i - pt + 2, 2 * j - pt : 2 * j - pt + 2, :]
                np.testing.assert_allclose(window.sum(axis=(1, 2)), dout[:, i, j, :])
    # the signal lands only on switch cells (dout is nonzero almost surely, so all of them)
    for n in range(2):
        for c in range(3):
            hit = set(np.flatnonzero(dx[n, :, :, c]).tolist())
            assert hit == set(switches[n, :, :, c].ravel().tolist())


@BOTH
def test_routing_of_a_tie_goes_to_one_cell(k):
    maxpool, route = KERNEL_PAIRS["maxpool_forward"][k], KERNEL_PAIRS["route_switches"][k]
    x = np.ones((1, 2, 2, 1))
    _, s = maxpool(x, 2, 2, 2, 2, 0, 0, 1, 1)
    dx = route(np.full((1, 1, 1, 1), 5.0), s, 2, 2)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5, 0], [0, 0]])


@BOTH
def test_avgpool_by_hand(k):
    fwd, bwd = KERNEL_PAIRS["avgpool_forward"][k], KERNEL_PAIRS["avgpool_backward"][k]
    x = np.array([[1.0, 2.0, 4.0], [3.0, 6.0, 8.0], [5.0, 0.0, 1.0]]).reshape(1, 3, 3, 1)
    # 2x2 windows, stride 2, 'same': total padding 1, at the bottom/right only
    y = fwd(x, 2, 2, 2, 2, 0, 0, 2, 2)
    # (1+2+3+6)/4, (4+8)/2, (5+0)/2, 1/1: padded cells are not counted
    np.testing.assert_allclose(y[0, :, :, 0], [[3.0, 6.0], [2.5, 1.0]])
    dx = bwd(np.full((1, 2, 2, 1), 4.0), 3, 3, 2, 2, 2, 2, 0, 0)
    np.testing.assert_allclose(dx[0, :, :, 0], [[1, 1, 2], [1, 1, 2], [2, 2, 4]])


@BOTH
def test_avgpool_backward_is_the_adjoint(k):
    fwd, bwd = KERNEL_PAIRS["avgpool_forward"][k], KERNEL_PAIRS["avgpool_backward"][k]
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 7, 6, 2))
    H_out, pt, _ = window_geometry(7, 3, 2, "same")
    W_out, pl, _ = window_geometry(6, 2, 1, "same")
    y = fwd(x, 3, 2, 2, 1, pt, pl, H_out, W_out)
    d = rng.standard_normal(y.shape)
    lhs, rhs = np.vdot(y, d), np.vdot(x, bwd(d, 7, 6, 3, 2, 2, 1, pt, pl))
    assert abs(lhs - rhs) <= 1e-12 * (abs(lhs) + abs(rhs))
