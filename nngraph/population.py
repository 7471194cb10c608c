"""Many networks in one plan: a population (a generation of genomes) side by side over shared inputs.

Neuroevolution evaluates hundreds of small networks on the same samples. Compiled one by one, each
pays the fixed costs of a plan; side by side in one network they share them: one op computes the
neurons of one level and one activation across every member. The members keep their identity:
a member's neuron ``node`` is the neuron ``(key, node)`` of the population, so a trace reaches it
by name, and the outputs come out as ``(batch, n_networks, n_outputs)``.

Members are matched input by input (the ``i``-th input of every member reads feature ``i``); the
shared inputs take the first member's input names. ``population_graph`` builds the population as
one networkx graph (for the reference pass, diagrams, files); ``compile_population`` compiles the
members straight from their arrays (``nngraph.compiler.arrays``, ``nngraph.compiler.lower_arrays``),
which costs per connection in numpy rather than per neuron in Python.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Union

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from nngraph.compiler.arrays import NetworkArrays, graph_arrays, object_array
from nngraph.compiler.lower_arrays import lower_arrays
from nngraph.core.dtypes import check_dtype
from nngraph.core.network import (BIAS_PARAM, DEFAULT_AGGREGATION, INPUT, LAYER, LAYERS, PARAM, ROLE, inputs,
                                  outputs)
from nngraph.core.validate import validate
from nngraph.errors import ArgumentError, NetworkError, PopulationError
from nngraph.execute.compiled import CompiledPlan, compile_plan
from nngraph.execute.trace import Trace

Networks = Union[Mapping[Hashable, nx.DiGraph], Iterable[nx.DiGraph],
                 Iterable[tuple[Hashable, nx.DiGraph]]]


def members(networks: Networks) -> list[tuple[Hashable, nx.DiGraph]]:
    """The ``(key, network)`` pairs of ``networks``: a mapping key -> network, a sequence of
    networks (keys 0, 1, ...), or a sequence of ``(key, network)`` pairs (as neat-python hands
    genomes to ``eval_genomes``). Raises ``PopulationError`` for no member or a key used twice.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> [key for key, _ in members([G, G])], [key for key, _ in members({"a": G})]
    ([0, 1], ['a'])
    """
    if isinstance(networks, nx.Graph):
        raise ArgumentError("networks must be several networks (a mapping key -> network, or a list), "
                            "got one networkx graph; wrap it in a list")
    if isinstance(networks, Mapping):
        pairs = list(networks.items())
    elif isinstance(networks, Iterable) and not isinstance(networks, (str, bytes)):
        items = list(networks)
        if all(isinstance(item, tuple) and len(item) == 2 for item in items):
            pairs = items
        else:
            pairs = list(enumerate(items))
    else:
        raise ArgumentError(f"networks must be a mapping key -> network or a list of networks, "
                            f"got {type(networks).__name__}")
    if not pairs:
        raise PopulationError("the population has no members; give at least one network")
    seen: set[Hashable] = set()
    for key, _ in pairs:
        try:
            if key in seen:
                raise PopulationError(f"key {key!r} names two members; every member needs its own key",
                                      member=key)
        except TypeError:
            raise PopulationError(f"member key {key!r} is not hashable; keys name neurons",
                                  member=key) from None
        seen.add(key)
    return pairs


def _check_members(pairs: list[tuple[Hashable, nx.DiGraph]]) -> tuple[int, int]:
    """Validate every member and check they have as many inputs and outputs as the first; return
    those counts."""
    counts = None
    for key, G in pairs:
        try:
            validate(G)
        except NetworkError as error:
            raise PopulationError(f"member {key!r}: {error}", member=key, node=error.node) from error
        mine = (len(inputs(G)), len(outputs(G)))
        if counts is None:
            counts, first = mine, key
        elif mine != counts:
            raise PopulationError(
                f"member {key!r} has {mine[0]} inputs and {mine[1]} outputs, member {first!r} has "
                f"{counts[0]} and {counts[1]}; members share their inputs and stack their outputs, "
                "so all need as many", member=key)
    return counts


def population_graph(networks: Networks) -> nx.DiGraph:
    """Put ``networks`` side by side in one network over shared inputs.

    A member's neuron ``node`` becomes ``(key, node)``; its ``i``-th input becomes the population's
    ``i``-th input, named as the first member's. Member ``key``'s layer names, tied numbers
    (``param``, ``bias_param``) and layer records ``name`` become ``f"{key}/{name}"``: they stay the
    member's own. The outputs are every member's, member by member.

    Parameters
    ----------
    networks : mapping key -> networkx.DiGraph, or a list of networks or of ``(key, network)`` pairs
        The members; each must follow the graph contract, with as many inputs and outputs as the others.

    Raises
    ------
    PopulationError
        No member, a key used twice, a member that breaks the contract or has another number of
        inputs or outputs, or two neurons that would get one name; the message names the member.

    Examples
    --------
    >>> import nngraph
    >>> def network(weight):
    ...     G = nx.DiGraph()
    ...     G.add_node("x", role="input"); G.add_node("y", role="output", activation="relu")
    ...     G.add_edge("x", "y", weight=weight)
    ...     return G
    >>> P = population_graph({"a": network(1.0), "b": network(-1.0)})
    >>> list(P.nodes)
    ['x', ('a', 'y'), ('b', 'y')]
    >>> nngraph.run_reference(P, [2.0]).outputs
    array([[2., 0.]])
    """
    pairs = members(networks)
    _check_members(pairs)
    shared = inputs(pairs[0][1])
    P = nx.DiGraph()
    P.add_nodes_from(shared, role=INPUT)
    names = _MemberNames()
    for key, G in pairs:
        rename = dict(zip(inputs(G), shared))
        for node, data in G.nodes(data=True):
            if data[ROLE] == INPUT:
                continue
            name = (key, node)
            if name in P:
                raise PopulationError(f"member {key!r}: neuron {node!r} would be named {name!r}, which "
                                      "is the name of a shared input; rename that input", member=key,
                                      node=node)
            attributes = dict(data)
            for field, what in ((LAYER, "layer"), (BIAS_PARAM, "tied number")):
                if attributes.get(field) is not None:
                    attributes[field] = names.of(key, data[field], what)
            P.add_node(name, **attributes)
        edges = []
        for u, v, data in G.edges(data=True):
            attributes = dict(data)
            if attributes.get(PARAM) is not None:
                attributes[PARAM] = names.of(key, data[PARAM], "tied number")
            edges.append((rename.get(u, (key, u)), rename.get(v, (key, v)), attributes))
        P.add_edges_from(edges)
        for record in G.graph.get(LAYERS, ()):
            P.graph.setdefault(LAYERS, []).append(
                {**record, "name": names.of(key, record["name"], "layer record"),
                 "neurons": [(key, node) for node in record["neurons"]]})
    return P


class _MemberNames:
    """The population's names for the members' layers and tied numbers: ``f"{key}/{name}"``, each
    checked to name one member's one thing (a name is per member: two members' ``k`` are not tied)."""

    def __init__(self) -> None:
        self._owner: dict[tuple[str, str], tuple[Hashable, str]] = {}

    def of(self, key: Hashable, name: str, what: str) -> str:
        renamed = f"{key}/{name}"
        owner = self._owner.setdefault((what, renamed), (key, name))
        if owner != (key, name):
            raise PopulationError(f"member {key!r}: {what} {name!r} would be named {renamed!r}, as {what} "
                                  f"{owner[1]!r} of member {owner[0]!r} is; rename one of them", member=key)
        return renamed


def population_arrays(pairs: list[tuple[Hashable, NetworkArrays]]) -> NetworkArrays:
    """The members' arrays as one network: shared inputs (the first member's), then each member's
    other neurons, named ``(key, node)``; activation codes and layers renumbered across members.

    Every member must have as many inputs as the first (callers check it).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", activation="tanh")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> network = population_arrays([("a", graph_arrays(G)), ("b", graph_arrays(G))])
    >>> network.nodes.tolist(), network.sources.tolist(), network.targets.tolist()
    (['x', ('a', 'y'), ('b', 'y')], [0, 0], [1, 2])
    """
    n_inputs = pairs[0][1].n_inputs
    shared = pairs[0][1].nodes[:n_inputs].tolist()
    _check_names(pairs, shared)
    names: dict[str, int] = {}
    aggregations: dict[str, int] = {}
    fields = ("sources", "targets", "weights", "bias", "activation", "layer", "aggregation", "outputs")
    parts: dict[str, list[np.ndarray]] = {field: [] for field in fields}
    nodes: list[Hashable] = list(shared)
    offset = n_inputs
    layers = 0
    for key, member in pairs:
        shift = offset - n_inputs  # a member's neuron i (not an input) is the population's i + shift
        nodes += [(key, node) for node in member.nodes[n_inputs:].tolist()]
        codes = np.array([names.setdefault(name, len(names)) for name in member.activations], dtype=np.int64)
        for field, array in (("sources", member.sources), ("targets", member.targets),
                             ("outputs", member.outputs)):
            parts[field].append(np.where(array < n_inputs, array, array + shift))
        parts["weights"].append(member.weights)
        parts["bias"].append(member.bias[n_inputs:])
        parts["activation"].append(codes[member.activation[n_inputs:]])
        if member.aggregation is None:
            summed = aggregations.setdefault(DEFAULT_AGGREGATION, len(aggregations))
            parts["aggregation"].append(np.full(member.n_neurons - n_inputs, summed))
        else:
            table = np.array([aggregations.setdefault(name, len(aggregations))
                              for name in member.aggregations])
            parts["aggregation"].append(table[member.aggregation[n_inputs:]])
        layer = np.full(member.n_neurons - n_inputs, -1) if member.layer is None else member.layer[n_inputs:]
        parts["layer"].append(np.where(layer >= 0, layer + layers, -1))
        layers += 0 if member.layer is None else int(member.layer.max()) + 1
        offset += member.n_neurons - n_inputs
    head = {"bias": np.zeros(n_inputs), "activation": np.full(n_inputs, -1), "layer": np.full(n_inputs, -1),
            "aggregation": np.full(n_inputs, -1)}
    joined = {field: np.concatenate(([head[field]] if field in head else []) + arrays)
              for field, arrays in parts.items()}
    return NetworkArrays(nodes=object_array(nodes), n_inputs=n_inputs, outputs=joined["outputs"],
                         sources=joined["sources"], targets=joined["targets"], weights=joined["weights"],
                         bias=joined["bias"], activation=joined["activation"], activations=tuple(names),
                         layer=joined["layer"] if layers else None,
                         aggregation=joined["aggregation"] if set(aggregations) - {DEFAULT_AGGREGATION} else None,
                         aggregations=tuple(aggregations))


def _check_names(pairs: list[tuple[Hashable, NetworkArrays]], shared: list[Hashable]) -> None:
    """Refuse a member's neuron whose population name ``(key, node)`` is a shared input's name."""
    taken = {name for name in shared if isinstance(name, tuple) and len(name) == 2}
    for key, member in pairs:
        clash = [node for node in member.nodes[member.n_inputs:].tolist() if (key, node) in taken]
        if clash:
            raise PopulationError(f"member {key!r}: neuron {clash[0]!r} would be named {(key, clash[0])!r}, "
                                  "which is the name of a shared input; rename that input", member=key,
                                  node=clash[0])


@dataclass(frozen=True, eq=False, repr=False)
class PopulationPlan:
    """A compiled population: ``pop(x)`` gives every member's outputs, ``(batch, n_networks, n_outputs)``.

    Fields: ``plan`` (the ``CompiledPlan`` of the whole population; its outputs are the members'
    outputs, member by member), ``keys`` (the members, in the order of the second axis).
    ``trace(x)`` reaches member ``key``'s neuron ``node`` as ``(key, node)``. Pickles with the
    standard ``pickle``, as a compiled plan does. Make one with ``compile_population``.
    """

    plan: CompiledPlan
    keys: tuple[Hashable, ...]

    @property
    def n_outputs(self) -> int:
        """How many outputs each member has."""
        return len(self.plan.outputs) // len(self.keys)

    @property
    def dtype(self) -> np.dtype:
        """The precision the plan computes in."""
        return self.plan.dtype

    @property
    def inputs(self) -> tuple[Hashable, ...]:
        """The shared inputs, in the order of the input features."""
        return self.plan.inputs

    def __call__(self, x: ArrayLike) -> np.ndarray:
        """Every member's outputs for ``x``: ``(batch, n_networks, n_outputs)``, or
        ``(n_networks, n_outputs)`` for one sample ``(n_inputs,)``."""
        outputs = self.plan(x)
        return outputs.reshape(outputs.shape[:-1] + (len(self.keys), self.n_outputs))

    def outputs_by_member(self, x: ArrayLike) -> dict[Hashable, np.ndarray]:
        """Every member's outputs for ``x`` by key: ``{key: (batch, n_outputs) array}``."""
        outputs = self(np.atleast_2d(x)) if np.ndim(x) == 1 else self(x)
        return {key: outputs[:, i] for i, key in enumerate(self.keys)}

    def trace(self, x: ArrayLike) -> Trace:
        """Every neuron's weighted sum and value; member ``key``'s neuron ``node`` is ``(key, node)``."""
        return self.plan.trace(x)

    def __str__(self) -> str:
        return str(self.plan)

    def __repr__(self) -> str:
        return (f"<PopulationPlan: {len(self.keys)} networks, {len(self.plan.ops)} fused ops, "
                f"{len(self.plan.inputs)} inputs -> {self.n_outputs} outputs each, {self.dtype}>")


