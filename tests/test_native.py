"""The native kernel's activations agree with the reference over the whole range of their sums.

tanh, sigmoid, softmax, elu, selu, exponential and neat's gauss and softplus come from the kernel's
own exp (a polynomial the compiler vectorises, not the C library's), so they are checked where that
differs most: near 0, where exp's result becomes subnormal, zero or infinite, at NaN and the
infinities, and over chunks of many samples. neat-python's activations clamp their scaled argument
first: they are checked at each clamp's edges too, and just inside and outside them.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import NEAT, RTOL, assert_close, assert_equivalent, networks_and_batches

import nngraph
from nngraph.compiler import build_plan
from nngraph.compiler.native import _forward, has_native_form, native_arrays, run_native
from nngraph.compiler.arrays import grouped
from nngraph.core.neat_activations import CLAMPED_FORMS, neat_sin

WIDTH = 6
ACTIVATIONS = ("linear", "relu", "leaky_relu(alpha=0.1)", "tanh", "sigmoid", "softmax", "elu",
               "elu(alpha=0.5)", "selu", "exponential", *CLAMPED_FORMS)


def clamp_edges() -> list[float]:
    """Every neat activation's clamp bounds as weighted sums (``bound / scale``), with the numbers
    next to them on either side."""
    edges = {bound / scale for _, scale, low, high in CLAMPED_FORMS.values() for bound in (low, high)
             if np.isfinite(bound)}
    return [float(value) for edge in sorted(edges) for value in
            (np.nextafter(edge, -np.inf), edge, np.nextafter(edge, np.inf))]


SPECIAL = [*clamp_edges(), np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-8, -1e-8, 0.3465,
           -0.3466, 0.5, 20.0, -20.0, 88.7, 89.0, -103.0, -104.0, 354.9, -372.6, 708.0, 709.9, 710.0,
           -744.0, -745.2, -746.0, 1e30, -1e30]


def pass_through(activation: str, bias: float = 0.0) -> nx.DiGraph:
    """x_i -> y_i with weight 1.0 and ``bias``: each output's weighted sum is its input, exactly (its
    sign of zero too, with a bias of -0.0)."""
    G = nngraph.new_network()
    for i in range(WIDTH):
        nngraph.add_input(G, f"x{i}")
        nngraph.add_neuron(G, nngraph.Neuron(f"y{i}", role="output", activation=activation, bias=bias,
                                             layer="out"))
        nngraph.connect(G, f"x{i}", f"y{i}", 1.0)
    return G


def sums(samples: int) -> np.ndarray:
    """``samples`` rows of weighted sums: the special values, then numbers over many scales."""
    rng = np.random.default_rng(samples)
    spread = [rng.uniform(-1.0, 1.0, 200), rng.uniform(-40.0, 40.0, 200), rng.uniform(-800.0, 800.0, 200),
              rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(-30.0, 3.0, 200)]
    values = np.concatenate([SPECIAL] + spread)
    return np.resize(values, samples * WIDTH).reshape(samples, WIDTH)


def run(plan: nngraph.compiler.Plan, x: np.ndarray, *, tracing: bool) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's weighted sums and values, ``(batch, columns)``: into one buffer, or two."""
    values = np.empty((plan.n_columns, len(x)), dtype=plan.dtype)
    weighted = np.empty_like(values) if tracing else values
    if tracing:
        weighted[: len(plan.inputs)] = np.nan  # the inputs have no weighted sum: the caller's to say
    run_native(native_arrays(plan), x.T, weighted, values)
    return weighted.T, values.T


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_agrees_with_the_reference_over_the_range_of_its_sums(activation: str,
                                                                             dtype: type) -> None:
    G = pass_through(activation)
    plan = build_plan(G, dtype=dtype)
    for samples in (1, 7, 300):  # 300 samples: the exp's arguments go through many chunks
        with np.errstate(over="ignore"):
            x = sums(samples).astype(dtype)
        reference = nngraph.run_reference(G, x, dtype=dtype)
        columns = [plan.columns[node] for node in reference.columns]
        for tracing in (False, True):
            weighted, values = run(plan, x, tracing=tracing)
            assert_close(values[:, columns], reference.values, rtol=RTOL[np.dtype(dtype)],
                         what=f"{activation} values, {samples} samples", names=list(reference.columns))
            if tracing:
                assert_close(weighted[:, columns], reference.weighted_sums, rtol=RTOL[np.dtype(dtype)],
                             what=f"{activation} sums", names=list(reference.columns))


