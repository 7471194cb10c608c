"""The compiled softmax (``nngraph.compiler.activation_kernels``): against numpy's in-place form,
NaN and infinities included, and in plans, where the cost model picks it for small batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import RTOL, assert_close

from nngraph import CodegenOptions, compile_network
from nngraph.compiler import products
from nngraph.compiler.activation_kernels import softmax_columns
from nngraph.compiler.costs import softmax_kernel_batch_limit
from nngraph.layers import Dense
from nngraph.models import Sequential


def _numpy_softmax(z: np.ndarray) -> np.ndarray:
    """The generated code's in-place numpy form: its lines (``products.IN_PLACE``) run into a
    fresh array, under the runner's error state."""
    namespace = {"np": np, "z": z, "a": np.empty_like(z)}
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        exec("\n".join(products.IN_PLACE["softmax"]).format(z="z", a="a"), namespace)
    return namespace["a"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([np.float32, np.float64]).flatmap(lambda dtype: hnp.arrays(
    dtype, st.tuples(st.integers(1, 12), st.integers(0, 40)),
    elements=st.one_of(st.floats(-50.0, 50.0, width=32), st.sampled_from([np.nan, np.inf, -np.inf])))),
       st.booleans())
def test_the_compiled_softmax_agrees_with_numpys(z: np.ndarray, in_place: bool) -> None:
    expected = _numpy_softmax(z)
    a = z if in_place else np.full_like(z, -7.0)
    softmax_columns(z.copy() if not in_place else z, a)
    assert np.array_equal(np.isnan(a), np.isnan(expected))
    finite = ~np.isnan(expected)
    assert_close(a[finite], expected[finite], rtol=RTOL[z.dtype], what="softmax")


def _softmax_network() -> object:
    return Sequential([Dense(12, input_shape=(5,), activation="relu"), Dense(7, activation="softmax")], seed=4).graph


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plans_take_the_compiled_softmax_up_to_the_cost_models_limit(dtype: type) -> None:
    """The numpy pass (the scalar code and the native kernel switched off, so that every batch runs
    it, traces too) takes the compiled softmax up to the limit and numpy's form past it."""
    numpy_only = CodegenOptions(native_kernel=False, scalar_code=False)
    plan = compile_network(_softmax_network(), dtype=dtype, options=numpy_only)
    limit = softmax_kernel_batch_limit(7, dtype=np.dtype(dtype), options=plan.options)
    assert limit > 8
    assert f"if z.shape[1] <= {limit}:  # softmax in one compiled pass" in plan.code
    plain = compile_network(_softmax_network(), dtype=dtype,
                            options=CodegenOptions(native_kernel=False, scalar_code=False, compiled_softmax=False))
    assert "softmax_columns" not in plain.code
    x = np.random.default_rng(0).uniform(-3.0, 3.0, (limit + 1, 5))
    x[2, 1] = np.nan
    x[3, 0] = np.inf
    for batch in (1, 8, limit, limit + 1):  # at and past the limit
        assert_close(plan(x[:batch]), plain(x[:batch]), rtol=RTOL[plan.dtype], what=f"batch {batch}")
        assert_close(plan.trace(x[:batch]).values, plain.trace(x[:batch]).values, rtol=RTOL[plan.dtype],
                     what=f"trace, batch {batch}")
