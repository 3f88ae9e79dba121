"""Inputs and tolerances shared by the layer tests.

Gradient checks run in float64 with centred differences, h = 1e-5. The truncation
error is O(h^2) ~ 1e-10 and the round-off ~ eps * |f| / h ~ 1e-11 * |f|, so a
correct backward agrees to about 1e-8; a wrong formula (a missing transpose, a
dropped term) is off by 1e-2 or more. GRAD_TOL = 1e-6 sits between the two.
Adjointness is an identity between two sums of products: float64 rounding only,
so 1e-10.
"""

import numpy as np

from minidecnn.gradcheck import check_layer

#: relative error allowed between backward and centred differences (see module doc)
GRAD_TOL = 1e-6


def away_from_zero(rng, shape, margin=0.1):
    """Normal values pushed at least ``margin`` away from 0 (ReLU's kink), so a 1e-5
    step never flips a mask."""
    z = rng.standard_normal(shape)
    return np.sign(z) * (margin + np.abs(z))


def distinct(rng, shape, gap=0.05):
    """All-different values at least ``gap`` apart (no max-pool ties), in random order."""
    values = (np.arange(int(np.prod(shape))) - np.prod(shape) / 2) * gap
    return rng.permutation(values).reshape(shape)


def assert_gradcheck(layer, x, training=False, tol=GRAD_TOL):
    """Run the whole contract check; on failure the report (both sides) is the message."""
    report = check_layer(layer, x, training=training, tol=tol, verbose=False)
    assert report.passed, str(report)
    return report


def check_names(report):
    return [c.name for c in report.checks]
