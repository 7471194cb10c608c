"""The shared test kit: hypothesis strategies for random valid networks, and ``assert_equivalent``.

``assert_equivalent`` makes its own comparison, sharing no code with the library's verification
(``nngraph.execute.verify``), so that a fault there cannot hide a fault of the compiler.

``networks()`` builds networks through the public API (``new_network``, ``add_input``,
``add_neuron``, ``connect``): 1 to 6 levels of layers, each fully connected to the layer
before, partly connected (pruned), with skip connections, or wired at random (some neurons get
no connection at all); mixed activations; softmax layers whose members may sit at different
levels; hidden neurons that are outputs too, or reach no output; neurons and connections added
in a random order. Weights and biases lie in [-1, 1] (0.0 included: a connection of weight 0.0 is
still a connection); inputs too, but one batch in three may also hold NaN and infinities.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nngraph
from nngraph import Neuron
from nngraph.execute.compiled import run_plan

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "leaky_relu(alpha=0.1)", "elu", "selu",
               "softplus", "softsign", "gelu", "swish", "hard_sigmoid")
WIRINGS = ("full", "full", "skip", "pruned", "random")
unit = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
non_finite = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def networks(draw: st.DrawFn, *, max_layers: int = 6, max_width: int = 5,
             max_inputs: int = 5) -> nx.DiGraph:
    """A random valid network (see the module doc)."""
    inputs = [f"x{i}" for i in range(draw(st.integers(1, max_inputs)))]
    layers: list[list[Hashable]] = [inputs]
    neurons = [Neuron(node, role="input") for node in inputs]
    edges: list[tuple[Hashable, Hashable]] = []
    n_layers = draw(st.integers(1, max_layers))
    for k in range(1, n_layers + 1):
        width = draw(st.integers(1, max_width))
        softmax = width > 1 and draw(st.integers(0, 3)) == 0
        shared = draw(st.sampled_from(ACTIVATIONS))
        mixed = draw(st.booleans())
        named = softmax or draw(st.booleans())
        wiring = draw(st.sampled_from(WIRINGS))
        earlier = [node for layer in layers for node in layer]
        layer = []
        for j in range(width):
            node = f"n{k}_{j}"
            activation = "softmax" if softmax else draw(st.sampled_from(ACTIVATIONS)) if mixed else shared
            last = k == n_layers
            role = "output" if last or draw(st.integers(0, 5)) == 0 else "hidden"
            neurons.append(Neuron(node, role=role, bias=draw(unit), activation=activation,
                                  layer=f"layer{k}" if named else None))
            edges += [(source, node) for source in _sources(draw, wiring, layers, earlier)]
            layer.append(node)
        layers.append(layer)
    G = nngraph.new_network()
    for neuron in draw(st.permutations(neurons)):
        nngraph.add_neuron(G, neuron)
    for source, target in draw(st.permutations(edges)):
        nngraph.connect(G, source, target, draw(unit))
    return G


def _sources(draw: st.DrawFn, wiring: str, layers: list[list[Hashable]],
             earlier: list[Hashable]) -> list[Hashable]:
    previous = layers[-1]
    if wiring == "full":
        return list(previous)
    if wiring == "skip":
        extra = draw(st.lists(st.sampled_from(layers[0]), unique=True, max_size=len(layers[0])))
        return list(previous) + [node for node in extra if node not in previous]
    if wiring == "pruned":
        return draw(st.lists(st.sampled_from(previous), unique=True, max_size=len(previous)))
    return draw(st.lists(st.sampled_from(earlier), unique=True, max_size=min(len(earlier), 8)))


@st.composite
def networks_and_batches(draw: st.DrawFn, *, max_batch: int = 4) -> tuple[nx.DiGraph, np.ndarray]:
    """A random network and a batch of inputs for it, shape ``(batch, n_inputs)``; one batch in
    three may hold NaN, inf and -inf among its numbers."""
    G = draw(networks())
    batch = draw(st.integers(1, max_batch))
    elements = st.one_of(unit, non_finite) if draw(st.integers(0, 2)) == 0 else unit
    x = draw(hnp.arrays(np.float64, (batch, len(nngraph.inputs(G))), elements=elements))
    return G, x


TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def assert_equivalent(plan: nngraph.CompiledPlan, G: nx.DiGraph, x: object) -> None:
    """Assert that ``plan`` agrees with ``run_reference(G, x)``: every neuron's weighted sum and
    value in the trace, and the outputs of ``plan(x)`` through every runner the plan has.

    The tolerance is ``TOLERANCE[dtype]`` relative (1e-12 for float64, 1e-5 for float32), plus an
    absolute slack of that times the largest finite magnitude of the reference (at least 1), for
    the cancellation a different summation order may expose. NaN agrees with NaN only: a NaN on
    one side and a number on the other is a difference; infinities must match in sign.
    """
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf inputs are meant to propagate
        _assert_equivalent(plan, G, x)


def _assert_equivalent(plan: nngraph.CompiledPlan, G: nx.DiGraph, x: object) -> None:
    reference = nngraph.run_reference(G, x, dtype=plan.dtype)
    trace = plan.trace(x)
    assert set(trace.columns) == set(reference.columns), "the trace holds other neurons"
    nodes = list(reference.columns)
    mine = [trace.columns[node] for node in nodes]
    rtol = TOLERANCE[plan.dtype]
    for quantity in ("weighted_sums", "values"):
        expected = getattr(reference, quantity)
        _assert_close(getattr(trace, quantity)[:, mine], expected, rtol, f"trace {quantity}", nodes)
    runners = ("numpy", "scalar") if plan.program.scalar is not None else ("numpy",)
    outputs = list(nngraph.outputs(G))
    for runner in runners:
        got = np.asarray(run_plan(plan, x, runner=runner)).reshape(-1, len(outputs))
        _assert_close(got, reference.outputs, rtol, f"outputs of runner {runner}", outputs)
    expected_shape = np.shape(reference.outputs[0]) if np.ndim(x) == 1 else reference.outputs.shape
    assert plan(x).shape == expected_shape
    assert plan(x).dtype == plan.dtype


def _assert_close(got: np.ndarray, expected: np.ndarray, rtol: float, what: str, nodes: list) -> None:
    """Assert ``got`` equals ``expected`` within tolerance, column ``j`` being neuron ``nodes[j]``."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    finite = np.abs(expected[np.isfinite(expected)])
    atol = rtol * max(1.0, float(finite.max()) if finite.size else 1.0)
    both_nan = np.isnan(got) & np.isnan(expected)
    with np.errstate(invalid="ignore"):  # inf - inf
        close = (got == expected) | (np.abs(got - expected) <= atol + rtol * np.abs(expected))
    bad = ~(close | both_nan)
    if bad.any():
        sample, column = (int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(f"{what}: neuron {nodes[column]!r}, sample {sample}: got "
                             f"{got[sample, column]!r}, the reference says {expected[sample, column]!r}")
