"""Pure array kernels: a readable ``*_naive`` version and a fast twin of each hot loop.

The naive functions are the specification (loops that read like the equations);
the fast twins (Numba, ``cache=True``) have the same signature and the same tie
rule, and tests hold each pair equal. Set ``NUMBA_DISABLE_JIT=1`` to run the fast
kernels as plain Python, for example to step through one in a debugger.
"""

from .geometry import window_geometry
from .im2col import col2im, col2im_naive, im2col, im2col_naive
from .pooling import (
    avgpool_backward,
    avgpool_backward_naive,
    avgpool_forward,
    avgpool_forward_naive,
    maxpool_forward,
    maxpool_forward_naive,
    route_switches,
    route_switches_naive,
)
from .special import erfc, erfc_naive

#: ``(naive, fast)`` pairs, the list the equivalence tests and benchmarks walk through.
KERNEL_PAIRS = {
    "im2col": (im2col_naive, im2col),
    "col2im": (col2im_naive, col2im),
    "maxpool_forward": (maxpool_forward_naive, maxpool_forward),
    "route_switches": (route_switches_naive, route_switches),
    "avgpool_forward": (avgpool_forward_naive, avgpool_forward),
    "avgpool_backward": (avgpool_backward_naive, avgpool_backward),
    "erfc": (erfc_naive, erfc),
}

__all__ = [
    "KERNEL_PAIRS",
    "avgpool_backward",
    "avgpool_backward_naive",
    "avgpool_forward",
    "avgpool_forward_naive",
    "col2im",
    "col2im_naive",
    "erfc",
    "erfc_naive",
    "im2col",
    "im2col_naive",
    "maxpool_forward",
    "maxpool_forward_naive",
    "route_switches",
    "route_switches_naive",
    "window_geometry",
]
