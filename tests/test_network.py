"""The graph contract: Neuron/Connection objects, add/read helpers, input and output order."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import Connection, Neuron, NetworkError


def test_neuron_and_connection_are_frozen_with_contract_defaults() -> None:
    neuron = Neuron("h")
    assert (neuron.role, neuron.bias, neuron.activation, neuron.layer) == ("hidden", 0.0, "linear", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        neuron.bias = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Connection("a", "b", 1.0).weight = 2.0  # type: ignore[misc]


def test_helpers_write_plain_networkx_attributes() -> None:
    G = nngraph.new_network()
    assert type(G) is nx.DiGraph
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, Neuron("h", bias=0.5, activation="relu", layer="hidden1"))
    nngraph.add_neuron(G, Neuron("y", role="output", activation="sigmoid"))
    nngraph.connect(G, "x", "h", 2.0)
    nngraph.connect(G, "h", "y", -1.5)
    assert G.nodes["x"] == {"role": "input"}
    assert G.nodes["h"] == {"role": "hidden", "bias": 0.5, "activation": "relu", "layer": "hidden1"}
    assert G.nodes["y"] == {"role": "output", "bias": 0.0, "activation": "sigmoid"}
    assert G.edges["h", "y"] == {"weight": -1.5}
    np.testing.assert_array_equal(nx.to_numpy_array(G, weight="weight"),
                                  [[0, 2.0, 0], [0, 0, -1.5], [0, 0, 0]])


def test_read_back_equals_what_was_written_even_for_plain_networkx_graphs() -> None:
    G = nx.DiGraph()
    G.add_node(("in", 0), role="input")
    G.add_node(7, role="output")  # bias and activation left to their defaults
    G.add_edge(("in", 0), 7, weight=3.0)
    assert nngraph.neurons(G) == [Neuron(("in", 0), role="input"), Neuron(7, role="output")]
    assert nngraph.connections(G) == [Connection(("in", 0), 7, 3.0)]
    assert nngraph.read_neuron(G, 7).activation == "linear"


def test_inputs_and_outputs_keep_insertion_order() -> None:
    G = nx.DiGraph()
    for name in ["x2", "y1", "x0", "h", "y0", "x1"]:
        role = {"x": "input", "y": "output", "h": "hidden"}[name[0]]
        G.add_node(name, role=role)
    assert nngraph.inputs(G) == ["x2", "x0", "x1"]
    assert nngraph.outputs(G) == ["y1", "y0"]
    assert nngraph.computed(G) == ["y1", "h", "y0"]


def test_connect_refuses_a_neuron_that_was_never_added() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    with pytest.raises(NetworkError, match="neuron 'typo' is not in the network") as info:
        nngraph.connect(G, "x", "typo", 1.0)
    assert info.value.edge == ("x", "typo")
    assert "typo" not in G


def test_levels_are_longest_paths_from_the_inputs() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("lonely", role="hidden")
    G.add_node("a", role="hidden")
    G.add_node("b", role="hidden")
    G.add_node("y", role="output")
    G.add_edges_from([("x", "a"), ("a", "b"), ("b", "y"), ("x", "y"), ("lonely", "y")], weight=1.0)
    assert nngraph.levels(G) == {"x": 0, "lonely": 1, "a": 1, "b": 2, "y": 3}
    columns = nngraph.columns(G)
    assert [(c.name, c.nodes) for c in columns] == [
        ("input", ("x",)), ("level 1", ("lonely", "a")), ("level 2", ("b",)), ("level 3", ("y",))]
    assert columns[-1].role == "output"


def test_columns_name_the_neuron_whose_activation_is_unknown() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output", activation="relux")
    G.add_edge("x", "y", weight=1.0)
    with pytest.raises(nngraph.UnknownActivationError, match="neuron 'y': unknown activation 'relux'") as info:
        nngraph.columns(G)
    assert info.value.node == "y"


def test_reordered_puts_inputs_and_outputs_in_the_given_order_and_keeps_the_rest() -> None:
    import numpy as np

    from nngraph import ArgumentError, compile_network, inputs, outputs
    from nngraph.core.network import reordered
    from nngraph.layers import Dense, Input
    from nngraph.models import Sequential

    model = Sequential([Input((3,)), Dense(4, activation="relu"), Dense(2)], seed=0)
    G = model.graph
    H = reordered(G, inputs=inputs(G)[::-1], outputs=outputs(G)[::-1])
    assert inputs(H) == inputs(G)[::-1] and outputs(H) == outputs(G)[::-1]
    assert all(list(H.pred[node].items()) == list(G.pred[node].items()) for node in G) and H.graph == G.graph
    x = np.random.default_rng(0).random((5, 3))
    np.testing.assert_allclose(compile_network(H)(x[:, ::-1])[:, ::-1], model.predict(x), rtol=1e-12)
    with pytest.raises(ArgumentError, match="inputs must list each of the network's 3 input neurons"):
        reordered(G, inputs=inputs(G)[:2])