def compile_arrays(network: NetworkArrays, *, keys: tuple[Hashable, ...], dtype: DTypeLike = np.float64,
                   level: np.ndarray | None = None) -> PopulationPlan:
    """Compile a population already held as arrays (``population_arrays``) into a ``PopulationPlan``.

    ``level`` may pass in ``array_levels`` of the network.
    """
    plan = lower_arrays(network, dtype=check_dtype(dtype), level=level)
    return PopulationPlan(plan=compile_plan(plan), keys=keys)


def compile_population(networks: Networks, *, dtype: DTypeLike = np.float64) -> PopulationPlan:
    """Compile many networks into one plan whose outputs are ``(batch, n_networks, n_outputs)``.

    Computes what ``compile_network(population_graph(networks))`` computes, without building that
    graph: each member is read into arrays and the whole population lowered at once, one op per
    level across all members, each activation over its run of the op's neurons
    (``nngraph.compiler.lower_arrays``).

    Parameters
    ----------
    networks : mapping key -> networkx.DiGraph, or a list of networks or of ``(key, network)`` pairs
        The members (see ``population_graph``).
    dtype : float64 (default) or float32
        The precision the plan computes in.

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> nets = {seed: Sequential([Dense(units=3, input_shape=(4,), activation="tanh"),
    ...                           Dense(units=2, activation="softmax")], seed=seed).graph
    ...         for seed in range(5)}
    >>> pop = compile_population(nets)
    >>> pop([[0.1, 0.2, 0.3, 0.4]] * 7).shape
    (7, 5, 2)
    >>> sample = [0.1, 0.2, 0.3, 0.4]
    >>> bool(np.allclose(pop(sample)[3], nngraph.compile_network(nets[3])(sample)))
    True
    >>> trace = pop.trace([0.1, 0.2, 0.3, 0.4])
    >>> bool(np.isclose(trace.value((3, "dense_1/1"))[0], pop([0.1, 0.2, 0.3, 0.4])[3, 1]))  # by name
    True
    """
    pairs = members(networks)
    _check_members(pairs)
    network = population_arrays([(key, graph_arrays(G)) for key, G in pairs])
    return compile_arrays(network, keys=tuple(key for key, _ in pairs), dtype=dtype)
