"""Equal arrays of a plan stored once: the tied weights of every time step are one array."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
from strategies import assert_equivalent

import nngraph
from nngraph.compiler import build_plan
from nngraph.compiler.store import store_once
from nngraph.execute.compiled import compile_plan
from nngraph.layers import LSTM, Conv1D, Input
from nngraph.models import Sequential


def lstm_graph(steps: int = 20) -> object:
    return Sequential([Input(shape=(steps, 8)), LSTM(32)], seed=0).graph


def test_every_step_of_an_lstm_references_one_weight_matrix() -> None:
    plan = build_plan(lstm_graph())
    gates = [op for op in plan.ops if op.kind == "dense"]  # one op per step: sigmoid gates, tanh candidate
    assert len(gates) == 20 and {tuple(op.activation_runs()) for op in gates} == {
        (("sigmoid", 0, 96), ("tanh", 96, 128))}
    later = gates[1:]  # step 0 reads no state: its weights have fewer rows
    assert all(op.weights is later[0].weights and op.bias is later[0].bias for op in later)
    assert gates[0].weights is not later[0].weights
    products = [op for op in plan.ops if op.kind == "aggregate"]
    assert len({id(op.reductions[0].weights) for op in products}) < len(products)
    assert not later[0].weights.flags.writeable  # shared, so read-only
    unstored = dataclasses.replace(plan, ops=tuple(dataclasses.replace(op, weights=op.weights.copy())
                                                   if op.kind == "dense" else op for op in plan.ops))
    again = store_once(unstored)
    assert again.ops[0] is unstored.ops[0]  # an op whose arrays are all its own is kept, not copied
    assert sum(op is before for op, before in zip(again.ops, unstored.ops)) < len(unstored.ops)


def test_the_plan_pickles_each_distinct_array_once_and_runs_the_same() -> None:
    G = lstm_graph()
    plan = build_plan(G, dtype=np.float32)
    dense = [op for op in plan.ops if op.kind == "dense"]
    unshared = dataclasses.replace(plan, ops=tuple(dataclasses.replace(op, weights=op.weights.copy())
                                                   if op.kind == "dense" else op for op in plan.ops))
    repeated = sum(op.weights.nbytes for op in dense) - sum({id(op.weights): op.weights.nbytes
                                                             for op in dense}.values())
    assert repeated > 350_000  # 18 of the 20 gate matrices repeat others
    assert len(pickle.dumps(unshared)) - len(pickle.dumps(plan)) > repeated
    loaded = pickle.loads(pickle.dumps(plan))
    dense = [op for op in loaded.ops if op.kind == "dense"]
    assert dense[1].weights is dense[2].weights  # pickle keeps the sharing
    compiled = nngraph.compile_network(G, dtype=np.float32)
    x = np.random.default_rng(0).normal(size=(3, 160))
    np.testing.assert_array_equal(compile_plan(loaded)(x), compiled(x))


def test_the_table_says_how_many_numbers_are_stored_once() -> None:
    plan = nngraph.compile_network(lstm_graph(3))
    assert "stored once: 15 weight arrays are 6 distinct ones, 6432 numbers stored for 12032" in str(plan)
    generated = plan.program.constants
    assert generated["W5"] is generated["W10"]  # the generated code's constants too


def test_storing_once_changes_no_number() -> None:
    model = Sequential([Input(shape=(12, 2)), Conv1D(3, 3, activation="relu"), LSTM(4, return_sequences=True),
                        LSTM(2)], seed=1)
    G = model.graph
    x = np.random.default_rng(1).normal(size=(4, 24))
    plan = nngraph.compile_network(G)
    assert_equivalent(plan, G, x)
    assert_equivalent(plan, G, x[0])


def test_a_program_keeps_each_distinct_constant_once_once_its_numpy_pass_is_built() -> None:
    plan = nngraph.compile_network(lstm_graph())
    program = plan.program
    plan(np.random.default_rng(0).normal(size=(500, 160)))  # a batch for the numpy pass
    assert "numpy" in program._built
    arrays = [value for value in program.numpy_constants.values() if isinstance(value, np.ndarray)]
    distinct = {id(array): array.nbytes for array in arrays}
    assert len(distinct) < len(arrays)  # tied weights: the steps name one array
    assert program._constants == {}  # the constants before storing are dropped, not kept beside


def test_arrays_are_shared_only_when_kind_shape_dtype_and_every_number_agree() -> None:
    from scipy import sparse

    from nngraph.compiler.store import _Store

    def csr(data: list[float], indices: list[int]) -> sparse.csr_array:
        return sparse.csr_array((np.array(data), np.array(indices), np.array([0, len(data)])), shape=(1, 3))

    store = _Store()
    stored = {name: store.get(array) for name, array in {
        "a": np.arange(6.0), "b": np.arange(6.0),                    # equal: one array
        "c": np.zeros(3), "d": np.ones(3), "e": np.zeros(3),          # three of one key, two equal
        "f": np.arange(6.0).reshape(2, 3),                            # the same bytes as a, another shape
        "g": np.arange(6.0).view(np.int64),                           # the same bytes as a, another dtype
        "h": np.array([-0.0, 0.0, 0.0]),                              # -0.0 is not 0.0
        "i": csr([1.0, 2.0], [0, 1]), "j": csr([1.0, 2.0], [0, 2]),   # equal data, other indices
        "k": csr([1.0, 2.0], [0, 1])}.items()}
    assert stored["b"] is stored["a"] and stored["e"] is stored["c"] and stored["k"] is stored["i"]
    distinct = ["a", "c", "d", "f", "g", "h", "i", "j"]
    assert len({id(stored[name]) for name in distinct}) == len(distinct)


def test_a_plan_with_no_array_repeated_is_kept_as_it_is() -> None:
    plan = build_plan(lstm_graph(3))
    assert store_once(plan) is plan  # stored once already: nothing new to share, no new plan
    unstored = dataclasses.replace(plan, ops=tuple(dataclasses.replace(op, weights=op.weights.copy())
                                                   if op.kind == "dense" else op for op in plan.ops))
    assert store_once(unstored) is not unstored
