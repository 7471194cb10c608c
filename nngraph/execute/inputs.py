"""Input checking shared by every executor, so that each refuses bad input with the same words."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from nngraph.core.dtypes import SUPPORTED_DTYPES, check_dtype
from nngraph.errors import InputError
from nngraph.core.validate import first_bad_number


def as_batch(x: ArrayLike, n_inputs: int, dtype: DTypeLike = np.float64) -> tuple[np.ndarray, bool]:
    """Return ``x`` as a C-contiguous ``(batch, n_inputs)`` array of ``dtype``, and whether it was one sample.

    Integers and booleans are converted; NaN and infinities are allowed and
    propagate; in float32, numbers beyond its range become infinities, as IEEE
    arithmetic makes them. Anything else (strings, objects, complex numbers, an
    integer beyond float range, a ``Fraction``, a wrong width or rank) raises
    ``InputError`` naming the value or the expected shape.
    """
    if (type(x) is np.ndarray and x.ndim == 2 and x.shape[1] == n_inputs and x.dtype in SUPPORTED_DTYPES
            and x.dtype == dtype and x.flags.c_contiguous):
        # Already what is asked for (a plan's call of one sample spends a few microseconds here):
        # the checks below would return it as it is.
        return x, False
    dtype = check_dtype(dtype)
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise InputError(f"input must be a numeric array of shape (batch, {n_inputs}): {error}") from None
    if array.dtype == object:
        array = _numbers_of(array)
    if array.dtype.kind not in "fiub":
        raise InputError(f"input must be real numbers, got dtype {array.dtype}")
    single = array.ndim == 1
    if array.ndim not in (1, 2):
        raise InputError(
            f"expected an array of shape (batch, {n_inputs}) or ({n_inputs},), got shape {array.shape}")
    width = array.shape[-1]
    if width != n_inputs:
        raise InputError(f"expected {n_inputs} input features, got {width}")
    if single or array.dtype != dtype or not array.flags.c_contiguous:
        with np.errstate(over="ignore", under="ignore"):  # float64 -> float32: to infinity or zero
            array = np.ascontiguousarray(array.reshape(-1, n_inputs), dtype=dtype)
    return array, single


def _numbers_of(array: np.ndarray) -> np.ndarray:
    """An array of Python objects as float64 if every one is a number nngraph takes (Python
    integers too large for int64 land here); else ``InputError`` naming the first that is not."""
    bad = first_bad_number(array, finite=False)
    if bad:
        index, problem = bad
        where = f"x[{', '.join(map(str, index))}]" if index else "x"
        raise InputError(f"input {where} must be a number, {problem}")
    return array.astype(np.float64)
