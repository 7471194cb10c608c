"""The sparse product the generated code calls: ``y += S @ x`` over the stored entries of ``S`` only.

``csr_accumulate(n_rows, n_cols, n_vecs, indptr, indices, data, x, y)`` takes a CSR matrix as its
three arrays, ``x`` as the flat C-order view of an ``(n_cols, n_vecs)`` array and ``y`` as that of
an ``(n_rows, n_vecs)`` one, and adds ``S @ x`` to ``y`` in place. It is scipy's own CSR kernel
(``csr_matvecs``, what ``csr_array @ ndarray`` runs), called directly: the ``@`` operator adds
about 3 us of checks and a result array per call, as much as the kernel's own work on a small op.

Only stored entries are multiplied, so a connection of weight 0.0 stored in ``S`` gives NaN from a
NaN, and nothing else does. The kernel lives in a private scipy module, so it is tried once, on
import, against the public product; if it is missing or disagrees, ``csr_accumulate`` is a
stand-in built on the public API, slower but the same.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

Kernel = Callable[[int, int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


def _public_accumulate(n_rows: int, n_cols: int, n_vecs: int, indptr: np.ndarray, indices: np.ndarray,
                       data: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """``csr_accumulate`` through scipy's public API."""
    matrix = sparse.csr_array((data, indices, indptr), shape=(n_rows, n_cols))
    y += (matrix @ x.reshape(n_cols, n_vecs)).reshape(-1)


def _agrees(kernel: Kernel) -> bool:
    """Whether ``kernel`` computes ``y += S @ x`` as the public product does, zeros stored included."""
    matrix = sparse.csr_array((np.array([2.0, 0.0, -1.0]), np.array([0, 2, 1], dtype=np.int32),
                               np.array([0, 2, 3], dtype=np.int32)), shape=(2, 3))
    x = np.array([[1.0, 2.0], [3.0, 4.0], [np.nan, 5.0]])
    y = np.ones(4)
    try:
        kernel(2, 3, 2, matrix.indptr, matrix.indices, matrix.data, x.reshape(-1), y)
    except Exception:  # a changed signature or module: use the stand-in
        return False
    expected = 1.0 + np.array([[np.nan, 4.0], [-3.0, -4.0]]).reshape(-1)
    return bool(np.array_equal(y, expected, equal_nan=True))


def _choose() -> Kernel:
    try:
        from scipy.sparse._sparsetools import csr_matvecs
    except ImportError:
        return _public_accumulate
    return csr_matvecs if _agrees(csr_matvecs) else _public_accumulate


csr_accumulate: Kernel = _choose()
