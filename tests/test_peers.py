"""The benchmarks' peers (``benchmarks/peers.py``) compute what the plan computes: hand-written
numpy, onnxruntime, PyTorch eager and neat-python, on a small NEAT-like DAG whose hidden level
mixes two activations (a mixed op, which each peer computes as one layer per run). No timing."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import nngraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import peers  # noqa: E402

sys.path.pop(0)

RTOL = {np.float64: 1e-10, np.float32: 1e-5}


def small_dag() -> nx.DiGraph:
    """Inputs x0..x3; a hidden level of tanh and sigmoid neurons, interleaved; a second hidden
    level; two sigmoid outputs reading both levels and an input (skip connections)."""
    G = nngraph.new_network()
    for i in range(4):
        nngraph.add_input(G, f"x{i}")
    rng = np.random.default_rng(3)
    levels = [[("h0", "tanh"), ("h1", "sigmoid"), ("h2", "tanh"), ("h3", "sigmoid")],
              [("g0", "sigmoid"), ("g1", "tanh")], [("y0", "sigmoid"), ("y1", "sigmoid")]]
    earlier = [f"x{i}" for i in range(4)]
    for level in levels:
        for node, activation in level:
            role = "output" if node.startswith("y") else "hidden"
            nngraph.add_neuron(G, nngraph.Neuron(node, role=role, bias=float(rng.normal()), activation=activation))
            for source in earlier[::2] + earlier[-2:]:  # some of the earlier neurons, the level before among them
                if not G.has_edge(source, node):
                    nngraph.connect(G, source, node, float(rng.normal()))
        earlier += [node for node, _ in level]
    return G


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_each_peer_computes_the_plans_outputs(dtype: type) -> None:
    G = small_dag()
    plan = nngraph.compile_network(G, dtype=dtype)
    mixed = [op for op in plan.ops if op.activation == "mixed"]
    assert mixed and len(mixed[0].activation_runs()) >= 2
    layers = peers.peer_layers(plan)
    assert len(layers) == sum(len(op.activation_runs()) for op in plan.ops)  # a layer per run
    x = np.random.default_rng(0).uniform(-2.0, 2.0, (7, 4)).astype(dtype)
    expected = plan(x)
    runners = {"numpy": peers.hand_written(plan), "onnxruntime": peers.onnxruntime_runner(plan, threads=1),
               "torch": peers.torch_runner(plan, threads=1)}
    if dtype == np.float64:  # neat-python computes in Python floats
        runners["neat-python"] = peers.neat_python_runner(G)
    for name, run in runners.items():
        assert run is not None, f"{name} is part of the bench extra, which the tests install"
        np.testing.assert_allclose(np.asarray(run(x)), expected, rtol=RTOL[dtype], atol=RTOL[dtype],
                                   err_msg=f"{name} disagrees with the plan")
