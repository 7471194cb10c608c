"""validate: every rule of the graph contract, each error naming its culprit as a field."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from strategies import networks

from nngraph import CycleError, NetworkError, NNGraphError, UnknownActivationError, validate
from nngraph.core.validate import _neurons_pass, read_graph, validate_parts


def small() -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("h", role="hidden", bias=0.1, activation="relu")
    G.add_node("y", role="output", bias=0.0, activation="sigmoid")
    G.add_edge("x", "h", weight=1.0)
    G.add_edge("h", "y", weight=-2.0)
    return G


def test_a_valid_network_passes() -> None:
    validate(small())


def test_errors_are_value_errors_under_one_root() -> None:
    assert issubclass(NetworkError, NNGraphError) and issubclass(NetworkError, ValueError)
    assert issubclass(CycleError, NetworkError) and issubclass(UnknownActivationError, NetworkError)


def test_not_a_digraph() -> None:
    with pytest.raises(NetworkError, match="must be a networkx.DiGraph, got Graph"):
        validate(nx.Graph())
    with pytest.raises(NetworkError, match="MultiDiGraph"):
        validate(nx.MultiDiGraph())


def test_cycle_lists_its_edges_in_order() -> None:
    G = small()
    G.add_node("z", role="hidden")
    G.add_edge("y", "z", weight=1.0)
    G.add_edge("z", "h", weight=1.0)
    with pytest.raises(CycleError) as info:
        validate(G)
    cycle = info.value.cycle
    assert len(cycle) == 3
    assert all(cycle[i][1] == cycle[(i + 1) % 3][0] for i in range(3))
    assert {u for u, _ in cycle} == {"h", "y", "z"}
    assert "cycle" in str(info.value) and "'h'" in str(info.value)


def test_self_loop_is_a_cycle() -> None:
    G = small()
    G.add_edge("h", "h", weight=1.0)
    with pytest.raises(CycleError) as info:
        validate(G)
    assert info.value.cycle == [("h", "h")]


def test_edge_into_an_input() -> None:
    G = small()
    G.add_edge("h", "x", weight=1.0)
    with pytest.raises(NetworkError, match="goes into input 'x'") as info:
        validate(G)
    assert info.value.edge == ("h", "x")


def test_unknown_activation_names_the_neuron_and_lists_known() -> None:
    G = small()
    G.nodes["h"]["activation"] = "rleu"
    with pytest.raises(UnknownActivationError) as info:
        validate(G)
    assert info.value.node == "h" and info.value.activation == "rleu"
    assert "relu" in info.value.known
    assert str(info.value).startswith("neuron 'h': unknown activation 'rleu'; known: elu, exponential, gelu")


@pytest.mark.parametrize("weight", [None, math.nan, math.inf, "1.0", True, np.nan, 10**400])
def test_missing_or_non_finite_weight(weight: object) -> None:
    G = small()
    if weight is None:
        del G.edges["h", "y"]["weight"]
    else:
        G.edges["h", "y"]["weight"] = weight
    with pytest.raises(NetworkError, match="connection 'h' -> 'y'") as info:
        validate(G)
    assert info.value.edge == ("h", "y")


@pytest.mark.parametrize("bias", [math.nan, -math.inf, "0", None, False, -10**400])
def test_non_finite_bias(bias: object) -> None:
    G = small()
    G.nodes["h"]["bias"] = bias
    with pytest.raises(NetworkError, match="neuron 'h': bias must be a finite number") as info:
        validate(G)
    assert info.value.node == "h"


@pytest.mark.parametrize("attributes", [{}, {"w": 1.0}, {"param": "k"}, {"param": "k", "label": "a"}])
def test_a_connection_without_its_weight_is_named_whatever_else_it_carries(attributes: dict) -> None:
    G = small()
    G.edges["h", "y"].clear()
    G.edges["h", "y"].update(attributes)
    G.add_edge("x", "y", weight=0.5, param="k")  # another connection carrying more than its weight
    with pytest.raises(NetworkError, match="connection 'h' -> 'y' has no 'weight'") as info:
        validate_parts(G)
    assert info.value.edge == ("h", "y")


@pytest.mark.parametrize("attributes", [{}, {"label": "a"}])
def test_a_missing_weight_is_not_made_up_by_the_graphs_own_edge_dicts(attributes: dict) -> None:
    """A graph whose connections' dicts are defaultdicts: reading a weight that is not there must
    neither find one nor add it to the graph."""
    from collections import defaultdict
    from functools import partial

    class Graph(nx.DiGraph):
        edge_attr_dict_factory = partial(defaultdict, float)

    G = Graph()
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    G.add_edge("x", "y", **attributes)
    with pytest.raises(NetworkError, match="connection 'x' -> 'y' has no 'weight'") as info:
        validate(G)
    assert info.value.edge == ("x", "y") and dict(G.edges["x", "y"]) == attributes


def test_weights_whose_sum_overflows_are_fine() -> None:
    G = small()
    G.edges["x", "h"]["weight"] = G.edges["h", "y"]["weight"] = 1e308
    validate(G)


def test_numpy_and_integer_numbers_are_fine() -> None:
    G = small()
    G.edges["x", "h"]["weight"] = np.float32(0.5)
    G.edges["h", "y"]["weight"] = 3
    G.nodes["h"]["bias"] = np.float64(1.0)
    validate(G)


@pytest.mark.parametrize("role", [None, "hiden", "Input"])
def test_unknown_or_missing_role(role: object) -> None:
    G = small()
    if role is None:
        del G.nodes["h"]["role"]
    else:
        G.nodes["h"]["role"] = role
    with pytest.raises(NetworkError, match="expected one of input, hidden, output") as info:
        validate(G)
    assert info.value.node == "h"


def test_softmax_without_a_layer() -> None:
    G = small()
    G.nodes["y"]["activation"] = "softmax"
    with pytest.raises(NetworkError, match="neuron 'y': activation 'softmax' works over a layer") as info:
        validate(G)
    assert info.value.node == "y"


def test_softmax_neurons_of_one_layer_cannot_feed_each_other() -> None:
    G = small()
    G.nodes["h"].update(activation="softmax", layer="out")
    G.nodes["y"].update(activation="softmax", layer="out")
    with pytest.raises(NetworkError, match="'h' feeds 'y'"):
        validate(G)


def test_no_inputs_or_no_outputs() -> None:
    G = small()
    G.nodes["y"]["role"] = "hidden"
    with pytest.raises(NetworkError, match="no outputs"):
        validate(G)
    G = nx.DiGraph()
    G.add_node("y", role="output")
    with pytest.raises(NetworkError, match="no inputs"):
        validate(G)


def test_inputs_carry_no_bias_or_activation() -> None:
    G = small()
    G.nodes["x"]["activation"] = "relu"
    with pytest.raises(NetworkError, match="input 'x' carries 'activation'"):
        validate(G)


def test_layer_must_be_a_name() -> None:
    G = small()
    G.nodes["h"]["layer"] = 3
    with pytest.raises(NetworkError, match="layer must be a name"):
        validate(G)


def test_neurons_without_inputs_and_dead_ends_are_legal() -> None:
    G = small()
    G.add_node("bias_only", role="hidden", bias=1.0)
    G.add_edge("bias_only", "y", weight=1.0)
    G.add_node("dead_end", role="hidden", activation="tanh")
    G.add_edge("x", "dead_end", weight=1.0)
    validate(G)


def test_validate_does_not_change_the_graph() -> None:
    G = small()
    before = nx.node_link_data(G, edges="edges")
    validate(G)
    assert nx.node_link_data(G, edges="edges") == before


@settings(max_examples=30, deadline=None)
@given(networks())
def test_valid_networks_pass_the_test_of_all_neurons_at_once(G: nx.DiGraph) -> None:
    read = validate_parts(G)  # read once: the compiler lowers from these lists
    assert _neurons_pass(G, read)  # the neuron-by-neuron check is only for naming a culprit
    assert read.computed == [node for node in G if G.nodes[node]["role"] != "input"]
    assert read.weights() == [G.edges[u, v]["weight"] for v in read.computed for u in G.pred[v]]
    assert read.unknown_role == []
    assert read.bias_param == [node for node in read.computed if "bias_param" in G.nodes[node]]
    # aggregations and layers are read neuron by neuron only where some neuron names one
    assert read.aggregation == [G.nodes[node].get("aggregation", "sum") for node in read.computed]
    assert read.layer == [G.nodes[node].get("layer") for node in read.computed]
    assert list(read.aggregations()) == list(dict.fromkeys(read.aggregation))
    assert list(read.activations()) == list(dict.fromkeys(read.activation))


def test_the_read_lists_the_neurons_of_unknown_role_and_those_tying_their_bias() -> None:
    G = small()
    G.nodes["h"].update(role="hiden")
    G.nodes["y"].update(bias_param="b")
    read = read_graph(G)
    assert read.unknown_role == ["h"] and read.bias_param == ["y"]


@pytest.mark.parametrize("fault", [
    lambda G: G.nodes["h"].update(bias=math.nan), lambda G: G.nodes["h"].update(bias=True),
    lambda G: G.nodes["h"].update(activation="rleu"), lambda G: G.nodes["h"].update(activation=["relu"]),
    lambda G: G.nodes["h"].update(aggregation="median?"), lambda G: G.nodes["h"].update(layer=3),
    lambda G: G.nodes["h"].update(activation="softmax"), lambda G: G.nodes["h"].update(layer="a\0b"),
    lambda G: G.nodes["h"].update(role="hiden"), lambda G: G.nodes["x"].update(bias=0.0),
    lambda G: G.add_edge("h", "x", weight=1.0), lambda G: G.nodes["y"].update(role="hidden"),
    lambda G: nx.relabel_nodes(G, {"h": "h\0"}, copy=False)])
def test_each_fault_fails_the_test_of_all_neurons_and_is_named(fault: object) -> None:
    G = small()
    fault(G)
    assert not _neurons_pass(G, read_graph(G))
    with pytest.raises(NetworkError, match="neuron|input|outputs|connection"):
        validate_parts(G)


def test_the_connections_are_read_once_for_the_check_and_the_compiler() -> None:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    G.add_edge("x", "y", weight=0.5)
    read = validate_parts(G)
    assert read.weights() is read.weights(only_weight=True) and read.weights() == [0.5]
    G.add_node("z", role="output")
    G.add_edge("x", "z", weight=2.0, param="tied")  # more than its weight: the check's list differs
    read = validate_parts(G)
    assert read.weights() == [0.5, 2.0] and read.weights(only_weight=True)[:1] == [0.5]
    assert read.weights(only_weight=True) is not read.weights() and read.weights() is read.weights()


class _Name(str):
    """A neuron id of a str subclass: its characters are what the check looks at."""


@pytest.mark.parametrize(("ids", "passes"), [
    ({"x": 0, "h": 1, "y": 2}, True),  # int ids pass the test of all names at once
    ({"h": 1}, True),  # ints among strs too
    ({"h": _Name("h")}, True),
    ({"h": ("h", 1)}, False),  # a tuple id: the check of each neuron looks at it (and passes it)
    ({"h": "h\tab"}, False),  # not printable: looked at again (a tab is legal)
])
def test_the_test_of_all_names_at_once_passes_only_what_the_check_of_each_would(ids: dict, passes: bool) -> None:
    G = nx.relabel_nodes(small(), ids)
    assert _neurons_pass(G, read_graph(G)) is passes
    validate_parts(G)


@pytest.mark.parametrize(("ids", "error"), [
    ({"x": 0, "h": "h\0"}, "'h\\\\x00': its id holds NUL"),  # a str among ints
    ({"h": _Name("h\0")}, "its id holds NUL"),
    ({"h": ("h", "\udc80")}, "its id holds a lone surrogate"),
])
def test_a_bad_name_among_ints_or_of_a_str_subclass_is_named(ids: dict, error: str) -> None:
    G = nx.relabel_nodes(small(), ids)
    assert not _neurons_pass(G, read_graph(G))
    with pytest.raises(NetworkError, match=error):
        validate_parts(G)


@pytest.mark.parametrize("key", ["bias", "activation", "layer", "aggregation", "bias_param"])
def test_an_input_carrying_a_computed_neurons_key_fails_the_test_of_all_neurons_and_is_named(key: str) -> None:
    G = small()
    G.add_node("x2", role="input", label="kept")  # a key of its own is legal
    G.add_edge("x2", "y", weight=1.0)
    assert _neurons_pass(G, read_graph(G))
    G.nodes["x2"][key] = "sum" if key == "aggregation" else 0.0
    assert not _neurons_pass(G, read_graph(G))
    with pytest.raises(NetworkError, match=f"input 'x2' carries '{key}'"):
        validate_parts(G)


def test_the_distinct_names_are_resolved_once_for_the_check_and_the_compiler() -> None:
    from nngraph.compiler.arrays import graph_arrays

    G = small()
    G.nodes["y"].update(activation="ReLU", aggregation="max")
    read = validate_parts(G)
    assert list(read.activations()) == ["relu", "ReLU"] and read.activations() is read.activations()
    assert list(read.aggregations()) == ["sum", "max"] and read.aggregations() is read.aggregations()
    network = graph_arrays(G, read=read)
    assert network.activations == ("relu",) and network.activation.tolist() == [-1, 0, 0]
    assert network.aggregations == ("sum", "max") and network.aggregation.tolist() == [-1, 0, 1]
