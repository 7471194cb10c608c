"""The shared test kit: hypothesis strategies for random valid networks, and ``assert_equivalent``.

``assert_equivalent`` makes its own comparison, sharing no code with the library's verification
(``nngraph.execute.verify``), so that a fault there cannot hide a fault of the compiler.

``networks()`` builds networks through the public API (``new_network``, ``add_input``,
``add_neuron``, ``connect``): 1 to 6 levels of layers, each fully connected to the layer
before, partly connected (pruned), with skip connections, or wired at random (some neurons get
no connection at all); mixed activations (neat-python's too); every aggregation (a layer of one,
or mixed neuron by neuron, sums included, in softmax layers too); numbers tied by name across connections and
biases; softmax layers whose members may sit at different levels; hidden neurons that are outputs
too, or reach no output; layer records for named layers; neurons and connections added in a
random order. Weights and biases lie in [-1, 1] (0.0 included: a connection of weight 0.0 is
still a connection); inputs too, but one batch in three may also hold NaN and infinities.

``assert_equivalent`` compares a plan with the reference pass by the tests' own comparison
(``assert_close``), not by the library's verification code.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nngraph
from nngraph import LayerRecord, Neuron
from nngraph.execute.compiled import run_plan

# neat_inv (1 / z) is left out: near z = 0 it turns the rounding of a different summation order
# into any difference at all (tests/test_native.py checks it on exact sums).
NEAT = ("neat_sigmoid", "neat_tanh", "neat_sin", "neat_gauss", "neat_softplus", "neat_clamped", "neat_log",
        "neat_exp", "neat_abs", "neat_hat", "neat_square", "neat_cube")
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "leaky_relu(alpha=0.1)", "elu", "selu",
               "softplus", "softsign", "gelu", "swish", "hard_sigmoid", *NEAT)
AGGREGATIONS = ("sum", "product", "max", "min", "maxabs", "mean", "median")
WIRINGS = ("full", "full", "skip", "pruned", "random")
TIES = ("t0", "t1", "t2")  # names of tied numbers: one name is one number, on connections or biases
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
unit = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
non_finite = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def networks(draw: st.DrawFn, *, max_layers: int = 6, max_width: int = 5, max_inputs: int = 5,
             activations: tuple[str, ...] = ACTIVATIONS,
             aggregations: tuple[str, ...] = AGGREGATIONS) -> nx.DiGraph:
    """A random valid network (see the module doc), its activations (softmax apart) and aggregations
    drawn from ``activations`` and ``aggregations``."""
    inputs = [f"x{i}" for i in range(draw(st.integers(1, max_inputs)))]
    layers: list[list[Hashable]] = [inputs]
    neurons = [Neuron(node, role="input") for node in inputs]
    edges: list[tuple[Hashable, Hashable]] = []
    records: list[LayerRecord] = []
    tied = {name: draw(unit) for name in TIES}
    ties = draw(st.booleans())
    n_layers = draw(st.integers(1, max_layers))
    for k in range(1, n_layers + 1):
        width = draw(st.integers(1, max_width))
        softmax = width > 1 and draw(st.integers(0, 3)) == 0
        shared = draw(st.sampled_from(activations))
        mixed = draw(st.booleans())
        aggregation = draw(st.sampled_from(aggregations + ("mixed", "sum", "sum")))
        named = softmax or draw(st.booleans())
        wiring = draw(st.sampled_from(WIRINGS))
        earlier = [node for layer in layers for node in layer]
        layer = []
        for j in range(width):
            node = f"n{k}_{j}"
            activation = "softmax" if softmax else draw(st.sampled_from(activations)) if mixed else shared
            last = k == n_layers
            role = "output" if last or draw(st.integers(0, 5)) == 0 else "hidden"
            bias_param = draw(st.sampled_from((None, None, *TIES))) if ties else None
            neurons.append(Neuron(
                node, role=role, bias=draw(unit) if bias_param is None else tied[bias_param],
                activation=activation, layer=f"layer{k}" if named else None, bias_param=bias_param,
                aggregation=draw(st.sampled_from(aggregations)) if aggregation == "mixed" else aggregation))
            edges += [(source, node) for source in _sources(draw, wiring, layers, earlier)]
            layer.append(node)
        layers.append(layer)
        if named:
            records.append(LayerRecord(f"layer{k}", "Neurons", {"wiring": wiring}, (None, len(earlier)),
                                       (None, width), tuple(layer)))
    G = nngraph.new_network()
    for neuron in draw(st.permutations(neurons)):
        nngraph.add_neuron(G, neuron)
    for source, target in draw(st.permutations(edges)):
        param = draw(st.sampled_from((None, None, *TIES))) if ties else None
        nngraph.connect(G, source, target, draw(unit) if param is None else tied[param], param=param)
    for record in records:
        nngraph.add_layer(G, record)
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
def networks_and_batches(draw: st.DrawFn, *, max_batch: int = 4,
                         **kinds: tuple[str, ...]) -> tuple[nx.DiGraph, np.ndarray]:
    """A random network (``networks(**kinds)``: its activations and aggregations) and a batch of
    inputs for it, shape ``(batch, n_inputs)``; one batch in three may hold NaN, inf and -inf among
    its numbers."""
    G = draw(networks(**kinds))
    batch = draw(st.integers(1, max_batch))
    elements = st.one_of(unit, non_finite) if draw(st.integers(0, 2)) == 0 else unit
    x = draw(hnp.arrays(np.float64, (batch, len(nngraph.inputs(G))), elements=elements))
    return G, x


def assert_close(got: np.ndarray, expected: np.ndarray, *, rtol: float, what: str,
                 names: list[Hashable] | None = None, explained: np.ndarray | float = 0.0) -> None:
    """Assert that ``got`` equals ``expected`` within ``rtol`` relative, plus an absolute slack of
    ``rtol`` times the largest finite magnitude of ``expected`` (at least 1), for the cancellation a
    different summation order may expose, plus ``explained`` (what an earlier difference, within
    tolerance, accounts for: ``_explained``). NaN equals NaN only; an infinity equals itself only.
    Columns are named by ``names`` in the message."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    finite = np.isfinite(expected)
    slack = rtol * max(1.0, float(np.abs(expected[finite]).max(initial=0.0)))
    with np.errstate(invalid="ignore"):  # inf - inf
        close = finite & (np.abs(got - expected) <= rtol * np.abs(expected) + slack + explained)
    same = (np.isnan(got) & np.isnan(expected)) | (np.isinf(expected) & (got == expected))
    bad = np.argwhere(~(close | same))
    if len(bad):
        sample, column = bad[0] if got.ndim == 2 else (0, bad[0][0])
        name = names[column] if names is not None else column
        assert False, (f"{what} of {name!r}, sample {sample}: got {got.reshape(-1, got.shape[-1])[sample, column]!r}, "
                       f"the reference says {expected.reshape(-1, got.shape[-1])[sample, column]!r}")


