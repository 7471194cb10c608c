"""The reference forward pass: the contract computed literally, checked by hand and by numpy."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import InputError, NeuronNotFoundError, NNGraphError, run_reference
from nngraph.demo import lesson_model


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_lesson_network_matches_hand_written_numpy() -> None:
    model = lesson_model()
    (W1, b1), (W2, b2), (W3, b3) = (layer.get_weights() for layer in model.layers)
    x = np.random.default_rng(1).normal(size=(5, 8))
    z1 = x @ W1 + b1
    a1 = relu(z1)
    z2 = a1 @ W2 + b2
    a2 = relu(z2)
    z3 = a2 @ W3 + b3
    trace = run_reference(model.graph, x)
    np.testing.assert_allclose(trace.outputs, softmax(z3), rtol=1e-12)
    for j in range(6):
        np.testing.assert_allclose(trace.weighted_sum(f"dense/{j}"), z1[:, j], rtol=1e-12)
        np.testing.assert_allclose(trace.value(f"dense_1/{j}"), a2[:, j], rtol=1e-12)
    for j in range(4):
        np.testing.assert_allclose(trace.weighted_sum(f"dense_2/{j}"), z3[:, j], rtol=1e-12)


def test_hand_computed_two_layer_network() -> None:
    # x = (1, 2); h = relu(0.5 + 1*x1 - 1*x2) = relu(-0.5) = 0; g = tanh(0 + 0.5*x1) = tanh(0.5)
    # y = sigmoid(1 + 2*h - 3*g)
    G = nx.DiGraph()
    G.add_node("x1", role="input")
    G.add_node("x2", role="input")
    G.add_node("h", role="hidden", bias=0.5, activation="relu")
    G.add_node("g", role="hidden", activation="tanh")
    G.add_node("y", role="output", bias=1.0, activation="sigmoid")
    G.add_edge("x1", "h", weight=1.0)
    G.add_edge("x2", "h", weight=-1.0)
    G.add_edge("x1", "g", weight=0.5)
    G.add_edge("h", "y", weight=2.0)
    G.add_edge("g", "y", weight=-3.0)
    trace = run_reference(G, [1.0, 2.0])
    assert trace.weighted_sum("h")[0] == -0.5 and trace.value("h")[0] == 0.0
    assert trace.value("g")[0] == pytest.approx(math.tanh(0.5), rel=1e-15)
    z = 1.0 - 3.0 * math.tanh(0.5)
    assert trace.weighted_sum("y")[0] == pytest.approx(z, rel=1e-15)
    assert trace.outputs[0, 0] == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-15)
    assert trace.value("x2")[0] == 2.0


def test_hand_computed_skip_connections_and_softmax_across_levels() -> None:
    # o1 reads the input directly (level 1); o2 reads h (level 2): one softmax group over both.
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", bias=1.0, activation="relu")
    G.add_node("o1", role="output", activation="softmax", layer="out")
    G.add_node("o2", role="output", bias=-1.0, activation="softmax", layer="out")
    G.add_node("lonely", role="hidden", bias=2.0, activation="linear")
    G.add_node("o3", role="output", activation="linear")
    G.add_edge("x", "h", weight=2.0)
    G.add_edge("x", "o1", weight=1.0)
    G.add_edge("h", "o2", weight=1.0)
    G.add_edge("lonely", "o3", weight=0.5)
    G.add_edge("x", "o3", weight=1.0)
    trace = run_reference(G, [[3.0], [-1.0]])
    # sample 0: h = 7, o1 z = 3, o2 z = 6; sample 1: h = relu(-1) = 0, o1 z = -1, o2 z = -1
    np.testing.assert_array_equal(trace.weighted_sum("o2"), [6.0, -1.0])
    e = math.exp(3.0) + math.exp(6.0)
    np.testing.assert_allclose(trace.outputs[0], [math.exp(3.0) / e, math.exp(6.0) / e, 4.0], rtol=1e-15)
    np.testing.assert_allclose(trace.outputs[1], [0.5, 0.5, 0.0], rtol=1e-15)
    assert trace.value("lonely").tolist() == [2.0, 2.0]


def test_float32_computes_in_float32() -> None:
    model = lesson_model()
    x = np.random.default_rng(2).normal(size=(3, 8))
    trace32 = run_reference(model.graph, x, dtype=np.float32)
    assert trace32.values.dtype == np.float32 and trace32.outputs.dtype == np.float32
    np.testing.assert_allclose(trace32.outputs, run_reference(model.graph, x).outputs, rtol=1e-5)


@pytest.mark.parametrize("x, message", [
    (np.zeros(7), "expected 8 input features, got 7"),
    (np.zeros((2, 9)), "expected 8 input features, got 9"),
    (np.zeros((2, 2, 8)), r"expected an array of shape \(batch, 8\) or \(8,\), got shape \(2, 2, 8\)"),
    (np.float64(1.0), "got shape ()"),
    (np.array(["a"] * 8), "input must be real numbers, got dtype <U1"),
    (np.zeros(8, dtype=complex), "got dtype complex128"),
    ([[1.0] * 8, [1.0] * 7], "input must be a numeric array"),
])
def test_bad_input_is_refused_with_the_expected_shape(x: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        run_reference(lesson_model().graph, x)


def test_bad_dtype_is_refused() -> None:
    with pytest.raises(InputError, match="dtype must be float64 or float32"):
        run_reference(lesson_model().graph, np.zeros(8), dtype=np.int32)


def test_integer_input_and_lists_are_accepted_and_nan_propagates() -> None:
    G = lesson_model().graph
    assert run_reference(G, list(range(8))).outputs.shape == (1, 4)
    x = np.ones((2, 8))
    x[1, 0] = np.nan
    trace = run_reference(G, x)
    assert np.isfinite(trace.outputs[0]).all()
    assert np.isnan(trace.weighted_sum("dense/0")[1])


def test_trace_reads_by_name_and_refuses_unknown_neurons() -> None:
    trace = run_reference(lesson_model().graph, np.ones(8))
    assert trace.batch_size == 1 and trace.value("input/3").tolist() == [1.0]
    with pytest.raises(NeuronNotFoundError, match="no neuron 'dense/9'"):
        trace.value("dense/9")
    with pytest.raises(NeuronNotFoundError, match="is an input: it has a value but no weighted sum"):
        trace.weighted_sum("input/0")
    with pytest.raises(InputError, match="sample 3 is out of range"):
        trace.table(3)


def test_trace_table_is_grouped_by_layer() -> None:
    trace = run_reference(lesson_model().graph, np.ones(8))
    table = trace.table()
    headers = [line for line in table.splitlines() if not line.startswith(" ")]
    assert headers == ["input (8)", "dense (6, relu)", "dense_1 (6, relu)", "dense_2 (4, softmax)"]
    row = next(line for line in table.splitlines() if line.strip().startswith("dense_1/2"))
    assert row.split()[1:] == [f"{trace.weighted_sum('dense_1/2')[0]:.4f}", f"{trace.value('dense_1/2')[0]:.4f}"]
    records = trace.records()
    assert len(records) == 24 and records[0] == {"layer": "input", "neuron": "input/0",
                                                 "weighted_sum": None, "value": 1.0}


def test_the_reference_does_not_change_the_graph() -> None:
    G = lesson_model().graph
    before = nx.node_link_data(G, edges="edges")
    run_reference(G, np.ones(8))
    assert nx.node_link_data(G, edges="edges") == before


def test_invalid_graph_is_refused_before_running() -> None:
    G = lesson_model().graph
    G.nodes["dense/0"]["activation"] = "rleu"
    with pytest.raises(nngraph.UnknownActivationError, match="neuron 'dense/0'"):
        run_reference(G, np.ones(8))


def test_trace_table_can_show_some_neurons_and_keeps_layer_sizes() -> None:
    trace = run_reference(lesson_model().graph, np.ones(8))
    table = trace.table(neurons={"dense_1/2", "input/0"})
    assert table.splitlines()[0] == "input (8)" and "dense_1 (6, relu)" in table
    assert [line.split()[0] for line in table.splitlines() if line.startswith("  ") and "sum" not in line] == [
        "input/0", "dense_1/2"]
    assert [r["neuron"] for r in trace.records(neurons=["dense_2/1"])] == ["dense_2/1"]
    assert trace.table(neurons=[]) == ""
