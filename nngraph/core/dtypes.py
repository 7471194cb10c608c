"""The number types nngraph computes in: float64 by default, float32 on request.

Both executors and the compiler accept exactly these, so each refuses any other with the same words.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from nngraph.errors import InputError

SUPPORTED_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# The kinds of number a weight or bias usually is: ``float()`` takes each exactly (an int within
# float range), so a list of them is checked at once (``all_finite``) rather than one by one.
PLAIN_NUMBERS = {float, int, np.float64, np.float32, np.float16, np.int64, np.int32}


def check_dtype(dtype: DTypeLike) -> np.dtype:
    """Return ``dtype`` as a numpy dtype if nngraph computes in it (float64 or float32).

    Examples
    --------
    >>> check_dtype("float32")
    dtype('float32')
    >>> check_dtype(int)
    Traceback (most recent call last):
    ...
    nngraph.errors.InputError: dtype must be float64 or float32, got <class 'int'>
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in SUPPORTED_DTYPES:
        raise InputError(f"dtype must be float64 or float32, got {dtype!r}")
    return resolved


def all_finite(values: list, kinds: set[type]) -> bool:
    """Whether every one of ``values``, each of a kind in ``PLAIN_NUMBERS`` (``kinds`` are their
    types), is finite; one pass over them. False may be a false alarm (a sum that overflows, an int
    beyond float range): the caller then tests each value alone.

    Examples
    --------
    >>> all_finite([0.5, 2, -1.0], {float, int}), all_finite([0.5, float("nan")], {float})
    (True, False)
    """
    try:
        if int in kinds:  # Python ints are unbounded: convert each
            return bool(np.isfinite(np.asarray(values, dtype=float)).all())
        # A sum is finite only if every term is; one that overflows is a false alarm.
        return math.isfinite(sum(values))
    except OverflowError:
        return False
