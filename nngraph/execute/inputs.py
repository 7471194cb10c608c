"""Input checking shared by every executor, so that each refuses bad input with the same words."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from nngraph.core.dtypes import check_dtype
from nngraph.errors import InputError


def as_batch(x: ArrayLike, n_inputs: int, dtype: DTypeLike = np.float64) -> tuple[np.ndarray, bool]:
    """Return ``x`` as a C-contiguous ``(batch, n_inputs)`` array of ``dtype``, and whether it was one sample.

    Integers and booleans are converted; NaN is allowed and propagates. Anything
    else (strings, objects, complex numbers, a wrong width or rank) raises
    ``InputError`` with the expected shape.
    """
    dtype = check_dtype(dtype)
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise InputError(f"input must be a numeric array of shape (batch, {n_inputs}): {error}") from None
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
        array = np.ascontiguousarray(array.reshape(-1, n_inputs), dtype=dtype)
    return array, single
