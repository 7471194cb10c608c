"""The number types nngraph computes in: float64 by default, float32 on request.

Both executors and the compiler accept exactly these, so each refuses any other with the same words.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from nngraph.errors import InputError

SUPPORTED_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


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
