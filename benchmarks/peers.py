"""The competitors: hand-written numpy, onnxruntime (the plan exported by ``nngraph.to_onnx``),
PyTorch eager, neat-python.

Each peer computes the network as one would write it by hand, layer by layer: for each op of the
plan (each run of one activation, for an op that mixes them), the tensors its sources live in
(concatenated when there are several), one product, the bias, the activation (``peer_layers`` lays that out for numpy and PyTorch; ``nngraph.to_onnx``
exports the same layout for onnxruntime). onnxruntime, PyTorch
and neat-python are optional (the ``bench`` extra); each builder returns ``None`` when its package
is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import networkx as nx
import numpy as np

import nngraph
from nngraph.core.network import ACTIVATION, BIAS

Runner = Callable[[np.ndarray], object]


@dataclass(frozen=True)
class PeerLayer:
    """One op as a peer computes it: ``activation(concat(tensors) @ weights + bias)``, named ``name``."""

    name: str
    tensors: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    activation: str


def peer_layers(plan: nngraph.Plan) -> list[PeerLayer]:
    """The plan's ops as layers over whole tensors (``"x"``, the inputs, then one per op), dense,
    with weight rows in the order of the concatenated tensors."""
    place: dict[Hashable, tuple[str, int]] = {node: ("x", i) for i, node in enumerate(plan.inputs)}
    widths = {"x": len(plan.inputs)}
    layers = []
    for op in plan.ops:
        tensors = list(dict.fromkeys(place[node][0] for node in op.sources))
        offsets = dict(zip(tensors, np.cumsum([0] + [widths[t] for t in tensors]).tolist()))
        weights = np.zeros((sum(widths[t] for t in tensors), len(op.targets)), dtype=plan.dtype)
        dense = op.dense_weights()
        for row, node in enumerate(op.sources):
            tensor, column = place[node]
            weights[offsets[tensor] + column] = dense[row]
        runs = op.activation_runs()
        for r, (activation, start, stop) in enumerate(runs):  # an op of mixed activations: a layer per run
            name = f"op{op.index}" if len(runs) == 1 else f"op{op.index}_{r}"
            layers.append(PeerLayer(name, tuple(tensors), np.ascontiguousarray(weights[:, start:stop]),
                                    op.bias[start:stop].copy(), activation))
            widths[name] = stop - start
            place.update({node: (name, j) for j, node in enumerate(op.targets[start:stop])})
    last = layers[-1].name
    assert [place[node] for node in plan.outputs] == [(last, j) for j in range(len(plan.outputs))], \
        "the peers expect the outputs to be the last op's neurons"
    return layers


def _numpy_activation(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    assert name == "linear", name
    return z


def hand_written(plan: nngraph.Plan) -> Runner:
    """The numpy one would write: ``relu(x @ W1 + b1)`` and so on, sample-major, a temporary per
    step (for 8-6-6-4 and 784-512-512-10: the 14 numpy calls of a textbook forward pass)."""
    layers = peer_layers(plan)

    def run(x: np.ndarray) -> np.ndarray:
        values = {"x": x}
        for layer in layers:
            source = (values[layer.tensors[0]] if len(layer.tensors) == 1
                      else np.concatenate([values[t] for t in layer.tensors], axis=1))
            values[layer.name] = _numpy_activation(layer.activation, source @ layer.weights + layer.bias)
        return values[layers[-1].name]

    return run


def onnxruntime_runner(plan: nngraph.CompiledPlan, *, threads: int) -> Runner | None:
    """An onnxruntime session for the ONNX model ``nngraph.to_onnx`` exports from ``plan`` (one Gemm
    and one activation per op, the tensors an op reads joined by one Concat), in the plan's dtype."""
    try:
        import onnxruntime
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    model = nngraph.to_onnx(plan, dtype=plan.dtype)
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": x})[0]

    return run


def torch_runner(plan: nngraph.Plan, *, threads: int) -> Runner | None:
    """PyTorch eager for the same network: ``torch.addmm`` and the activation per layer, under
    ``torch.inference_mode``, from a numpy array to a numpy array."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    functions = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
                 "softmax": lambda z: torch.softmax(z, dim=-1)}
    layers = [(layer.name, layer.tensors, torch.from_numpy(layer.weights), torch.from_numpy(layer.bias),
               functions[layer.activation]) for layer in peer_layers(plan)]

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            values = {"x": torch.from_numpy(x)}
            for name, tensors, weights, bias, activation in layers:
                source = (values[tensors[0]] if len(tensors) == 1
                          else torch.cat([values[t] for t in tensors], dim=1))
                values[name] = activation(torch.addmm(bias, source, weights))
            return values[name].numpy()

    return run


def _sigmoid(z: float) -> float:
    import math

    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def neat_python_runner(G: nx.DiGraph) -> Runner | None:
    """neat-python's ``FeedForwardNetwork`` for the same network, one sample at a time."""
    try:
        from neat.nn import FeedForwardNetwork
    except ImportError:
        return None
    import math

    functions = {"tanh": math.tanh, "sigmoid": _sigmoid}
    order = [node for node in nngraph.levels(G) if node not in set(nngraph.inputs(G))]
    evaluations = [(node, functions[G.nodes[node][ACTIVATION]], sum, G.nodes[node][BIAS], 1.0,
                    [(source, weight) for source, _, weight in G.in_edges(node, data="weight")])
                   for node in order]
    network = FeedForwardNetwork(nngraph.inputs(G), nngraph.outputs(G), evaluations)

    def run(x: np.ndarray) -> list[list[float]]:
        return [network.activate(sample) for sample in x.tolist()]

    return run
