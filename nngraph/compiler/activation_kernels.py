"""Activations the generated code can run as one compiled pass (numba), where numpy makes a call
per step: softmax, whose in-place numpy form is five calls (a maximum, a subtraction, exp, a sum,
a division), each a few microseconds on a small block. Imported by the generated code's first run
only (it imports numba); which batches it serves is ``nngraph.compiler.costs``'s to say
(``softmax_kernel_batch_limit``).
"""

from __future__ import annotations

import functools

import numpy as np

from nngraph.compiler.native import compiled


@functools.partial(compiled, error_model="numpy")  # as the native kernel: no check per division
def softmax_columns(z, a):
    """``a = softmax(z)`` over the rows of each column (the op's neurons, for each sample; ``a``
    may be ``z``), as the numpy form computes it: ``exp(z - max) / sum``, the maximum NaN where a
    value is, so that NaN and infinities give what they give there.

    Examples
    --------
    >>> z = np.array([[0.0, 1.0], [0.0, np.nan]])
    >>> softmax_columns(z, z)
    >>> z
    array([[0.5, nan],
           [0.5, nan]])
    """
    rows, n = z.shape
    if rows == 0:
        return
    top = z[0].copy()
    for i in range(1, rows):
        for j in range(n):
            value = z[i, j]
            if value > top[j] or value != value:  # NaN stays the maximum, as in np.max
                top[j] = value
    total = np.zeros(n, dtype=z.dtype)
    for i in range(rows):
        for j in range(n):
            value = np.exp(z[i, j] - top[j])
            a[i, j] = value
            total[j] += value
    for i in range(rows):
        for j in range(n):
            a[i, j] /= total[j]
