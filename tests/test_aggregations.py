"""The aggregation registry: neat-python's seven, with neat-python 2.0's results, vectorised."""

from __future__ import annotations

import math
from functools import reduce
from operator import mul

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nngraph
from nngraph import NetworkError, UnknownAggregationError, known_aggregations, resolve_aggregation


def _median2(terms: list[float]) -> float:
    ordered = sorted(terms)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# neat-python 2.0's definitions (neat/aggregations.py, neat/math_util.py), on plain lists.
NEAT = {
    "sum": lambda x: sum(x) if x else 0.0,
    "product": lambda x: reduce(mul, x, 1.0),
    "max": lambda x: max(x) if x else 0.0,
    "min": lambda x: min(x) if x else 0.0,
    "maxabs": lambda x: max(x, key=abs) if x else 0.0,
    "median": lambda x: _median2(x) if x else 0.0,
    "mean": lambda x: sum(x) / len(x) if x else 0.0,
}


def test_exactly_neat_pythons_seven_names() -> None:
    assert known_aggregations() == ["sum", "product", "max", "min", "maxabs", "mean", "median"]
    assert set(known_aggregations()) == set(NEAT)


@pytest.mark.parametrize("name", sorted(NEAT))
def test_no_terms_give_neat_pythons_results(name: str) -> None:
    expected = 1.0 if name == "product" else 0.0
    np.testing.assert_array_equal(resolve_aggregation(name)(np.empty((3, 0))), [expected] * 3)
    assert NEAT[name]([]) == expected


def test_median_averages_the_middle_pair_and_maxabs_keeps_sign_and_the_first_tie() -> None:
    median, maxabs = resolve_aggregation("median"), resolve_aggregation("maxabs")
    assert median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5
    assert median(np.array([5.0, -1.0, 3.0])) == 3.0
    np.testing.assert_array_equal(maxabs(np.array([[1.0, -3.0, 3.0], [3.0, -3.0, 0.5]])), [-3.0, 3.0])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(NEAT)),
       # few distinct values, so that ties (maxabs) and even counts (median) come up often
       st.lists(st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]) | st.floats(-10, 10), max_size=7),
       st.integers(1, 4))
def test_vectorised_along_any_axis_as_neat_python_computes_one_list(name: str, terms: list[float],
                                                                    batch: int) -> None:
    expected = NEAT[name](terms)
    stacked = np.tile(np.array(terms, dtype=float), (batch, 1))  # (batch, K): the reference's layout
    got = resolve_aggregation(name)(stacked)
    np.testing.assert_allclose(got, [expected] * batch, rtol=1e-12, atol=1e-12)
    # the compiled plan reduces the middle axis of (targets, K, batch)
    middle = np.repeat(stacked.T[None], 2, axis=0)
    np.testing.assert_allclose(resolve_aggregation(name)(middle, axis=1), np.full((2, batch), expected),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(NEAT))
def test_a_nan_term_gives_nan_and_dtype_is_kept(name: str) -> None:
    terms = np.array([[1.0, np.nan, -2.0]], dtype=np.float32)
    result = resolve_aggregation(name)(terms)
    assert result.dtype == np.float32 and math.isnan(result[0])


def test_unknown_names_are_refused_listing_the_known_ones() -> None:
    with pytest.raises(UnknownAggregationError, match="unknown aggregation 'Max'; known: sum, product, max, "
                                                      "min, maxabs, mean, median") as info:
        resolve_aggregation("Max")
    assert info.value.known == tuple(known_aggregations()) and isinstance(info.value, NetworkError)
    with pytest.raises(UnknownAggregationError, match="unknown aggregation None"):
        resolve_aggregation(None)


def test_validate_names_the_neuron_with_an_unknown_aggregation_and_refuses_one_on_an_input() -> None:
    G = nngraph.new_network()
    nngraph.add_input(G, "x")
    nngraph.add_neuron(G, nngraph.Neuron("y", role="output", aggregation="avg"))
    nngraph.connect(G, "x", "y", 1.0)
    with pytest.raises(UnknownAggregationError, match="neuron 'y': unknown aggregation 'avg'") as info:
        nngraph.validate(G)
    assert info.value.node == "y"
    G.nodes["y"]["aggregation"] = "max"
    nngraph.validate(G)
    G.nodes["x"]["aggregation"] = "max"
    with pytest.raises(NetworkError, match="input 'x' carries 'aggregation'"):
        nngraph.validate(G)


def test_neuron_objects_write_aggregation_only_when_it_is_not_the_default() -> None:
    G = nngraph.new_network()
    nngraph.add_neuron(G, nngraph.Neuron("a"))
    nngraph.add_neuron(G, nngraph.Neuron("b", aggregation="product", bias_param="beta"))
    assert "aggregation" not in G.nodes["a"] and "bias_param" not in G.nodes["a"]
    assert G.nodes["b"]["aggregation"] == "product" and G.nodes["b"]["bias_param"] == "beta"
    assert nngraph.read_neuron(G, "a").aggregation == "sum"
    assert nngraph.read_neuron(G, "b") == nngraph.Neuron("b", aggregation="product", bias_param="beta")