def test_every_activation_here_has_a_native_form() -> None:
    for activation in ACTIVATIONS:
        assert has_native_form(build_plan(pass_through(activation))), activation


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_are_exact_to_rounding_near_zero(activation: str) -> None:
    # Relative, not absolute: tanh's form from expm1 keeps its digits where 1 - exp(-2|z|) would not.
    G = pass_through(activation)
    plan = build_plan(G)
    x = np.concatenate([np.geomspace(1e-300, 1.0, 150), -np.geomspace(1e-300, 1.0, 150)]).reshape(-1, WIDTH)
    _, values = run(plan, x, tracing=False)
    expected = nngraph.run_reference(G, x).outputs
    np.testing.assert_allclose(values[:, [plan.columns[f"y{i}"] for i in range(WIDTH)]], expected,
                               rtol=4e-16, atol=0.0)


def test_neat_sin_keeps_its_digits_near_its_zeros() -> None:
    # sin(5 z) where 5 z is the double nearest a multiple of pi, or next to it, over the whole clamp:
    # the kernel's reduction by pi / 2 in three parts keeps the value's relative accuracy there.
    G = pass_through("neat_sin")
    plan = build_plan(G)
    nearest = np.pi * np.arange(-19, 20) / 5.0
    x = np.concatenate([nearest, np.nextafter(nearest, np.inf), np.nextafter(nearest, -np.inf)])
    x = np.resize(x, (len(x) // WIDTH + 1) * WIDTH).reshape(-1, WIDTH)
    _, values = run(plan, x, tracing=False)
    expected = nngraph.run_reference(G, x).outputs
    np.testing.assert_allclose(values[:, [plan.columns[f"y{i}"] for i in range(WIDTH)]], expected,
                               rtol=1e-15, atol=0.0)


def test_neat_sin_keeps_the_sign_of_zero() -> None:
    # sin(-0.0) is -0.0, as neat_sin gives it; -0.0 == 0.0, so the sign is compared by itself. (The
    # reference pass's sums lose it: its product adds the terms to +0.0.)
    G = pass_through("neat_sin", bias=-0.0)
    plan = build_plan(G)
    for samples in (1, 3):  # one sample, and several
        x = np.resize([-0.0, 0.0], (samples, WIDTH))
        weighted, values = run(plan, x, tracing=True)
        outputs = values[:, [plan.columns[f"y{i}"] for i in range(WIDTH)]]
        np.testing.assert_array_equal(np.signbit(weighted[:, [plan.columns[f"y{i}"] for i in range(WIDTH)]]),
                                      np.signbit(x))
        np.testing.assert_array_equal(outputs, 0.0)
        np.testing.assert_array_equal(np.signbit(outputs), np.signbit(neat_sin(x)))


def test_float32_neat_softplus_rounds_one_plus_exp_as_the_reference() -> None:
    # 0.2 log(1 + exp(5 z)) for z in [-4, -1]: in float32, 1 + exp(5 z) keeps a few bits of the exp
    # (or none: log 0), so the result is as exact as the rounding of 1 + exp, which the kernel does
    # in float32 as the reference does: relative error only, no absolute slack. Where numpy's float32
    # exp is not correctly rounded (the kernel's is) and that flips the rounding of 1 + exp (about 1
    # in 10,000 points), the results differ by an ulp of 1: those points are set apart.
    G = pass_through("neat_softplus")
    plan = build_plan(G, dtype=np.float32)
    x = np.random.default_rng(5).uniform(-4.0, -1.0, (2000, WIDTH)).astype(np.float32)
    _, values = run(plan, x, tracing=False)
    outputs = values[:, [plan.columns[f"y{i}"] for i in range(WIDTH)]]
    t = x * np.float32(5.0)
    rounded_exp = np.exp(t.astype(np.float64)).astype(np.float32)  # exp(t) correctly rounded
    same_rounding = np.float32(1.0) + np.exp(t) == np.float32(1.0) + rounded_exp
    assert same_rounding.mean() > 0.999
    expected = np.asarray(nngraph.run_reference(G, x, dtype=np.float32).outputs)
    np.testing.assert_allclose(outputs[same_rounding], expected[same_rounding], rtol=1e-5, atol=0.0)


def test_the_kernel_runs_as_plain_python_too() -> None:
    # Where numba is missing the kernel is never chosen, but its source stays a valid plain loop.
    G = pass_through("softmax")
    plan = build_plan(G)
    x = sums(3)
    arrays = native_arrays(plan)
    values = np.empty((plan.n_columns, 3))
    with np.errstate(all="ignore"):
        _forward(x.T, values, values, arrays.integers, arrays.reals, arrays.params)
    assert_close(values[[plan.columns[f"y{i}"] for i in range(WIDTH)]].T, nngraph.run_reference(G, x).outputs,
                 rtol=RTOL[np.dtype(np.float64)], what="plain Python softmax")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_runs_as_plain_python_too(activation: str) -> None:
    # Every special value (NaN, the infinities, zeros, each clamp's edges) reaches every activation.
    G = pass_through(activation)
    plan = build_plan(G)
    x = sums(len(SPECIAL) // WIDTH + 1)
    arrays = native_arrays(plan)
    values = np.empty((plan.n_columns, len(x)))
    with np.errstate(all="ignore"):
        _forward(x.T, values, values, arrays.integers, arrays.reals, arrays.params)
        expected = nngraph.run_reference(G, x).outputs
    assert_close(values[[plan.columns[f"y{i}"] for i in range(WIDTH)]].T, expected,
                 rtol=RTOL[np.dtype(np.float64)], what=f"plain Python {activation}")


# Every activation with a native form, neat-python's among them (neat_inv apart: see strategies.NEAT).
NATIVE = ("linear", "relu", "tanh", "sigmoid", "leaky_relu(alpha=0.1)", "elu", "selu", *NEAT)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks_and_batches(max_batch=6, activations=NATIVE, aggregations=("sum", "product")),
       st.sampled_from([np.float64, np.float32]))
def test_random_networks_of_native_activations_run_in_the_kernel_as_in_the_reference(
        case: tuple[nx.DiGraph, np.ndarray], dtype: type) -> None:
    # Mixed ops of these activations, softmax groups, NaN and infinities in the inputs: the kernel
    # (run_plan's runner "native", and the trace where the batch is within its limit) agrees.
    G, x = case
    plan = nngraph.compile_network(G, dtype=dtype)
    assume(all(getattr(op, "groups", 1) == 1 for op in plan.plan.ops))  # softmax groups merged: no native form
    assert "native" in plan.program.runners
    assert_equivalent(plan, G, x)


@given(st.data(), st.sampled_from([1, 7, 2**16, 2**16 + 1, 2**40]))
def test_grouped_is_numpys_stable_sort_both_by_radix_and_by_key(data: st.DataObject, n_keys: int) -> None:
    # sparse_rows orders the kernel's connections by target with it: 16-bit keys by radix, wider by key.
    keys = np.array(data.draw(st.lists(st.integers(0, n_keys - 1), max_size=60)), dtype=np.int64)
    np.testing.assert_array_equal(grouped(keys, n_keys), np.argsort(keys, kind="stable"))
