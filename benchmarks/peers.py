"""The competitors: hand-written numpy, onnxruntime (an ONNX model of the plan), neat-python.

onnxruntime and neat-python are optional (the ``bench`` extra); each builder returns ``None``
when its package is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import networkx as nx
import numpy as np

import nngraph
from nngraph.core.network import ACTIVATION, BIAS

Runner = Callable[[np.ndarray], object]


def hand_written(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, W3: np.ndarray,
                 b3: np.ndarray) -> Runner:
    """``relu(x @ W1 + b1)``, again with ``W2``, then softmax: the 14 numpy calls one would write."""

    def run(x: np.ndarray) -> np.ndarray:
        h = np.maximum(x @ W1 + b1, 0)
        h = np.maximum(h @ W2 + b2, 0)
        z = h @ W3 + b3
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return run


def layer_weights(plan: nngraph.Plan) -> list[np.ndarray]:
    """``[W1, b1, W2, b2, ...]`` of a layered plan, as hand-written numpy takes them."""
    arrays: list[np.ndarray] = []
    for op in plan.ops:
        arrays += [np.ascontiguousarray(op.dense_weights()), op.bias.copy()]
    return arrays


_ONNX_ACTIVATIONS = {"linear": "Identity", "relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid",
                     "softmax": "Softmax"}


def onnxruntime_runner(plan: nngraph.Plan, *, threads: int) -> Runner | None:
    """An onnxruntime session for an ONNX model of the same network (built from ``plan``)."""
    try:
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    element = TensorProto.FLOAT if plan.dtype == np.float32 else TensorProto.DOUBLE
    nodes, initializers = [], []
    # Where each neuron lives: (tensor name, column in that tensor).
    place: dict[Hashable, tuple[str, int]] = {node: ("x", i) for i, node in enumerate(plan.inputs)}
    widths = {"x": len(plan.inputs)}
    for op in plan.ops:
        tensors = list(dict.fromkeys(place[node][0] for node in op.sources))
        offsets = dict(zip(tensors, np.cumsum([0] + [widths[t] for t in tensors]).tolist()))
        weights = np.zeros((sum(widths[t] for t in tensors), len(op.targets)), dtype=plan.dtype)
        for row, node in enumerate(op.sources):
            tensor, column = place[node]
            weights[offsets[tensor] + column] = op.dense_weights()[row]
        name = f"op{op.index}"
        initializers += [numpy_helper.from_array(weights, f"{name}_W"),
                         numpy_helper.from_array(op.bias.copy(), f"{name}_b")]
        source = tensors[0] if len(tensors) == 1 else f"{name}_in"
        if len(tensors) > 1:
            nodes.append(helper.make_node("Concat", tensors, [source], axis=1))
        nodes.append(helper.make_node("MatMul", [source, f"{name}_W"], [f"{name}_xw"]))
        nodes.append(helper.make_node("Add", [f"{name}_xw", f"{name}_b"], [f"{name}_z"]))
        extra = {"axis": -1} if op.activation == "softmax" else {}
        nodes.append(helper.make_node(_ONNX_ACTIVATIONS[op.activation], [f"{name}_z"], [name], **extra))
        widths[name] = len(op.targets)
        place.update({node: (name, j) for j, node in enumerate(op.targets)})
    last = f"op{plan.ops[-1].index}"
    assert [place[node] for node in plan.outputs] == [(last, j) for j in range(len(plan.outputs))], \
        "the ONNX export expects the outputs to be the last op's neurons"
    graph = helper.make_graph(
        nodes, "nngraph", [helper.make_tensor_value_info("x", element, [None, len(plan.inputs)])],
        [helper.make_tensor_value_info(last, element, [None, len(plan.outputs)])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"x": x})[0]

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
