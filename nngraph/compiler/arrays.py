"""A network as flat numpy arrays, and the graph algorithms the array path runs on them.

The graph path of the compiler (schedule -> groups -> lower) reads a networkx graph neuron by
neuron. The array path holds a network as arrays instead: one entry per connection (source, target,
weight) and one per neuron (bias, activation, aggregation), in ``NetworkArrays``. Many networks side
by side (a population, ``nngraph.population``) are one such network, and ``lower_arrays``
(``nngraph.compiler.lower_arrays``) compiles it in numpy calls. Here: the arrays, reading a graph
into them (``graph_arrays``), and the algorithms over them, each a few numpy calls per frontier and
each connection visited once: ``array_levels`` (longest paths, Kahn's algorithm; numba's loop once
nngraph has had numba compile, else on small networks a Python loop over the connections, cheaper
than the numpy calls of their many frontiers) and ``reaching`` (which neurons reach given ones).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import networkx as nx
import numpy as np

from nngraph.core.network import DEFAULT_AGGREGATION
from nngraph.core.validate import GraphRead, read_graph


@dataclass(frozen=True, eq=False)
class NetworkArrays:
    """A network as flat arrays: what ``lower_arrays`` compiles.

    Fields
    ------
    nodes : object array of the neuron ids; the first ``n_inputs`` are the inputs, in input order.
        Neuron ``i`` of every other field is ``nodes[i]``.
    n_inputs : how many inputs.
    outputs : int array, the output neurons (indices into ``nodes``) in output order.
    sources, targets, weights : one entry per connection ``sources[k] -> targets[k]``, no pair twice.
    bias : float array, one per neuron (ignored for inputs).
    activation : int array, one per neuron: an index into ``activations`` (ignored for inputs).
    activations : canonical activation names (``resolve_activation(...).name``).
    layer : for neurons with a group-wise activation (softmax), an int naming the layer they are
        normalised over (-1 elsewhere); ``None`` when there is none.
    aggregation : int array, one per neuron: an index into ``aggregations``; ``None`` when every
        neuron sums. A neuron's connections keep their order in the connection arrays: it is the
        order of its terms (which decides ``maxabs`` between terms of equal magnitude).
    aggregations : aggregation names (``nngraph.core.aggregations``).
    """

    nodes: np.ndarray
    n_inputs: int
    outputs: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    activation: np.ndarray
    activations: tuple[str, ...]
    layer: np.ndarray | None = None
    aggregation: np.ndarray | None = None
    aggregations: tuple[str, ...] = ()

    @property
    def n_neurons(self) -> int:
        """How many neurons, inputs included."""
        return len(self.nodes)

    def summed(self) -> np.ndarray:
        """Whether each neuron's aggregation is a sum (a boolean array)."""
        if self.aggregation is None:
            return np.ones(self.n_neurons, dtype=bool)
        codes = np.array([name == DEFAULT_AGGREGATION for name in self.aggregations] + [True])
        return codes[self.aggregation]  # code -1 (an input) reads the last entry


def object_array(items: Sequence[Hashable]) -> np.ndarray:
    """A 1-d object array of ``items``, tuples kept whole (``np.array`` would make them rows).

    Examples
    --------
    >>> object_array([("a", 0), ("b", 1)]).shape
    (2,)
    """
    return np.fromiter(items, dtype=object, count=len(items))


