"""neat-python genomes as nngraph networks: a whole generation of genomes compiled into one plan.

A drop-in for the evaluation loop of neat-python (the ``neat`` extra: ``pip install 'nngraph[neat]'``)::

    population.run(make_eval_genomes(inputs, targets, fitness), n_generations)

computes what ``FeedForwardNetwork.create(genome, config)`` then ``activate`` compute for each
genome, for every genome and every sample at once. The genes are read as neat-python 2.0 reads them:

- only enabled connections count, and only the neurons the outputs need
  (``neat.graphs.required_for_output``), each neuron's terms in the order of its genes;
- a neuron computes ``activation(bias + response * aggregation(weight * value, ...))``: the
  aggregation is one of neat-python's seven, which are nngraph's (``nngraph.core.aggregations``),
  the response is folded into the weights (``_with_response``), and the activation is
  neat-python's own function under the nngraph name of
  ``nngraph.core.neat_activations.NEAT_ACTIVATIONS`` (its sigmoid is ``1 / (1 + exp(-5 z))``).

Genome ``g``'s node ``k`` is the neuron ``(g, k)`` of the population; the inputs are neat-python's
input keys ``-1, -2, ...``. The whole population is read into arrays in one pass over the genes and
compiled by ``nngraph.compiler.lower_arrays``: the cost grows with the connections, in numpy.
neat-python is imported only when one of these functions is called.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import count
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from nngraph.compiler.arrays import NetworkArrays, array_levels, object_array, reaching
from nngraph.compiler.walks import compiled_walk
from nngraph.core.neat_activations import NEAT_ACTIVATIONS
from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, DEFAULT_AGGREGATION, HIDDEN, INPUT, OUTPUT,
                                  ROLE, WEIGHT)
from nngraph.errors import CycleError, NetworkError, UnknownActivationError
from nngraph.extras import import_extra
from nngraph.population import PopulationPlan, compile_arrays, members

AGGREGATIONS = ("sum", "product", "max", "min", "maxabs", "median", "mean")  # neat-python's, nngraph's


def _neat() -> Any:
    """The ``neat`` module, or ``ExtraMissingError`` saying how to install it."""
    return import_extra("neat", extra="neat", library="neat-python")


def genome_arrays(genomes: Iterable[tuple[Hashable, Any]] | Mapping[Hashable, Any],
                  config: Any) -> tuple[NetworkArrays, tuple[Hashable, ...], np.ndarray]:
    """The genomes as one population's arrays (see the module doc), their ids, and each neuron's level.

    Raises ``PopulationError`` for no genome or an id used twice, ``UnknownActivationError`` for an
    activation that is not one of neat-python's own, ``CycleError`` for a genome whose enabled
    connections form a cycle, and ``NetworkError`` for other genes nngraph cannot compute; each
    names the genome and the node.
    """
    neat = _neat()
    genome_config = config.genome_config

    def problem(kind: str, name: str) -> str | None:
        return _activation_problem(name, genome_config, neat) if kind == "activation" else \
            _aggregation_problem(name, genome_config, neat)

    return gene_arrays(members(genomes), input_keys=genome_config.input_keys,
                       output_keys=genome_config.output_keys, problem=problem)


def gene_arrays(pairs: list[tuple[Hashable, Any]], *, input_keys: Sequence[Hashable],
                output_keys: Sequence[Hashable],
                problem: Callable[[str, str], str | None]) -> tuple[NetworkArrays, tuple[Hashable, ...], np.ndarray]:
    """``genome_arrays`` of genomes given as ``(key, genome)`` pairs, read through their attributes
    alone (``genome.nodes``: key -> gene with ``key``, ``bias``, ``response``, ``activation``,
    ``aggregation``; ``genome.connections``: gene with ``key`` ``(source, target)``, ``weight``,
    ``enabled``), so that genes read from a file need no neat-python. ``problem(kind, name)`` says
    why an activation or aggregation name cannot be computed, or ``None``.
    """
    input_keys = list(input_keys)
    output_keys = list(output_keys)
    n_inputs = len(input_keys)
    # Neuron ``n_inputs + i`` is node ``node_keys[i]`` of gene ``genes[i]``: its name ``(genome key,
    # node key)`` is made for the neurons the outputs need alone. The connections are read in one
    # pass over their genes, the only step in Python per gene (they are Python objects); their
    # ends' keys are then numbered as neurons in one step (``_numbered``).
    node_keys: list[Hashable] = []
    genes: list[Any] = []
    sizes: list[int] = []
    ends: list[Hashable] = []  # source, target, source, target, ... of every enabled connection
    weights: list[float] = []
    stops: list[int] = []  # where each genome's ends stop
    for _, genome in pairs:
        node_keys += genome.nodes
        genes += genome.nodes.values()
        sizes.append(len(genome.nodes))
        for gene in genome.connections.values():
            if gene.enabled:
                source, target = gene.key
                ends.append(source)
                ends.append(target)
                weights.append(gene.weight)
        stops.append(len(ends))
    neurons, outputs = _numbered(pairs, input_keys, output_keys, node_keys, sizes, ends, stops)
    _check_inputs_take_nothing(neurons, n_inputs, pairs, ends, stops)
    weights_array = _reals(weights, lambda i: f"genome {pairs[int(np.searchsorted(stops, 2 * i, side='right'))][0]!r}: "
                                             f"the weight of connection {(ends[2 * i], ends[2 * i + 1])!r}")
    network = _pruned(input_keys, node_keys, outputs, neurons[:, 0], neurons[:, 1], weights_array, genes,
                      np.repeat(np.arange(len(pairs)), sizes), pairs, problem)
    level = array_levels(network.n_neurons, n_inputs, network.sources, network.targets, compiled=True)
    if np.any(level < 0):
        _raise_cycle(network, level, pairs)
    return network, tuple(key for key, _ in pairs), level


def _check_inputs_take_nothing(neurons: np.ndarray, n_inputs: int, pairs: list[tuple[Hashable, Any]],
                               ends: list[Hashable], stops: list[int]) -> None:
    """Refuse an enabled connection into an input (neat-python never makes one, and its network
    ignores one; a file's genome may hold one), naming the genome and the connection."""
    into_input = np.flatnonzero(neurons[:, 1] < n_inputs)
    if len(into_input):
        first = int(into_input[0])
        key = pairs[int(np.searchsorted(stops, 2 * first, side="right"))][0]
        edge = (ends[2 * first], ends[2 * first + 1])
        raise NetworkError(f"genome {key!r}: connection {edge!r} ends at input {edge[1]!r}, and an input "
                           "takes no connections; disable or remove that connection gene",
                           node=(key, edge[1]), edge=((key, edge[0]), (key, edge[1])))


def _numbered(pairs: list[tuple[Hashable, Any]], input_keys: list[Hashable], output_keys: list[Hashable],
              node_keys: list[Hashable], sizes: list[int], ends: list[Hashable],
              stops: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The connection ends ``(n, 2)`` and every genome's outputs as neurons: genome ``g`` (of
    ``sizes[g]`` nodes ``node_keys``, numbered after the inputs and the nodes of the genomes before
    it) has the ends ``ends`` up to ``stops[g]``; a key is its input or its node (the node where
    both have it). Int keys go through ``_numbered_by_table``, others (or where that one cannot)
    through ``_numbered_by_dict``, which raises ``NetworkError`` for a key that is neither."""
    found = _numbered_by_table(input_keys, output_keys, node_keys, sizes, ends, stops)
    return found if found is not None else _numbered_by_dict(pairs, input_keys, output_keys, sizes, ends, stops)


def _numbered_by_table(input_keys: list[Hashable], output_keys: list[Hashable], node_keys: list[Hashable],
                       sizes: list[int], ends: list[Hashable],
                       stops: list[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """``_numbered`` by a loop compiled by numba (``walks._numbered``) looking each int key up in a
    table: the dict lookups took half of reading a generation of 150 genomes (1.8 of 3.7 ms).
    ``None`` without numba, for a key that is not an int (``struct`` refuses it), keys too far apart
    for a table (``TABLE_LIMIT``, or far more than there are keys), or a key that is neither an input
    nor a node of its genome."""
    numbered = compiled_walk("numbered")
    if numbered is None:
        return None
    try:
        every = [_packed(keys, "q") for keys in (input_keys, output_keys, node_keys, ends)]
    except struct.error:
        return None
    low = min((int(keys.min()) for keys in every if len(keys)), default=0)
    span = max((int(keys.max()) for keys in every if len(keys)), default=0) - low + 1
    if span > min(TABLE_LIMIT, 8 * (len(ends) + len(node_keys)) + 1024):  # else filling it costs more than it saves
        return None
    inputs, outputs, nodes, ends_array = every
    neurons, output_neurons = numbered(inputs, nodes, np.array(sizes, dtype=np.int64), ends_array,
                                       np.array(stops, dtype=np.int64), outputs, low, span)
    if np.any(neurons < 0) or np.any(output_neurons < 0):
        return None
    return neurons.reshape(-1, 2), output_neurons


# The most entries (8 bytes each) of the table ``_numbered_by_table`` looks keys up in: the range
# from the lowest key to the highest. neat-python's keys are the inputs' -1, -2, ... and then a
# count of the nodes it has made, well within it.
TABLE_LIMIT = 2**20


def _numbered_by_dict(pairs: list[tuple[Hashable, Any]], input_keys: list[Hashable], output_keys: list[Hashable],
                      sizes: list[int], ends: list[Hashable], stops: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``_numbered`` by a dict per genome, of any keys. Raises ``NetworkError`` naming the genome
    and the first key (connection by connection, source first, then the outputs) that is neither
    an input nor one of its nodes."""
    n_inputs = len(input_keys)
    inputs = dict(zip(input_keys, range(n_inputs)))
    neurons: list[int] = []
    outputs: list[int] = []
    first, start = n_inputs, 0
    for (key, genome), size, stop in zip(pairs, sizes, stops):
        index = inputs.copy()
        index.update(zip(genome.nodes, count(first)))
        try:
            neurons += map(index.__getitem__, ends[start:stop])
            outputs += map(index.__getitem__, output_keys)
        except KeyError as error:
            raise NetworkError(f"genome {key!r}: a connection or output names node {error.args[0]!r}, "
                               "which the genome has no gene for", node=(key, error.args[0])) from None
        first, start = first + size, stop
    return _packed(neurons, "q").reshape(-1, 2), _packed(outputs, "q")


def _reals(values: list[Any], culprit: Callable[[int], str]) -> np.ndarray:
    """``values`` as float64 (``_packed``); ``NetworkError`` naming the gene of the first that is not
    a real number (``culprit(i)`` names the ``i``-th), found only once packing has failed."""
    try:
        return _packed(values, "d")
    except struct.error:
        first = next(i for i, value in enumerate(values) if not _is_real(value))
        raise NetworkError(f"{culprit(first)} is {values[first]!r}, which is not a real number") from None


def _is_real(value: Any) -> bool:
    try:
        struct.pack("d", value)
    except struct.error:
        return False
    return True


def _packed(values: list[Any], code: str) -> np.ndarray:
    """Python ints (``code`` ``"q"``) or floats (``"d"``) as a read-only int64 or float64 array:
    ``struct`` converts them in half the instructions ``np.fromiter`` takes or less (some 100 an
    int against 200, 45 a float against 100), which saves 15% of reading a generation of 150
    genomes (its 25,000 connection ends and 13,000 weights)."""
    return np.frombuffer(struct.pack(f"{len(values)}{code}", *values), dtype=np.int64 if code == "q" else np.float64)


def _pruned(input_keys: list[Hashable], node_keys: list[Hashable], outputs: np.ndarray, sources: np.ndarray,
            targets: np.ndarray, weights: np.ndarray, genes: list[Any], owner: np.ndarray,
            pairs: list[tuple[Hashable, Any]], problem: Callable[[str, str], str | None]) -> NetworkArrays:
    """The arrays of the neurons the outputs need (the inputs first), and of their connections:
    what ``neat.graphs.required_for_output`` keeps, the inputs and every node with a path to an output.
    Neuron ``len(input_keys) + i`` is genome ``pairs[owner[i]]``'s node ``node_keys[i]``, of gene ``genes[i]``."""
    n_inputs = len(input_keys)
    needed = reaching(n_inputs + len(node_keys), sources, targets, outputs, compiled=True)
    needed[:n_inputs] = True
    kept = np.flatnonzero(needed)
    renumber = np.cumsum(needed) - 1
    connections = needed[targets]
    sources, targets = renumber[sources[connections]], renumber[targets[connections]]
    weights = weights[connections]
    owner = owner[kept[n_inputs:] - n_inputs]
    places = (kept[n_inputs:] - n_inputs).tolist()
    kept_genes = list(map(genes.__getitem__, places))
    member_keys = [key for key, _ in pairs]
    nodes = object_array(input_keys + list(zip(map(member_keys.__getitem__, owner.tolist()),
                                               map(node_keys.__getitem__, places))))
    bias, response, activation_names, aggregation_names = [], [], [], []
    for gene in kept_genes:
        bias.append(gene.bias)
        response.append(gene.response)
        activation_names.append(gene.activation)
        aggregation_names.append(gene.aggregation)
    activation, activations = _codes(activation_names, "activation", owner, kept_genes, pairs, problem)
    aggregation, aggregations = _codes(aggregation_names, "aggregation", owner, kept_genes, pairs, problem)
    def culprit(what: str) -> Callable[[int], str]:
        return lambda i: (f"genome {pairs[int(owner[i - n_inputs])][0]!r}, node {kept_genes[i - n_inputs].key!r}: "
                          f"its {what}")

    bias = _reals([0.0] * n_inputs + bias, culprit("bias")).copy()  # _with_response may change it
    response = _reals([0.0] * n_inputs + response, culprit("response"))
    aggregation = np.concatenate([np.full(n_inputs, -1), aggregation])
    weights, aggregation, aggregations = _with_response(weights, targets, bias, response, aggregation,
                                                        aggregations)
    return NetworkArrays(nodes=nodes, n_inputs=n_inputs, outputs=renumber[outputs],
                         sources=sources, targets=targets, weights=weights, bias=bias,
                         activation=np.concatenate([np.full(n_inputs, -1), activation]),
                         activations=activations, aggregation=aggregation, aggregations=aggregations)


def _with_response(weights: np.ndarray, targets: np.ndarray, bias: np.ndarray, response: np.ndarray,
                   aggregation: np.ndarray,
                   aggregations: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Fold each neuron's response (``bias + response * AGG(terms)``) into its terms' weights.

    ``response * AGG(w x ...) = AGG(response * w x ...)`` for a sum, mean, median and maxabs, and
    for max and min when the response is not negative; a negative one turns max into min and min
    into max. A product takes the response in its first term alone, and a product of no terms (1)
    moves ``response - 1`` into the bias (``bias`` is changed in place). Returns the weights and the
    aggregation codes and names (``min`` and ``max`` added where a negative response needs them).
    """
    factor = response[targets]
    names = list(aggregations)
    if "product" in names:
        product = names.index("product")
        first = np.zeros(len(targets), dtype=bool)
        first[np.unique(targets, return_index=True)[1]] = True
        factor = np.where((aggregation[targets] == product) & ~first, 1.0, factor)
        alone = np.flatnonzero((aggregation == product) & (np.bincount(targets, minlength=len(bias)) == 0))
        bias[alone] += response[alone] - 1.0
    swapped = aggregation.copy()
    for name, other in (("max", "min"), ("min", "max")):
        if name in names:
            if other not in names:
                names.append(other)
            turned = (aggregation == names.index(name)) & (response < 0)
            swapped[turned] = names.index(other)
    return weights * factor, swapped, tuple(names)


def _codes(names: Sequence[str], kind: str, owner: np.ndarray, genes: Sequence[Any],
           pairs: list[tuple[Hashable, Any]],
           problem: Callable[[str, str], str | None]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each node's activation (or aggregation) as a code into the nngraph names it returns; a
    name whose function is not neat-python's own is refused, naming the genome and node."""
    distinct = list(dict.fromkeys(names))
    position = {name: code for code, name in enumerate(distinct)}
    codes = np.fromiter(map(position.__getitem__, names), dtype=np.int64, count=len(names))
    translated = []
    for code, name in enumerate(distinct):
        why = problem(kind, name)
        if why:
            at = int(np.flatnonzero(codes == code)[0])
            key = pairs[int(owner[at])][0]
            where = f"genome {key!r}, node {genes[at].key!r}: {kind} {name!r} {why}"
            if kind == "activation":
                raise UnknownActivationError(where, activation=name, known=sorted(NEAT_ACTIVATIONS),
                                             node=(key, genes[at].key))
            raise NetworkError(where, node=(key, genes[at].key))
        translated.append(NEAT_ACTIVATIONS[name] if kind == "activation" else name)
    return codes, tuple(translated)


def _activation_problem(name: str, genome_config: Any, neat: Any) -> str | None:
    if name not in NEAT_ACTIVATIONS:
        return (f"is not one of neat-python's own activations ({', '.join(NEAT_ACTIVATIONS)}), "
                "which are those nngraph computes")
    if genome_config.activation_defs.get(name) is not getattr(neat.activations, f"{name}_activation"):
        return "is redefined in this config; nngraph computes neat-python's own function of that name"
    return None


def _aggregation_problem(name: str, genome_config: Any, neat: Any) -> str | None:
    if name not in AGGREGATIONS:
        return f"is not one nngraph computes (known: {', '.join(AGGREGATIONS)})"
    own = getattr(neat.aggregations, f"{name}_aggregation")
    if genome_config.aggregation_function_defs.get(name) is not own:
        return "is redefined in this config; nngraph computes neat-python's own function of that name"
    return None


def _raise_cycle(network: NetworkArrays, level: np.ndarray, pairs: list[tuple[Hashable, Any]]) -> None:
    """Raise ``CycleError`` naming the first genome whose enabled connections form a cycle."""
    stuck = int(np.flatnonzero(level < 0)[0])
    key = network.nodes[stuck][0]
    on_cycle = level < 0
    mask = on_cycle[network.sources] & on_cycle[network.targets]
    graph = nx.DiGraph((network.nodes[u][1], network.nodes[v][1])
                       for u, v in zip(network.sources[mask].tolist(), network.targets[mask].tolist())
                       if network.nodes[u][0] == key)
    cycle = [(u, v) for u, v, *_ in nx.find_cycle(graph)]
    path = " -> ".join(repr(u) for u, _ in cycle) + f" -> {cycle[0][0]!r}"
    raise CycleError(f"genome {key!r}: its enabled connections form a cycle: {path}; a feed-forward "
                     "network must be a DAG (feed_forward = True in the config)", cycle=cycle)


def compile_genomes(genomes: Iterable[tuple[Hashable, Any]] | Mapping[Hashable, Any], config: Any, *,
                    dtype: DTypeLike = np.float64) -> PopulationPlan:
    """Compile neat-python genomes into one ``PopulationPlan`` (see the module doc).

    ``pop(x)`` is ``(batch, n_genomes, n_outputs)``, in the order of ``genomes``; ``pop.trace(x)``
    reaches genome ``g``'s node ``k`` as ``(g, k)``.

    Examples
    --------
    >>> import neat, pathlib, nngraph
    >>> path = pathlib.Path(nngraph.__file__).parents[1] / "examples" / "neat_xor.cfg"
    >>> config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
    ...                      neat.DefaultStagnation, str(path))
    >>> population = neat.Population(config, seed=1)
    >>> pop = compile_genomes(population.population.items(), config)
    >>> pop([[0.0, 1.0], [1.0, 1.0]]).shape
    (2, 150, 1)
    """
    network, keys, level = genome_arrays(genomes, config)
    return compile_arrays(network, keys=keys, dtype=dtype, level=level)


def evaluate_genomes(genomes: Iterable[tuple[Hashable, Any]] | Mapping[Hashable, Any], config: Any,
                     inputs: ArrayLike, *, dtype: DTypeLike = np.float64) -> dict[Hashable, np.ndarray]:
    """Every genome's outputs for ``inputs``, as ``FeedForwardNetwork.activate`` gives them.

    Parameters
    ----------
    genomes : the ``(genome_id, genome)`` pairs neat-python hands to ``eval_genomes`` (or a mapping)
    config : the ``neat.Config`` they were made with
    inputs : ``(batch, n_inputs)`` samples (or one sample ``(n_inputs,)``)
    dtype : float64 (default) or float32

    Returns
    -------
    dict
        ``{genome_id: outputs}``, each ``(batch, n_outputs)`` (``(n_outputs,)`` for one sample).

    Examples
    --------
    >>> import neat, pathlib, nngraph
    >>> path = pathlib.Path(nngraph.__file__).parents[1] / "examples" / "neat_xor.cfg"
    >>> config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
    ...                      neat.DefaultStagnation, str(path))
    >>> genomes = list(neat.Population(config, seed=1).population.items())
    >>> outputs = evaluate_genomes(genomes, config, [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> genome_id, genome = genomes[0]
    >>> network = neat.nn.FeedForwardNetwork.create(genome, config)
    >>> bool(np.allclose(outputs[genome_id][:, 0], [network.activate(x)[0] for x in
    ...                  [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]], rtol=1e-12))
    True
    """
    pop = compile_genomes(genomes, config, dtype=dtype)
    outputs = pop(inputs)
    return dict(zip(pop.keys, np.moveaxis(outputs, outputs.ndim - 2, 0)))  # views, one per genome


def make_eval_genomes(inputs: ArrayLike, targets: ArrayLike,
                      fitness: Callable[[np.ndarray, np.ndarray], float], *,
                      dtype: DTypeLike = np.float64) -> Callable[[Any, Any], None]:
    """An ``eval_genomes(genomes, config)`` for ``neat.Population.run``: it evaluates the whole
    generation at once on ``inputs`` and sets each genome's ``fitness`` to
    ``fitness(outputs, targets)``, ``outputs`` being that genome's ``(batch, n_outputs)`` array.

    Examples
    --------
    >>> import neat, pathlib, nngraph
    >>> path = pathlib.Path(nngraph.__file__).parents[1] / "examples" / "neat_xor.cfg"
    >>> config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
    ...                      neat.DefaultStagnation, str(path))
    >>> x, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [[0.0], [1.0], [1.0], [0.0]]
    >>> eval_genomes = make_eval_genomes(x, y, lambda out, target: 4.0 - float(np.sum((out - target) ** 2)))
    >>> population = neat.Population(config, seed=1)
    >>> eval_genomes(list(population.population.items()), config)
    >>> all(genome.fitness <= 4.0 for genome in population.population.values())
    True
    """
    batch = np.asarray(inputs, dtype=dtype)
    expected = np.asarray(targets, dtype=dtype)

    def eval_genomes(genomes: Any, config: Any) -> None:
        pairs = members(genomes)
        outputs = evaluate_genomes(pairs, config, batch, dtype=dtype)
        for key, genome in pairs:
            genome.fitness = float(fitness(outputs[key], expected))

    return eval_genomes


def from_neat(genome: Any, config: Any) -> nx.DiGraph:
    """One genome as an nngraph network: the neurons the outputs need, named by their node keys.

    Inputs are ``-1, -2, ...`` and outputs ``0, 1, ...``, as in neat-python; weights (and, for a
    product of no terms, the bias) already carry the response of their target. Its connections are
    added neuron by neuron in the order of the genes, which is the order of each neuron's terms.
    For the reference pass, diagrams, files.

    Examples
    --------
    >>> import neat, pathlib, nngraph
    >>> path = pathlib.Path(nngraph.__file__).parents[1] / "examples" / "neat_xor.cfg"
    >>> config = neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
    ...                      neat.DefaultStagnation, str(path))
    >>> genome = next(iter(neat.Population(config, seed=1).population.values()))
    >>> G = from_neat(genome, config)
    >>> nngraph.inputs(G), nngraph.outputs(G), G.nodes[0]["activation"]
    ([-1, -2], [0], 'neat_sigmoid')
    """
    network, _, _ = genome_arrays([(None, genome)], config)
    return network_graph(network)


def network_graph(network: NetworkArrays) -> nx.DiGraph:
    """The network of one genome's arrays (``gene_arrays`` of one pair), its nodes named by their
    keys: the inputs, then the outputs in output order, then the hidden neurons in gene order."""
    names = [node if i < network.n_inputs else node[1] for i, node in enumerate(network.nodes.tolist())]
    is_output = np.zeros(network.n_neurons, dtype=bool)
    is_output[network.outputs] = True
    G = nx.DiGraph()
    G.add_nodes_from(names[:network.n_inputs], **{ROLE: INPUT})
    # Outputs first, in output order: a network's outputs are its output neurons in insertion order.
    hidden = network.n_inputs + np.flatnonzero(~is_output[network.n_inputs:])
    for i in network.outputs.tolist() + hidden.tolist():
        attributes = {ROLE: OUTPUT if is_output[i] else HIDDEN, BIAS: float(network.bias[i]),
                      ACTIVATION: network.activations[network.activation[i]]}
        if network.aggregations[network.aggregation[i]] != DEFAULT_AGGREGATION:
            attributes[AGGREGATION] = network.aggregations[network.aggregation[i]]
        G.add_node(names[i], **attributes)
    G.add_edges_from((names[u], names[v], {WEIGHT: w}) for u, v, w in
                     zip(network.sources.tolist(), network.targets.tolist(), network.weights.tolist()))
    return G
