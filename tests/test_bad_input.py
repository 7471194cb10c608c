"""Bad numbers, arguments of the wrong type and absurd sizes: each an NNGraphError naming the culprit.

Numbers follow one rule (``nngraph.core.validate.number_problem``): Python and numpy integers and
floats within float range; a ``Fraction`` or ``Decimal`` is refused, never rounded without a word.
"""

from __future__ import annotations

import decimal
import fractions

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import ArgumentError, InputError, LayerError, NetworkError
from nngraph.demo import lesson_model
from nngraph.layers import MAX_CONNECTIONS, Dense, Input
from nngraph.models import Sequential

HUGE = 10**400  # an integer Python holds exactly, and no float can


def tiny(weight: object = 2.0, bias: object = 0.5) -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("z", role="input")
    G.add_node("y", role="output", bias=bias, activation="relu")
    G.add_edge("x", "y", weight=weight)
    G.add_edge("z", "y", weight=1.0)
    return G


# Every function that reads a graph's numbers goes through validate, so each refuses alike.
READERS = {
    "validate": nngraph.validate,
    "compile_network": nngraph.compile_network,
    "run_reference": lambda G: nngraph.run_reference(G, [1.0, 2.0]),
    "save": lambda G: nngraph.save(G, "never-written.json"),
    "render_neurons": nngraph.render_neurons,
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize(("weight", "bias", "message"), [
    (HUGE, 0.5, "connection 'x' -> 'y': weight must be a finite number, got 1000.*, beyond float range"),
    (2.0, -HUGE, "neuron 'y': bias must be a finite number, got -1000.*, beyond float range"),
    (fractions.Fraction(1, 3), 0.5, r"weight must be a finite number, got Fraction\(1, 3\); convert it with float\(\)"),
    (2.0, decimal.Decimal("0.1"), r"bias must be a finite number, got Decimal\('0.1'\); convert it with float\(\)"),
    (True, 0.5, "weight must be a finite number, got True"),
    ("2.0", 0.5, "weight must be a finite number, got '2.0'"),
])
def test_weights_and_biases_that_are_not_floats_are_refused_alike(reader: str, weight: object, bias: object,
                                                                 message: str) -> None:
    with pytest.raises(NetworkError, match=message):
        READERS[reader](tiny(weight, bias))


def test_integers_and_numpy_numbers_within_float_range_are_weights() -> None:
    G = tiny(weight=2**70, bias=np.float32(0.5))
    G.edges["z", "y"]["weight"] = np.int16(3)
    nngraph.validate(G)
    expected = [[0.5 + 2.0**70 + 6.0]]
    np.testing.assert_array_equal(nngraph.run_reference(G, [1.0, 2.0]).outputs, expected)
    np.testing.assert_array_equal(nngraph.compile_network(G)([[1.0, 2.0]]), expected)


@pytest.mark.parametrize(("x", "message"), [
    ([HUGE, 1.0], r"input x\[0\] must be a number, got 1000.*, beyond float range"),
    ([[1.0, 2.0], [3.0, -HUGE]], r"input x\[1, 1\] must be a number, got -1000.*, beyond float range"),
    ([fractions.Fraction(1, 2), 1.0], r"input x\[0\] must be a number, got Fraction\(1, 2\); convert it"),
    ([[1.0, None]], r"input x\[0, 1\] must be a number, got None"),
])
def test_input_values_beyond_float_range_are_named_by_position(x: object, message: str) -> None:
    G = tiny()
    plan = nngraph.compile_network(G)
    for run in (lambda: nngraph.run_reference(G, x), lambda: plan(x), lambda: plan.trace(x)):
        with pytest.raises(InputError, match=message):
            run()


def test_python_integers_too_large_for_int64_are_input_values() -> None:
    plan = nngraph.compile_network(tiny())
    np.testing.assert_array_equal(plan([2**70, True]), [0.5 + 2.0**71 + 1.0])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: nngraph.compile_network(lesson_model().graph, passes=None),
     r"passes must be a sequence of pass names \(\(\) for none\), got None"),
    (lambda: nngraph.compile_network(lesson_model().graph, passes=5), "passes must be a sequence"),
    (lambda: nngraph.render(lesson_model().graph, None), "render: path must be a str or os.PathLike, got None"),
    (lambda: lesson_model().layers[0].set_weights(None), "set_weights takes a list of arrays"),
    (lambda: lesson_model().layers[0].set_weights("kernel"), "set_weights takes a list of arrays"),
    (lambda: Sequential(5), "Sequential takes a list of layers, got int"),
    (lambda: Sequential(seed="seven"), "seed must be None or a whole number, got 'seven'"),
    (lambda: Sequential(seed=1.5), "seed must be None or a whole number, got 1.5"),
    (lambda: Sequential(max_connections=None), "max_connections must be a whole number, got None"),
    (lambda: nngraph.run_reference(tiny(), [1.0, 2.0]).table("0"), "sample must be a whole number, got '0'"),
    (lambda: nngraph.run_reference(tiny(), [1.0, 2.0]).records(0.0), "sample must be a whole number, got 0.0"),
])
def test_arguments_of_the_wrong_type_are_argument_errors(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message) as caught:
        call()
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize(("weights", "message"), [
    (["kernel", "bias"], r"kernel must be a number, got 'kernel'"),
    ([np.full((8, 6), "a"), np.zeros(6)], r"kernel\[0, 0\] must be a number, got 'a'"),
    ([np.zeros((8, 6)), [0.0] * 5 + [HUGE]], r"bias\[5\] must be a number, got 1000.*beyond float range"),
    ([np.zeros((8, 6)), [0.0] * 5 + [fractions.Fraction(1, 7)]], r"bias\[5\] .* convert it with float\(\)"),
    ([np.zeros((8, 6)), np.full(6, np.inf)], "bias holds non-finite numbers"),
])
def test_set_weights_names_the_value_that_is_not_a_number(weights: list, message: str) -> None:
    layer = lesson_model().layers[0]
    before = layer.get_weights()
    with pytest.raises(LayerError, match=f"layer 'dense': {message}"):
        layer.set_weights(weights)
    for array, kept in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(array, kept)


