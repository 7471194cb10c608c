"""Tied numbers (``param``, ``bias_param``): equal everywhere, counted once, written everywhere."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import ArgumentError, LayerError, NetworkError, Neuron
from nngraph.core.params import assign, assign_lists, tied
from nngraph.keras.summary import describe
from nngraph.layers import Dense
from nngraph.models import Sequential


def shared() -> nx.DiGraph:
    """Two inputs, three outputs; one weight tied over three connections, one bias over two neurons."""
    G = nngraph.new_network()
    for x in ("x0", "x1"):
        nngraph.add_input(G, x)
    for y in ("y0", "y1", "y2"):
        nngraph.add_neuron(G, Neuron(y, role="output", bias=0.5, bias_param="b" if y != "y2" else None))
    nngraph.connect(G, "x0", "y0", 0.25, param="w")
    nngraph.connect(G, "x1", "y1", 0.25, param="w")
    nngraph.connect(G, "x0", "y2", 0.25, param="w")
    nngraph.connect(G, "x1", "y2", -1.0)
    return G


def test_equal_tied_numbers_are_valid_and_found_in_graph_order() -> None:
    G = shared()
    nngraph.validate(G)
    places = tied(G)
    assert [place.edge for place in places["w"]] == [("x0", "y0"), ("x0", "y2"), ("x1", "y1")]
    assert [place.node for place in places["b"]] == ["y0", "y1"]
    assert nngraph.connections(G)[0] == nngraph.Connection("x0", "y0", 0.25, param="w")


def test_validate_refuses_tied_weights_that_differ_naming_both_connections() -> None:
    G = shared()
    G.edges["x1", "y1"]["weight"] = 0.3
    with pytest.raises(NetworkError, match="connection 'x0' -> 'y0' \\(weight 0.25\\) and connection 'x1' -> "
                                           "'y1' \\(weight 0.3\\) are tied by the name 'w' but differ; .*"
                                           "nngraph.set_param\\(G, 'w', value\\)") as info:
        nngraph.validate(G)
    assert info.value.edge == ("x1", "y1")


def test_validate_refuses_tied_biases_that_differ_naming_both_neurons() -> None:
    G = shared()
    G.nodes["y1"]["bias"] = 0.0
    with pytest.raises(NetworkError, match="the bias of neuron 'y0' \\(0.5\\) and the bias of neuron 'y1' "
                                           "\\(0.0\\) are tied by the name 'b'") as info:
        nngraph.validate(G)
    assert info.value.node == "y1"


def test_one_name_is_one_number_on_connections_and_biases_alike() -> None:
    G = shared()
    G.nodes["y2"]["bias_param"] = "w"
    with pytest.raises(NetworkError, match="connection 'x0' -> 'y0' \\(weight 0.25\\) and the bias of neuron "
                                           "'y2' \\(0.5\\) are tied by the name 'w'"):
        nngraph.validate(G)
    nngraph.set_param(G, "w", 0.75)
    nngraph.validate(G)
    assert G.nodes["y2"]["bias"] == 0.75 and G.edges["x0", "y2"]["weight"] == 0.75


@pytest.mark.parametrize("name", [3, "", ("a",)])
def test_names_must_be_strings(name: object) -> None:
    G = shared()
    G.edges["x1", "y2"]["param"] = name
    with pytest.raises(NetworkError, match="connection 'x1' -> 'y2': param must be a name"):
        nngraph.validate(G)
    G = shared()
    G.nodes["y2"]["bias_param"] = name
    with pytest.raises(NetworkError, match="neuron 'y2': bias_param must be a name"):
        nngraph.validate(G)


def test_inputs_carry_no_bias_param() -> None:
    G = shared()
    G.nodes["x0"]["bias_param"] = "b"
    with pytest.raises(NetworkError, match="input 'x0' carries 'bias_param'"):
        nngraph.validate(G)


def test_set_param_writes_every_copy_and_says_how_many() -> None:
    G = shared()
    assert nngraph.set_param(G, "w", -2.0) == 3
    assert [G.edges[edge]["weight"] for edge in [("x0", "y0"), ("x1", "y1"), ("x0", "y2")]] == [-2.0] * 3
    assert G.edges["x1", "y2"]["weight"] == -1.0
    np.testing.assert_allclose(nngraph.run_reference(G, [1.0, 2.0]).outputs, [[-1.5, -3.5, -3.5]])
    with pytest.raises(NetworkError, match="no connection or bias is tied by the name 'v'; names in this "
                                           "network: 'b', 'w'"):
        nngraph.set_param(G, "v", 1.0)
    with pytest.raises(NetworkError, match="param 'w': the value must be a finite number, got nan"):
        nngraph.set_param(G, "w", float("nan"))


def test_assign_writes_tied_copies_and_refuses_two_numbers_for_one_name_before_writing() -> None:
    G = shared()
    assign(G, weights={("x0", "y0"): 1.5, ("x1", "y2"): 4.0}, biases={"y1": -0.5})
    assert G.edges["x0", "y2"]["weight"] == 1.5 and G.edges["x1", "y2"]["weight"] == 4.0
    assert G.nodes["y0"]["bias"] == -0.5 and G.nodes["y2"]["bias"] == 0.5
    with pytest.raises(NetworkError, match="connection 'x0' -> 'y0' and connection 'x1' -> 'y1' are tied by "
                                           "the name 'w', but are given different numbers \\(1.0 and 2.0\\)"):
        assign(G, weights={("x1", "y2"): 9.0, ("x0", "y0"): 1.0, ("x1", "y1"): 2.0})
    assert G.edges["x1", "y2"]["weight"] == 4.0  # nothing was written
    with pytest.raises(NetworkError, match="there is no connection 'y0' -> 'x0' to write"):
        assign(G, weights={("y0", "x0"): 1.0})
    with pytest.raises(NetworkError, match="neuron 'x0' is an input, which has no bias to write"):
        assign(G, biases={"x0": 1.0})
    with pytest.raises(NetworkError, match="neuron 'q' is not in the network, so it has no bias to write"):
        assign(G, biases={"q": 1.0})


def test_assign_checks_all_numbers_at_once_and_names_the_first_bad_one_in_order() -> None:
    model = Sequential([Dense(units=40, input_shape=(30,))], seed=0)
    G = model.graph
    edges = [("input/3", "dense/7"), ("input/29", "dense/39"), ("input/0", "dense/0")]
    with pytest.raises(NetworkError, match="connection 'input/29' -> 'dense/39' must be a finite number, got nan"):
        assign(G, weights={edges[0]: 1.0, edges[1]: float("nan"), edges[2]: float("inf")})
    with pytest.raises(NetworkError, match="the bias of neuron 'dense/2' must be a finite number, got True"):
        assign(G, weights=dict.fromkeys(edges, 2.0), biases={"dense/1": 0.5, "dense/2": True})
    assert G.edges["input/3", "dense/7"]["weight"] != 2.0  # nothing was written
    # ints and numpy numbers are written as Python floats
    assign(G, weights={edges[0]: 3, edges[1]: np.float32(0.5)}, biases={"dense/2": np.int64(-2)})
    written = [G.edges[edges[0]]["weight"], G.edges[edges[1]]["weight"], G.nodes["dense/2"]["bias"]]
    assert written == [3.0, 0.5, -2.0] and {type(number) for number in written} == {float}


def test_assign_reports_a_tie_given_two_numbers_or_a_bad_number_whichever_comes_first() -> None:
    conflict = "connection 'x0' -> 'y0' and connection 'x1' -> 'y1' are tied by the name 'w'"
    with pytest.raises(NetworkError, match=conflict):
        assign(shared(), weights={("x0", "y0"): 1.0, ("x1", "y1"): 2.0, ("x1", "y2"): float("nan")})
    with pytest.raises(NetworkError, match="connection 'x1' -> 'y2' must be a finite number, got nan"):
        assign(shared(), weights={("x0", "y0"): 1.0, ("x1", "y2"): float("nan"), ("x1", "y1"): 2.0})


def test_assign_lists_pairs_places_and_numbers_and_refuses_lists_of_other_lengths() -> None:
    G = shared()
    assign_lists(G, edges=[("x1", "y2"), ("x1", "y1")], weights=[4.0, -3.0], neurons=["y0"], biases=[1.5])
    assert [G.edges[edge]["weight"] for edge in [("x0", "y0"), ("x1", "y1"), ("x0", "y2"), ("x1", "y2")]] == \
        [-3.0, -3.0, -3.0, 4.0]
    assert [G.nodes[node]["bias"] for node in ("y0", "y1", "y2")] == [1.5, 1.5, 0.5]
    with pytest.raises(ArgumentError, match="a number for each place: 2 edges, 1 weights, 0 neurons, 0 biases"):
        assign_lists(G, edges=[("x1", "y2"), ("x1", "y1")], weights=[4.0])
    G.edges["x1", "y2"]["param"] = 7
    with pytest.raises(NetworkError, match="connection 'x1' -> 'y2': param must be a name"):
        assign_lists(G, edges=[("x0", "y0")], weights=[1.0])


def test_count_params_counts_a_tied_number_once() -> None:
    G = shared()
    # 4 connections and 3 biases hold 7 numbers, but only 4 distinct ones: w, -1.0, b and y2's bias
    assert nngraph.count_params(G) == 4
    assert nngraph.count_params(G, ["y0"]) == 2 and nngraph.count_params(G, ["y0", "y1"]) == 2
    assert nngraph.count_params(G, ["y0", "y1"], without_bias=["y0", "y1"]) == 1
    assert "Total params: 4" in describe(G)


def test_a_sequential_model_counts_ties_once_and_set_weights_writes_every_copy() -> None:
    model = Sequential([Dense(units=3, input_shape=(2,)), Dense(units=2)], seed=0)
    G = model.graph
    assert model.count_params() == 9 + 8
    kernel, bias = model.layers[0].get_weights()
    for target in ("dense/0", "dense/1"):  # tie one kernel entry across two units, and into the next layer
        G.edges["input/0", target].update(weight=kernel[0, 0], param="k")
    G.edges["dense/0", "dense_1/0"].update(weight=kernel[0, 0], param="k")
    nngraph.validate(G)
    assert model.count_params() == 17 - 2
    rows = model.summary_text().splitlines()
    assert " dense (Dense)                  (None, 3)                      8" in rows
    assert " dense_1 (Dense)                (None, 2)                      8" in rows
    assert "Total params: 15" in rows  # the row sum is 16: "k" sits in both layers
    kernel[0, 0] = kernel[0, 1] = 7.0
    model.layers[0].set_weights([kernel, bias])
    assert G.edges["dense/0", "dense_1/0"]["weight"] == 7.0  # the copy in the next layer too
    nngraph.validate(G)
    kernel[0, 1] = 8.0
    with pytest.raises(LayerError, match="layer 'dense': connection 'input/0' -> 'dense/0' and connection "
                                         "'input/0' -> 'dense/1' are tied by the name 'k', but are given "
                                         "different numbers \\(7.0 and 8.0\\)"):
        model.layers[0].set_weights([kernel, bias])
