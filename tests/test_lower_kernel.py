"""The array lowering's layout in numba's loop (``nngraph.compiler.lower_kernel``) against its numpy
calls (``lower_arrays._op_order`` and ``_cut``): the same layout, field by field, and the same plans."""

from __future__ import annotations

import importlib

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import assert_equivalent, networks, networks_and_batches

import nngraph
from nngraph.compiler import lower_kernel, native
from nngraph.compiler.arrays import NetworkArrays, array_levels, graph_arrays, object_array
from nngraph.compiler.lower_arrays import level_columns, lower_arrays
from nngraph.compiler.lower_kernel import Layout
from nngraph.execute.compiled import compile_plan
from nngraph.ir.plan import FusedOp

lowering = importlib.import_module("nngraph.compiler.lower_arrays")  # the module (the package's name is the function)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PLAIN = {"activations": ("relu", "tanh", "sigmoid", "linear"), "aggregations": ("sum",)}  # softmax apart


def plain(network: NetworkArrays) -> bool:
    """Every neuron sums, none is group-wise (the strategy draws softmax layers now and then)."""
    return network.aggregation is None and network.layer is None


def numpy_layout(network: NetworkArrays, level: np.ndarray, weights: np.ndarray) -> Layout:
    canonical = lowering._canonical_codes(network.activations)
    order, op_starts, _ = lowering._op_order(network, level, canonical)
    return lowering._cut(network, order, op_starts, weights, canonical)


def compiled_layout(network: NetworkArrays, level: np.ndarray, weights: np.ndarray) -> Layout:
    kernel = lower_kernel.compiled_layout()
    assert kernel is not None
    codes = lowering._canonical_codes(network.activations)[network.activation]
    return Layout(*kernel(network.n_inputs, network.sources, network.targets, level, codes, weights))


def assert_same_layout(got: Layout, expected: Layout) -> None:
    for name in Layout._fields:
        mine, theirs = getattr(got, name), getattr(expected, name)
        assert mine.dtype == theirs.dtype, name
        assert mine.tolist() == theirs.tolist(), name


@SETTINGS
@given(networks(**PLAIN), st.sampled_from([np.float64, np.float32]))
def test_numbas_layout_is_the_numpy_calls_layout(G: nx.DiGraph, dtype: type) -> None:
    network = graph_arrays(G)
    assume(plain(network))
    level = array_levels(network.n_neurons, network.n_inputs, network.sources, network.targets)
    weights = network.weights.astype(dtype)
    assert_same_layout(compiled_layout(network, level, weights), numpy_layout(network, level, weights))


@pytest.mark.parametrize("index", [np.int64, np.int32])
def test_numbas_layout_with_an_op_without_connections(index: type) -> None:
    # a and b read nothing (level 1: an op without connections), c reads them (a with weight 0.0, a
    # connection but no nonzero), d reads x and c (not one run of columns), e reads c and d; tanh
    # is there under two codes, which make one run
    network = NetworkArrays(
        nodes=object_array(["x", "a", "b", "c", "d", "e"]), n_inputs=1, outputs=np.array([5]),
        sources=np.array([1, 2, 3, 0, 3, 4], dtype=index), targets=np.array([3, 3, 4, 4, 5, 5], dtype=index),
        weights=np.array([0.0, 2.0, -1.0, 1.0, 0.5, 3.0]), bias=np.zeros(6),
        activation=np.array([-1, 0, 1, 2, 0, 1]), activations=("tanh", "relu", "tanh"))
    level = array_levels(network.n_neurons, network.n_inputs, network.sources, network.targets)
    got = compiled_layout(network, level, network.weights)
    assert_same_layout(got, numpy_layout(network, level, network.weights))
    assert got.order.tolist() == [1, 2, 3, 4, 5] and got.op_starts.tolist() == [0, 2, 3, 4, 5]
    assert got.first_row.tolist() == [0, 0, 2, 4, 6] and got.indptrs.tolist() == [0, 0, 1, 2, 0, 1, 2, 0, 1, 2]
    assert got.nonzeros.tolist() == [0, 1, 2, 2] and got.reads_slice.tolist() == [True, True, False, True]
    assert got.run_codes.tolist() == [0, 1, 0, 0, 1] and got.op_first_run.tolist() == [0, 2, 3, 4, 5]