def assert_equivalent(plan: nngraph.CompiledPlan, G: nx.DiGraph, x: object) -> None:
    """Assert that ``plan`` agrees with ``run_reference(G, x)``: every neuron's weighted sum and
    value in the trace, and the outputs of ``plan(x)`` through every runner the plan has.

    The tolerance is ``RTOL``: 1e-12 relative for float64 and 1e-5 for float32, plus a tiny
    absolute slack (see ``assert_close``). NaN agrees with NaN only: a NaN on one side and a
    number on the other is a difference; infinities must match in sign.
    """
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf inputs are meant to propagate
        _assert_equivalent(plan, G, x)


def _assert_equivalent(plan: nngraph.CompiledPlan, G: nx.DiGraph, x: object) -> None:
    reference = nngraph.run_reference(G, x, dtype=plan.dtype)
    rtol = RTOL[plan.dtype]
    trace = plan.trace(x)
    names = list(reference.columns)
    assert sorted(map(repr, trace.columns)) == sorted(map(repr, names)), "the plan's neurons are not the network's"
    mine = [trace.columns[node] for node in names]
    theirs = [reference.columns[node] for node in names]
    expected_sums = reference.weighted_sums[:, theirs]
    assert_close(trace.weighted_sums[:, mine], expected_sums, rtol=rtol, what="trace: weighted sum", names=names)
    explained = _explained(G, names, expected_sums, rtol)
    assert_close(trace.values[:, mine], reference.values[:, theirs], rtol=rtol, what="trace: value",
                 names=names, explained=explained)
    outputs = list(reference.output_nodes)
    explained_outputs = explained[:, [names.index(node) for node in outputs]]
    for runner in plan.program.runners:
        got = np.asarray(run_plan(plan, x, runner=runner)).reshape(-1, len(outputs))
        assert_close(got, reference.outputs, rtol=rtol, what=f"runner {runner}: output", names=outputs,
                     explained=explained_outputs)
    expected_shape = np.shape(reference.outputs[0]) if np.ndim(x) == 1 else reference.outputs.shape
    assert plan(x).shape == expected_shape
    assert plan(x).dtype == plan.dtype


def _explained(G: nx.DiGraph, names: list[Hashable], expected_sums: np.ndarray, rtol: float) -> np.ndarray:
    """How far each neuron's value may be from the reference's because its weighted sum may be (by
    ``rtol`` of the reference's sum, plus ``rtol``): how far its element-wise activation moves, in
    float64, over that interval around the reference's sum. An activation that magnifies
    differences (``neat_cube``'s ``z**3``, a large exp) turns two float32 sums a few units apart in
    their last place into values further apart than ``rtol``. Worked out from the reference alone,
    so neither a wrong activation nor a wrong weighted sum of the plan widens it. Zero for inputs
    and group-wise activations."""
    explained = np.zeros(np.shape(expected_sums))
    with np.errstate(all="ignore"):
        for column, node in enumerate(names):
            activation = G.nodes[node].get("activation")
            if activation is None or nngraph.resolve_activation(activation).group_wise:
                continue
            function = nngraph.resolve_activation(activation).function
            at = np.asarray(expected_sums[:, column], dtype=np.float64)
            step = rtol * (np.abs(at) + 1.0)
            explained[:, column] = np.maximum(np.abs(function(at + step) - function(at)),
                                              np.abs(function(at - step) - function(at)))
    return np.nan_to_num(explained, nan=0.0, posinf=0.0)


@st.composite
def populations(draw: st.DrawFn, *, max_members: int = 4) -> list[nx.DiGraph]:
    """1 to ``max_members`` random networks (``networks()``) padded to as many inputs and outputs:
    a member with fewer gets inputs that feed nothing and outputs that nothing feeds (their value is
    their activation of their bias), so members of different sizes and disconnected outputs meet."""
    members = draw(st.lists(networks(max_layers=4), min_size=1, max_size=max_members))
    n_inputs = max(len(nngraph.inputs(G)) for G in members)
    n_outputs = max(len(nngraph.outputs(G)) for G in members)
    for G in members:
        for i in range(len(nngraph.inputs(G)), n_inputs):
            nngraph.add_neuron(G, Neuron(f"unused{i}", role="input"))
        for i in range(len(nngraph.outputs(G)), n_outputs):
            nngraph.add_neuron(G, Neuron(f"alone{i}", role="output", bias=draw(unit),
                                         activation=draw(st.sampled_from(ACTIVATIONS))))
    return members