def test_a_negative_seed_is_a_layer_error() -> None:
    with pytest.raises(LayerError, match="seed must be 0 or more, got -1"):
        Sequential(seed=-1)


@pytest.mark.parametrize(("layers", "message"), [
    ([Input(shape=(10**9,))], "an input of 1,000,000,000 features would make the model 1,000,000,000 neurons "
                              "and 0 connections, about 600.0 GB"),
    ([Dense(units=100_000_000, input_shape=(100,))],
     "Dense 'dense' \\(100,000,000 units\\) would make the model 100,000,100 neurons and 10,000,000,000 "
     "connections, about 3,560.0 GB"),
    ([Dense(units=6, input_shape=(8,)), Dense(units=10**9)], "Dense 'dense_1' .* 6,000,000,048 connections"),
])
def test_models_beyond_the_connection_limit_are_refused_before_anything_is_allocated(
        layers: list, message: str) -> None:
    with pytest.raises(LayerError, match=message) as caught:
        Sequential(layers)
    assert f"the limit is {MAX_CONNECTIONS:,} connections and as many neurons" in str(caught.value)
    assert "Sequential(max_connections=...) raises it" in str(caught.value)


def test_the_connection_limit_can_be_raised_or_lowered() -> None:
    with pytest.raises(LayerError, match="110 connections.*the limit is 100 connections"):
        Sequential([Dense(units=10, input_shape=(11,))], max_connections=100)
    model = Sequential([Dense(units=10, input_shape=(11,))], max_connections=110)
    assert model.graph.number_of_edges() == 110
    with pytest.raises(LayerError, match="the limit is 110 connections"):
        model.add(Dense(units=1))
    assert model.graph.number_of_nodes() == 21  # the refused layer added nothing
