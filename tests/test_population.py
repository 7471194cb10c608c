"""Populations: many networks in one plan, each member equal to its own plan and to the reference."""

from __future__ import annotations

import pickle

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_equivalent, populations

import nngraph
from nngraph import Neuron, PopulationError, compile_population, population_graph
from nngraph.demo import lesson_model
from nngraph.execute.verify import TOLERANCE

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_close(got: np.ndarray, expected: np.ndarray, dtype: type = np.float64) -> None:
    rtol = TOLERANCE[np.dtype(dtype)]
    scale = max(1.0, float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


@SETTINGS
@given(populations(), st.integers(1, 5), st.sampled_from([np.float64, np.float32]))
def test_every_member_equals_its_own_plan_and_its_reference(members: list[nx.DiGraph], batch: int,
                                                          dtype: type) -> None:
    pop = compile_population(members, dtype=dtype)
    nngraph.check_plan(pop.plan.plan)
    x = np.random.default_rng(batch).uniform(-1.0, 1.0, size=(batch, len(pop.inputs)))
    outputs = pop(x)
    assert outputs.shape == (batch, len(members), pop.n_outputs) and outputs.dtype == dtype
    for i, G in enumerate(members):
        assert_close(outputs[:, i], nngraph.run_reference(G, x, dtype=dtype).outputs, dtype)
        assert_close(outputs[:, i], nngraph.compile_network(G, dtype=dtype)(x), dtype)


@SETTINGS
@given(populations())
def test_the_whole_trace_equals_the_reference_of_the_population_graph(members: list[nx.DiGraph]) -> None:
    pop = compile_population(members)
    P = population_graph(members)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, size=(3, len(pop.inputs)))
    assert_equivalent(pop.plan, P, x)
    assert set(pop.plan.columns) == set(P)


def two_members() -> dict[str, nx.DiGraph]:
    return {"a": lesson_model(seed=1).graph, "b": lesson_model(seed=2).graph}


def test_the_trace_reaches_a_members_neuron_by_name() -> None:
    members = two_members()
    pop = compile_population(members)
    x = np.random.default_rng(0).uniform(size=(4, 8))
    own = nngraph.run_reference(members["b"], x)
    trace = pop.trace(x)
    for node in ("dense/3", "dense_1/0", "dense_2/2"):
        assert_close(trace.value(("b", node)), own.value(node))
        assert_close(trace.weighted_sum(("b", node)), own.weighted_sum(node))
    with pytest.raises(nngraph.NeuronNotFoundError):
        trace.value(("c", "dense/3"))


def test_outputs_have_a_member_axis() -> None:
    pop = compile_population(two_members())
    x = np.random.default_rng(0).uniform(size=(5, 8))
    assert pop(x).shape == (5, 2, 4) and pop(x[0]).shape == (2, 4)
    by_member = pop.outputs_by_member(x)
    assert list(by_member) == ["a", "b"] and by_member["b"].shape == (5, 4)
    np.testing.assert_array_equal(by_member["b"], pop(x)[:, 1])
    assert pop.keys == ("a", "b") and pop.n_outputs == 4
    assert "2 networks" in repr(pop) and "op" in str(pop)


def test_members_as_a_list_as_pairs_and_as_a_mapping() -> None:
    graphs = list(two_members().values())
    assert compile_population(graphs).keys == (0, 1)
    assert compile_population([("x", graphs[0]), ("y", graphs[1])]).keys == ("x", "y")
    assert list(population_graph([("x", graphs[0])]))[8] == ("x", "dense/0")


def test_a_population_pickles_and_runs_after() -> None:
    pop = compile_population(two_members())
    x = np.random.default_rng(0).uniform(size=(3, 8))
    again = pickle.loads(pickle.dumps(pop))
    np.testing.assert_array_equal(again(x), pop(x))
    assert again.keys == pop.keys