def graph_arrays(G: nx.DiGraph, *, read: GraphRead | None = None) -> NetworkArrays:
    """The validated network ``G`` as arrays: inputs first, then the other neurons in ``G``'s
    order; each neuron's connections in the order of its predecessors. ``read``: this ``G`` as
    ``validate_parts`` read it (by default it is read here), so that it is read once; a read of
    another graph is not detected.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", bias=0.5, activation="tanh")
    >>> G.add_edge("x", "y", weight=2.0)
    >>> network = graph_arrays(G)
    >>> network.nodes.tolist(), network.weights.tolist(), network.activations
    (['x', 'y'], [2.0], ('tanh',))
    """
    if read is None:
        read = read_graph(G)
    # Few numpy calls (one per array): between the other stages of a compile, each costs several
    # microseconds more than the few hundred values it converts.
    input_nodes, computed = read.inputs, read.computed
    n_inputs, n = len(input_nodes), len(input_nodes) + len(computed)
    nodes = input_nodes + computed
    index = dict(G._node)  # every neuron as a key, its hash table copied whole: a quarter less than dict(zip(...))
    index.update(zip(nodes, range(n)))
    found = read.weights()
    sources = np.fromiter(map(index.__getitem__, chain.from_iterable(read.predecessors)), dtype=np.int64,
                          count=len(found))
    weights = np.fromiter(found, dtype=np.float64, count=len(found))  # a quarter less than np.array's
    # np.repeat would convert a list of the counts at twice the cost
    counts = np.fromiter(map(len, read.predecessors), dtype=np.int64, count=len(computed))
    targets = np.repeat(np.arange(n_inputs, n), counts)
    # Each distinct activation is resolved once (by the read), each distinct activation and
    # aggregation name given a code, in order of first appearance.
    resolved = read.activations()
    names: dict[str, int] = {}
    code = {spec: names.setdefault(activation.name, len(names)) for spec, activation in resolved.items()}
    activation = np.fromiter(chain(repeat(-1, n_inputs), map(code.__getitem__, read.activation)), dtype=np.int64,
                             count=n)
    layer = None
    if any(item.group_wise for item in resolved.values()):
        layer = np.full(n, -1, dtype=np.int64)
        layers: dict[str, int] = {}
        for i, (spec, name) in enumerate(zip(read.activation, read.layer), start=n_inputs):
            if resolved[spec].group_wise:
                layer[i] = layers.setdefault(name, len(layers))
    aggregations = {name: i for i, name in enumerate(read.aggregations())}
    aggregation = None  # every neuron sums: no codes to keep
    if not set(aggregations) <= {DEFAULT_AGGREGATION}:
        aggregation = np.fromiter(chain(repeat(-1, n_inputs), map(aggregations.__getitem__, read.aggregation)),
                                  dtype=np.int64, count=n)
    return NetworkArrays(nodes=object_array(nodes), n_inputs=n_inputs,
                         outputs=np.fromiter(map(index.__getitem__, read.outputs), dtype=np.int64,
                                             count=len(read.outputs)),
                         sources=sources, targets=targets, weights=weights,
                         bias=np.fromiter(chain(repeat(0.0, n_inputs), read.bias), dtype=np.float64, count=n),
                         activation=activation, activations=tuple(names), layer=layer,
                         aggregation=aggregation, aggregations=tuple(aggregations))


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + counts[i] - 1``, for every ``i``, end to end.

    Examples
    --------
    >>> ranges(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    shift = starts - (np.cumsum(counts) - counts)
    return np.repeat(shift, counts) + np.arange(total)


def grouped(values: np.ndarray, n_values: int) -> np.ndarray:
    """The positions of ``values`` (ints from 0 to ``n_values - 1``) grouped by value, in their order
    within a group (numpy's stable sort): numpy's stable sort of 16-bit keys is a radix sort, linear
    (8,000 connections: 100 us against 235 for the other way); of more, the order of a key per
    position (value, then position), as numpy's default sort of unique keys takes a quarter of the
    time of its stable sort.

    Examples
    --------
    >>> grouped(np.array([2, 0, 2, 1]), 3).tolist()
    [1, 3, 0, 2]
    """
    if n_values <= 2**16:
        return np.argsort(values.astype(np.uint16), kind="stable")
    return np.argsort(values * len(values) + np.arange(len(values)))


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an int array, sorted (``np.unique`` without its fixed cost).

    Examples
    --------
    >>> distinct(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def reaching(n_neurons: int, sources: np.ndarray, targets: np.ndarray, seeds: np.ndarray, *,
             compiled: bool = False) -> np.ndarray:
    """Which neurons have a path to one of ``seeds`` (the seeds included): a boolean array, found one
    frontier at a time backwards over the connections, each visited once; ``compiled``: in a loop
    compiled by numba where it is installed (``nngraph.compiler.walks``).

    Examples
    --------
    >>> reaching(5, np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([2])).tolist()
    [True, True, True, False, False]
    """
    by_target = grouped(targets, n_neurons)  # the order within a group does not matter
    tails = sources[by_target]
    starts = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(targets, minlength=n_neurons), out=starts[1:])
    walk = _walk("reached") if compiled else None
    if walk is not None:
        return walk(starts, tails.astype(np.int64, copy=False), seeds.astype(np.int64, copy=False))
    found = np.zeros(n_neurons, dtype=bool)
    frontier = distinct(seeds)
    found[frontier] = True
    while frontier.size:
        reached = distinct(tails[ranges(starts[frontier], starts[frontier + 1] - starts[frontier])])
        frontier = reached[~found[reached]]
        found[frontier] = True
    return found


def array_levels(n_neurons: int, n_inputs: int, sources: np.ndarray, targets: np.ndarray, *,
                 unit: np.ndarray | None = None, compiled: bool | None = None) -> np.ndarray:
    """Each neuron's level: 0 for the inputs, else one more than its deepest predecessor (1 without
    any); -1 for a neuron on a cycle, or fed through one.

    ``unit`` (optional) maps each neuron to the neuron standing for its unit, itself if alone: the
    members of a unit share the deepest level any of them needs. Each connection is visited once;
    ``compiled``: in a loop compiled by numba where it is installed (``nngraph.compiler.walks``);
    by default where nngraph has had numba compile already (``native.numba_in_use``: the native
    kernel has run, or a population's walks): starting numba costs more than the walk saves, but
    once it runs, its loop is the cheapest at every size (a fifth to a tenth of the rounds in
    Python at 1e3 connections). ``sources`` and ``targets`` must be neuron numbers, from 0 to
    ``n_neurons - 1``, as the callers make them: numba's loop does not check them.

    Examples
    --------
    >>> array_levels(4, 1, np.array([0, 1, 0]), np.array([1, 2, 2])).tolist()  # neuron 3: no inputs
    [0, 1, 2, 1]
    >>> array_levels(3, 1, np.array([1, 2]), np.array([2, 1])).tolist()  # 1 and 2 feed each other
    [0, -1, -1]
    """
    if unit is not None:
        sources, targets = unit[sources], unit[targets]
    stands = np.ones(n_neurons, dtype=bool) if unit is None else unit == np.arange(n_neurons)
    if compiled is None:
        from nngraph.compiler.native import numba_in_use  # here: that module imports this one

        compiled = numba_in_use()
    walk = _walk("levels") if compiled else None
    if walk is not None:  # one call: it also groups the connections by source (a counting sort)
        level = walk(n_inputs, sources.astype(np.int64, copy=False), targets.astype(np.int64, copy=False),
                     stands)
        return level if unit is None else level[unit]
    indegree = np.bincount(targets, minlength=n_neurons)
    by_source = grouped(sources, n_neurons)  # any order within a group
    heads = targets[by_source]
    starts = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(sources, minlength=n_neurons), out=starts[1:])
    # Kahn's algorithm in rounds: round r takes every neuron whose predecessors are all taken, and
    # that is its level (one more than its deepest predecessor's), so no maximum is taken per
    # connection. The inputs are round 0; neurons without predecessors join in round 1, their level.
    parentless = np.flatnonzero((indegree == 0) & stands)
    parentless = parentless[parentless >= n_inputs]
    rounds = _rounds_in_python if len(sources) <= PYTHON_LEVELS_LIMIT else _rounds_in_numpy
    level = rounds(n_neurons, n_inputs, starts, heads, indegree, parentless)
    level[stands & (indegree > 0)] = -1  # on a cycle, or fed through one
    return level if unit is None else level[unit]


