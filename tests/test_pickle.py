"""A compiled plan pickles with the standard pickle: its plan and options travel, its code is
generated again on load, in this process or in a worker process."""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import nngraph
from nngraph import CodegenOptions
from nngraph.demo import lesson_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from neat_network import neat_genome  # noqa: E402

RNG = np.random.default_rng(5)


def two_towers() -> nx.DiGraph:
    """Padded ops (merged levels), so the plan also has its exact pass."""
    G = nx.DiGraph()
    G.add_nodes_from(["x0", ("x", 1)], role="input")
    G.add_nodes_from(["h0", "h1"], role="hidden", activation="tanh")
    G.add_nodes_from(["y0", 7], role="output", bias=0.5)
    G.add_weighted_edges_from([("x0", "h0", 0.5), (("x", 1), "h1", -0.5), ("h0", "y0", 2.0), ("h1", 7, 1.0)])
    return G


PLANS = {
    "lesson": lambda: nngraph.compile_network(lesson_model().graph),
    "lesson float32": lambda: nngraph.compile_network(lesson_model().graph, dtype=np.float32),
    "neat": lambda: nngraph.compile_network(neat_genome(n_inputs=8, n_hidden=60, n_outputs=3,
                                                       n_connections=500, depth=8)),
    "padded": lambda: nngraph.compile_network(two_towers(), passes=("merge_levels",)),
    "options": lambda: nngraph.compile_network(
        lesson_model().graph, options=CodegenOptions(scalar_code=False, in_place_activations=False)),
}


@pytest.mark.parametrize("name", PLANS)
def test_a_pickled_plan_computes_traces_and_reads_the_same(name: str) -> None:
    plan = PLANS[name]()
    loaded = pickle.loads(pickle.dumps(plan))
    x = RNG.uniform(-1.0, 1.0, size=(5, len(plan.inputs)))
    np.testing.assert_array_equal(loaded(x), plan(x))
    np.testing.assert_array_equal(loaded(x[0]), plan(x[0]))
    np.testing.assert_array_equal(loaded.trace(x).values, plan.trace(x).values)
    np.testing.assert_array_equal(loaded.trace(x).weighted_sums, plan.trace(x).weighted_sums)
    assert loaded.code == plan.code and loaded.runner == plan.runner and str(loaded) == str(plan)
    assert loaded.options == plan.options and loaded.passes == plan.passes
    assert dict(loaded.columns) == dict(plan.columns) and loaded.inputs == plan.inputs
    for mine, theirs in zip(loaded.ops, plan.ops):
        assert (mine.kind, mine.targets, mine.sources, mine.level) == (theirs.kind, theirs.targets,
                                                                       theirs.sources, theirs.level)
        np.testing.assert_array_equal(mine.dense_weights(), theirs.dense_weights())
        assert not mine.bias.flags.writeable  # read-only again after loading
    with pytest.raises(TypeError):
        loaded.columns["x0"] = 3  # a read-only mapping again


def test_pickles_hold_data_not_code() -> None:
    plan = PLANS["lesson"]()
    data = pickle.dumps(plan)
    assert b"forward_scalar" not in data and b"np.matmul" not in data
    assert len(data) < 2 * len(pickle.dumps(plan.plan))


def test_a_plan_runs_in_a_spawned_worker_process() -> None:
    plan = PLANS["padded"]()
    x = np.array([[0.5, -1.0], [np.nan, 2.0]])
    with np.errstate(invalid="ignore"):
        expected = plan(x)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing is inherited
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        outputs = pool.submit(plan, x).result(timeout=120)
        code = pool.submit(getattr, plan, "code").result(timeout=120)
    np.testing.assert_array_equal(outputs, expected)  # NaN where NaN: the exact pass ran there
    assert code == plan.code