def test_two_codes_of_one_name_are_one_run_on_both_paths() -> None:
    # a, b, c, d on one level with codes 0, 1, 2, 0 of tanh, relu, tanh: tanh's run is a, c, d
    network = NetworkArrays(
        nodes=object_array(["x", "a", "b", "c", "d"]), n_inputs=1, outputs=np.array([1, 2, 3, 4]),
        sources=np.zeros(4, dtype=np.int64), targets=np.arange(1, 5), weights=np.ones(4), bias=np.zeros(5),
        activation=np.array([-1, 0, 1, 2, 0]), activations=("tanh", "relu", "tanh"))
    level = array_levels(network.n_neurons, network.n_inputs, network.sources, network.targets)
    got = compiled_layout(network, level, network.weights)
    assert_same_layout(got, numpy_layout(network, level, network.weights))
    assert got.order.tolist() == [1, 3, 4, 2] and got.run_codes.tolist() == [0, 1]
    by_numpy, by_numba, _ = plain_lowerings_of(network, np.float64)
    for plan in (by_numpy, by_numba):
        assert plan.ops[0].targets == ("a", "c", "d", "b")
        assert plan.ops[0].activations == (("tanh", 3), ("relu", 1))
        assert [column.activation for column in plan.groups] == [None, "mixed"]


def plain_lowerings(G: nx.DiGraph, dtype: type) -> tuple[object, object, list]:
    """The plan of ``G`` lowered with numba not yet started (numpy's calls) and started (its loop),
    and which layouts the second asked for."""
    return plain_lowerings_of(graph_arrays(G), dtype)


def plain_lowerings_of(network: NetworkArrays, dtype: type) -> tuple[object, object, list]:
    kernel = lower_kernel.compiled_layout()
    asked: list[bool] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "_COMPILED", [])
        by_numpy = lower_arrays(network, dtype=np.dtype(dtype), any_kind=True)
        patch.setattr(lowering, "compiled_layout", lambda: asked.append(True) or kernel)
        patch.setattr(native, "_COMPILED", ["run_kernel"])  # the native kernel has run, say
        by_numba = lower_arrays(network, dtype=np.dtype(dtype), any_kind=True)
    return by_numpy, by_numba, asked


@SETTINGS
@given(networks_and_batches(**PLAIN), st.sampled_from([np.float64, np.float32]))
def test_plans_lowered_by_numbas_loop_agree_with_the_reference(case: tuple[nx.DiGraph, np.ndarray],
                                                               dtype: type) -> None:
    G, x = case
    by_numpy, by_numba, asked = plain_lowerings(G, dtype)
    assert asked == ([True] if plain(graph_arrays(G)) else [])
    assert [(op.kind, op.targets, op.sources, op.activation, op.activations, op.nonzeros) for op in by_numba.ops] == \
        [(op.kind, op.targets, op.sources, op.activation, op.activations, op.nonzeros) for op in by_numpy.ops]
    assert dict(by_numba.columns) == dict(by_numpy.columns) and by_numba.groups == by_numpy.groups
    for op in by_numba.ops:  # read-only, as fused_op leaves its arrays; connections as counted
        arrays = op.stored_weights[:3] if op.kind == "sparse" else (op.weights,)
        assert not any(array.flags.writeable for array in (*arrays, op.bias))
        if isinstance(op, FusedOp):
            assert op.connections == (op.stored_weights.indptr[-1] if op.kind == "sparse" else
                                      op.shape[0] * op.shape[1] if op.connected is None else op.connected.sum())
    assert_equivalent(compile_plan(by_numba), G, x.astype(dtype))


def test_networks_that_are_not_plain_keep_the_numpy_calls() -> None:
    from nngraph.demo import lesson_model

    G = lesson_model().graph  # a softmax layer: group-wise
    by_numpy, by_numba, asked = plain_lowerings(G, np.float64)
    assert asked == [] and [op.targets for op in by_numba.ops] == [op.targets for op in by_numpy.ops]
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output", aggregation="max")
    G.add_edge("x", "y", weight=1.0)
    assert plain_lowerings(G, np.float64)[2] == []


def test_without_numba_the_layout_is_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lower_kernel, "NATIVE_AVAILABLE", False)
    monkeypatch.setattr(native, "_COMPILED", ["run_kernel"])
    assert lower_kernel.compiled_layout() is None
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output", activation="tanh", bias=0.5)
    G.add_edge("x", "y", weight=2.0)
    plan = nngraph.compile_network(G)
    assert plan([1.0]).tolist() == pytest.approx([np.tanh(2.5)])


@SETTINGS
@given(networks())
def test_level_columns_by_numbas_loop_are_the_numpy_calls_columns(G: nx.DiGraph) -> None:
    network = graph_arrays(G)
    level = array_levels(network.n_neurons, network.n_inputs, network.sources, network.targets)
    assert lower_kernel.compiled_levels_in_order() is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(native, "_COMPILED", [])
        by_numpy = level_columns(network, level)
        patch.setattr(native, "_COMPILED", ["run_kernel"])
        by_numba = level_columns(network, level)
    assert by_numba == by_numpy
    if not any(layer is not None for _, layer in G.nodes(data="layer")):  # columns by level
        assert by_numpy == nngraph.columns(G)