def _walk(name: str) -> Callable[..., np.ndarray] | None:
    """The compiled walk ``name`` of ``nngraph.compiler.walks``, or ``None`` without numba
    (imported here, when asked: that module imports the native kernel's)."""
    from nngraph.compiler.walks import compiled_walk

    return compiled_walk(name)


# Without numba's loop, up to this many connections ``array_levels`` takes its rounds in a Python
# loop over the connections: a round in numpy calls costs about twenty of them (some 25 µs), a connection in
# Python some 0.15 µs, and genomes have many levels of few neurons. At 1e3 connections the loop
# takes about a third of the time on NEAT-like genomes (18 levels: 182 µs against 503), half on a
# sparse DAG (12 levels: 171 against 350), three quarters on a dense network (3 levels: 91
# against 125); at 3e3 the two are about even, and beyond that numpy's rounds win. (Instruction
# counts put the even point lower on shallow networks: 1e3 for dense, 1.2e3 for sparse DAGs,
# 2.5e3 for NEAT-like genomes; 2048 is between, where the wall time of each is close to the other's.)
PYTHON_LEVELS_LIMIT = 2048


def _rounds_in_numpy(n_neurons: int, n_inputs: int, starts: np.ndarray, heads: np.ndarray,
                     indegree: np.ndarray, parentless: np.ndarray) -> np.ndarray:
    """``array_levels``' rounds, a few numpy calls each: the levels (-1 where never reached), and
    ``indegree`` left with each neuron's connections from neurons never reached."""
    level = np.full(n_neurons, -1, dtype=np.int64)
    frontier = np.arange(n_inputs)
    level[frontier] = 0
    depth = 0
    while frontier.size or depth == 0:
        starts_of = starts[frontier]
        reached = heads[ranges(starts_of, starts[frontier + 1] - starts_of)]
        np.subtract.at(indegree, reached, 1)
        depth += 1
        frontier = distinct(reached[indegree[reached] == 0])  # reached by its last connection now
        if depth == 1:
            frontier = np.concatenate([frontier, parentless])
        level[frontier] = depth
    return level


def _rounds_in_python(n_neurons: int, n_inputs: int, starts: np.ndarray, heads: np.ndarray,
                      indegree: np.ndarray, parentless: np.ndarray) -> np.ndarray:
    """``_rounds_in_numpy``, the rounds in a Python loop over the lists of the arrays (numba compiles
    its twin over arrays, ``nngraph.compiler.walks._levels``: keep the two in step)."""
    first, targets, waiting = starts.tolist(), heads.tolist(), indegree.tolist()
    level = [-1] * n_neurons
    level[:n_inputs] = [0] * n_inputs
    frontier = list(range(n_inputs))
    depth = 0
    while frontier or depth == 0:
        depth += 1
        taken = []
        for neuron in frontier:
            for target in targets[first[neuron]:first[neuron + 1]]:
                left = waiting[target] - 1  # one subscript fewer than -= and a test: 4-7% less
                waiting[target] = left
                if not left:  # reached by its last connection now
                    taken.append(target)
        # Those that went on below zero in this round (only where a cycle runs through an input)
        # are not taken, as in numpy's rounds.
        frontier = [target for target in taken if not waiting[target]]
        if depth == 1:
            frontier += parentless.tolist()
        for neuron in frontier:
            level[neuron] = depth
    indegree[:] = waiting
    return np.array(level, dtype=np.int64)