def test_population_graph_renames_members_layers_ties_and_records() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, Neuron("h", bias=0.5, bias_param="b", layer="dense"))
    nngraph.add_neuron(G, Neuron("y", role="output", bias=0.5, bias_param="b"))
    nngraph.connect(G, "x", "h", 2.0, param="w")
    nngraph.connect(G, "h", "y", 2.0, param="w")
    H = G.copy()
    nngraph.set_param(H, "w", -1.0)
    P = population_graph({"a": G, "b": H})
    nngraph.validate(P)  # a's w and b's w are two numbers, as they were
    assert P.edges["x", ("b", "h")]["param"] == "b/w" and P.nodes[("a", "y")]["bias_param"] == "a/b"
    assert P.nodes[("b", "h")]["layer"] == "b/dense"
    assert nngraph.count_params(P) == 2 * nngraph.count_params(G)


def test_population_graph_renames_layer_records() -> None:
    P = population_graph(two_members())
    records = nngraph.layer_records(P)
    assert [record.name for record in records][:3] == ["a/dense", "a/dense_1", "a/dense_2"]
    assert records[3].neurons[0] == ("b", "dense/0")


def network(n_inputs: int = 1, n_outputs: int = 1) -> nx.DiGraph:
    G = nngraph.new_network()
    for i in range(n_inputs):
        nngraph.add_input(G, f"x{i}")
    for j in range(n_outputs):
        nngraph.add_neuron(G, Neuron(f"y{j}", role="output"))
        nngraph.connect(G, "x0", f"y{j}", 1.0)
    return G


@pytest.mark.parametrize("build", [population_graph, compile_population])
def test_an_empty_population_is_refused(build: object) -> None:
    for empty in ([], {}):
        with pytest.raises(PopulationError, match="no members"):
            build(empty)


@pytest.mark.parametrize("build", [population_graph, compile_population])
@pytest.mark.parametrize(("other", "counts"), [(network(2, 1), "2 inputs and 1 outputs"),
                                              (network(1, 3), "1 inputs and 3 outputs")])
def test_members_with_other_numbers_of_inputs_or_outputs_are_refused(build: object, other: nx.DiGraph,
                                                                    counts: str) -> None:
    expected = f"member 'odd' has {counts}, member 'first' has 1 and 1"
    with pytest.raises(PopulationError, match=expected) as info:
        build({"first": network(), "odd": other})
    assert info.value.member == "odd"


@pytest.mark.parametrize("build", [population_graph, compile_population])
def test_a_key_used_twice_is_refused(build: object) -> None:
    with pytest.raises(PopulationError, match="key 7 names two members") as info:
        build([(7, network()), (8, network()), (7, network())])
    assert info.value.member == 7


@pytest.mark.parametrize("build", [population_graph, compile_population])
def test_a_member_that_breaks_the_contract_is_named(build: object) -> None:
    broken = network()
    broken.nodes["y0"]["activation"] = "rleu"
    with pytest.raises(PopulationError, match="member 'b': neuron 'y0': unknown activation 'rleu'") as info:
        build({"a": network(), "b": broken})
    assert info.value.member == "b" and info.value.node == "y0"
    assert isinstance(info.value.__cause__, nngraph.UnknownActivationError)


@pytest.mark.parametrize("build", [population_graph, compile_population])
def test_a_neuron_named_like_a_shared_input_is_refused(build: object) -> None:
    first = nngraph.new_network()
    nngraph.add_input(first, ("b", "y0"))
    nngraph.add_neuron(first, Neuron("y0", role="output"))
    with pytest.raises(PopulationError, match=r"member 'b': neuron 'y0' would be named \('b', 'y0'\)"):
        build({"a": first, "b": network()})


def test_two_members_names_that_would_clash_are_refused() -> None:
    G, H = network(), network()
    G.nodes["y0"].update(activation="softmax", layer="b/out")
    H.nodes["y0"].update(activation="softmax", layer="out")
    expected = "layer 'out' would be named 'a/b/out', as layer 'b/out' of member 'a'"
    with pytest.raises(PopulationError, match=expected):
        population_graph({"a": G, "a/b": H})


def test_one_graph_or_a_string_is_not_a_population() -> None:
    with pytest.raises(nngraph.ArgumentError, match="got one networkx graph; wrap it in a list"):
        compile_population(network())
    with pytest.raises(nngraph.ArgumentError, match="got str"):
        compile_population("networks")
