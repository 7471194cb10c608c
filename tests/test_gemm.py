"""The packed-weight product (``nngraph.compiler.gemm``) against numpy's, kernel by kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import RTOL, assert_close

from nngraph.compiler.gemm import lanes, pack_weights, packed_product


def _check(weights: np.ndarray, values: np.ndarray, bias: np.ndarray) -> None:
    out = np.full((len(weights), values.shape[1]), -7.0, dtype=weights.dtype)
    packed_product(pack_weights(weights), values, bias, out)
    expected = weights.astype(np.float64) @ values.astype(np.float64) + bias
    assert_close(out, expected, rtol=RTOL[weights.dtype], what="packed product")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 7, 8, 9, 31, 32, 33, 64, 70])
def test_every_tile_shape_and_tail(dtype: type, batch: int) -> None:
    """Batches that fill whole blocks of each kernel, and blocks and panels left partly full: 50
    targets are 1 to 4 panels of either layout and the rows kernel's last panel holds 2 of 12."""
    rng = np.random.default_rng(batch)
    weights = rng.uniform(-1.0, 1.0, (50, 37)).astype(dtype)
    values = rng.uniform(-1.0, 1.0, (37, batch)).astype(dtype)
    bias = rng.uniform(-1.0, 1.0, (50, 1)).astype(dtype)
    _check(weights, values, bias)
    _check(weights, np.asfortranarray(values), bias)  # the inputs reach it transposed, column-major


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(1, 70), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**32 - 1))
def test_any_shape_agrees_with_numpy(targets: int, sources: int, batch: int, dtype: type, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _check(rng.uniform(-1.0, 1.0, (targets, sources)).astype(dtype),
           rng.uniform(-1.0, 1.0, (sources, batch)).astype(dtype), rng.uniform(-1.0, 1.0, (targets, 1)).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [3, 40])
def test_non_finite_values_spread_as_in_numpy(dtype: type, batch: int) -> None:
    """NaN and infinities reach exactly the sums they reach in ``np.matmul``, a weight of 0.0 included."""
    rng = np.random.default_rng(batch)
    weights = rng.uniform(-1.0, 1.0, (20, 6)).astype(dtype)
    weights[3] = 0.0  # 0.0 * inf and 0.0 * NaN are NaN
    weights[5, 2] = np.inf
    values = rng.uniform(-1.0, 1.0, (6, batch)).astype(dtype)
    values[1, 0], values[2, 1], values[4, 2] = np.nan, np.inf, -np.inf
    bias = np.zeros((20, 1), dtype=dtype)
    out = np.empty((20, batch), dtype=dtype)
    packed_product(pack_weights(weights), values, bias, out)
    with np.errstate(invalid="ignore"):
        expected = weights @ values + bias
    assert np.array_equal(np.isnan(out), np.isnan(expected))
    assert np.array_equal(out[np.isinf(expected)], expected[np.isinf(expected)])
    assert np.isinf(expected).any() and np.isnan(expected).any()


def test_panels_hold_two_vectors_of_targets_source_by_source() -> None:
    weights = np.arange(3 * 5, dtype=np.float32).reshape(3, 5)  # 3 targets, 5 sources
    packed = pack_weights(weights)
    width = 2 * lanes(weights.dtype)
    panels = packed.panels.reshape(5, width)
    assert np.array_equal(panels[:, :3], weights.T) and not panels[:, 3:].any()
    assert np.array_equal(packed.rows.reshape(5, 12)[:, :3], weights.T)
    assert not packed.panels.flags.writeable and not packed.rows.flags.writeable
