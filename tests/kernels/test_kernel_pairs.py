"""Every naive kernel equals its fast twin, ties and odd padding included.

The naive kernels are the specification (loops that read like the equations); the
fast twins are what the layers run. Copies and selections (im2col, max-pooling,
routing through switches) must agree bit for bit. col2im adds the same terms in
the same order in both, so it is bit-exact too. Average pooling divides in
float64 in the Numba twin and in the array's dtype in the naive one: in float32
the two may differ in the last bit, so float32 uses a 1-ulp-scale tolerance.
"""

import numpy as np
import pytest

from minidecnn.kernels import KERNEL_PAIRS, window_geometry

# (N, H, W, C, KH, KW, sh, sw, padding) and what each case is there for
CASES = {
    "stride > pool size": (2, 9, 8, 2, 2, 2, 3, 3, "valid"),
    "overlapping windows (stride < kernel)": (2, 7, 6, 3, 3, 3, 1, 1, "same"),
    "overlap, stride 2, same, odd total": (1, 6, 8, 2, 3, 3, 2, 2, "same"),
    "same, odd total, even kernel": (1, 5, 5, 2, 2, 2, 1, 1, "same"),
    "non-square input and kernel": (2, 5, 9, 2, 3, 2, 2, 1, "same"),
    "non-square, valid, ragged edge": (1, 8, 5, 3, 3, 2, 2, 3, "valid"),
    "1x1 kernel with stride": (1, 5, 4, 4, 1, 1, 2, 2, "valid"),
    "window as large as the input": (2, 3, 4, 1, 3, 4, 1, 1, "valid"),
    "big window, same, stride 3": (1, 7, 7, 2, 5, 4, 3, 3, "same"),
}


def random_cases(seed=7, n=12):
    """Seeded random geometries on top of the hand-picked ones."""
    rng = np.random.default_rng(seed)
    cases = {}
    for k in range(n):
        KH, KW = (int(v) for v in rng.integers(1, 5, size=2))
        sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
        H, W = int(rng.integers(KH, 10)), int(rng.integers(KW, 10))
        N, C = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        cases[f"random {k}"] = (N, H, W, C, KH, KW, sh, sw, ("valid", "same")[k % 2])
    return cases


ALL = {**CASES, **random_cases()}
DTYPES = [np.float32, np.float64]


def geometry(case):
    N, H, W, C, KH, KW, sh, sw, padding = case
    H_out, pad_top, _ = window_geometry(H, KH, sh, padding)
    W_out, pad_left, _ = window_geometry(W, KW, sw, padding)
    return (N, H, W, C), (KH, KW, sh, sw, pad_top, pad_left, H_out, W_out)


def with_ties(rng, shape, dtype):
    """Values from {-1, 0, 1, 2}: most pooling windows hold exact ties."""
    return rng.integers(-1, 3, size=shape).astype(dtype)


@pytest.fixture(params=list(ALL), ids=list(ALL))
def case(request):
    return ALL[request.param]


@pytest.mark.parametrize("dtype", DTYPES)
def test_im2col_pair(case, dtype):
    rng = np.random.default_rng(1)
    shape, geom = geometry(case)
    naive, fast = KERNEL_PAIRS["im2col"]
    x = rng.standard_normal(shape).astype(dtype)
    expected = naive(x, *geom)
    got = fast(x, *geom)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_col2im_pair(case, dtype):
    rng = np.random.default_rng(2)
    shape, geom = geometry(case)
    naive, fast = KERNEL_PAIRS["col2im"]
    KH, KW, *_, H_out, W_out = geom
    cols = rng.standard_normal((shape[0] * H_out * W_out, KH * KW * shape[3])).astype(dtype)
    expected = naive(cols, *shape, *geom)
    got = fast(cols, *shape, *geom)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", ["continuous", "ties"])
def test_maxpool_forward_pair(case, dtype, values):
    rng = np.random.default_rng(3)
    shape, geom = geometry(case)
    naive, fast = KERNEL_PAIRS["maxpool_forward"]
    x = rng.standard_normal(shape).astype(dtype)
    if values == "ties":
        x = with_ties(rng, shape, dtype)
    y0, s0 = naive(x, *geom)
    y1, s1 = fast(x, *geom)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(s1, s0)  # same switch, so the same tie rule


@pytest.mark.parametrize("dtype", DTYPES)
def test_route_switches_pair(case, dtype):
    rng = np.random.default_rng(4)
    shape, geom = geometry(case)
    naive, fast = KERNEL_PAIRS["route_switches"]
    _, switches = KERNEL_PAIRS["maxpool_forward"][0](with_ties(rng, shape, dtype), *geom)
    dout = rng.standard_normal(switches.shape).astype(dtype)
    H, W = shape[1], shape[2]
    np.testing.assert_array_equal(fast(dout, switches, H, W), naive(dout, switches, H, W))


@pytest.mark.parametrize("dtype", DTYPES)
def test_avgpool_pairs(case, dtype):
    rng = np.random.default_rng(5)
    shape, geom = geometry(case)
    KH, KW, sh, sw, pt, pl, _, _ = geom
    x = rng.standard_normal(shape).astype(dtype)
    naive_f, fast_f = KERNEL_PAIRS["avgpool_forward"]
    naive_b, fast_b = KERNEL_PAIRS["avgpool_backward"]
    y = naive_f(x, *geom)
    dout = rng.standard_normal(y.shape).astype(dtype)
    dx = naive_b(dout, shape[1], shape[2], KH, KW, sh, sw, pt, pl)
    # float32: the twins round a division in different precisions (see module doc)
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(fast_f(x, *geom), y, rtol=rtol, atol=0)
    np.testing.assert_allclose(
        fast_b(dout, shape[1], shape[2], KH, KW, sh, sw, pt, pl),
        dx,
        rtol=rtol,
        atol=1e-7 if dtype == np.float32 else 0,
    )


def test_every_pair_is_tested():
    tested = {
        "im2col",
        "col2im",
        "maxpool_forward",
        "route_switches",
        "avgpool_forward",
        "avgpool_backward",
        "erfc",
    }
    assert set(KERNEL_PAIRS) == tested


def test_erfc_pair():
    """Both call the C library's erfc: equal bit for bit, over the whole range GELU uses
    (erfc underflows to 0 beyond t = 27 and reaches 2 below t = -6)."""
    rng = np.random.default_rng(11)
    t = np.concatenate([np.linspace(-8, 30, 501), rng.normal(scale=3, size=200), [0.0, -0.0]])
    naive, fast = KERNEL_PAIRS["erfc"]
    for shaped in (t, t[:500].reshape(5, 10, 10), t[:1]):
        np.testing.assert_array_equal(fast(shaped), naive(shaped))
    assert naive(np.array([0.0]))[0] == 1.0 and fast(np.array([40.0]))[0] == 0.0


@pytest.mark.parametrize("name", ["naive", "fast"])
def test_col2im_is_the_adjoint_of_im2col(case, name):
    """<im2col(x), D> = <x, col2im(D)> for random x and D, to float64 rounding."""
    rng = np.random.default_rng(6)
    shape, geom = geometry(case)
    k = 0 if name == "naive" else 1
    im2col, col2im = KERNEL_PAIRS["im2col"][k], KERNEL_PAIRS["col2im"][k]
    x = rng.standard_normal(shape)
    cols = im2col(x, *geom)
    D = rng.standard_normal(cols.shape)
    lhs = np.vdot(cols, D)
    rhs = np.vdot(x, col2im(D, *shape, *geom))
    assert abs(lhs - rhs) <= 1e-12 * (abs(lhs) + abs(rhs))
