"""The one boundary check: ``validate(G)`` enforces the graph contract and names the culprit.

Everything downstream (executors, compiler, renderers, files) may assume a
validated graph, so each rule lives here and nowhere else.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.activations import Activation, resolve_activation
from nngraph.core.aggregations import resolve_aggregation
from nngraph.core.dtypes import PLAIN_NUMBERS, all_finite
from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, BIAS_PARAM, DEFAULT_ACTIVATION,
                                  DEFAULT_AGGREGATION, DEFAULT_BIAS, HIDDEN, INPUT, LAYER, LAYER_RECORD_KEYS,
                                  LAYERS, OUTPUT, ROLE, ROLES, WEIGHT)
from nngraph.core.params import first_difference
from nngraph.errors import CycleError, NetworkError, NNGraphError, shown
from nngraph.names import quoted, unfaithful_character
from nngraph.core.structure import contract, levels


def validate(G: object) -> None:
    """Check that ``G`` follows the graph contract; raise a ``NetworkError`` naming the culprit.

    Checked: ``G`` is a ``networkx.DiGraph``; no neuron id or layer name holds NUL or a
    lone surrogate (``nngraph.names``); every node has a known ``role``;
    inputs have no incoming connections and none of a computed neuron's keys; every
    computed neuron has a finite ``bias``, a registered ``activation`` and
    ``aggregation`` and, for a group-wise activation (softmax), a ``layer``; every
    connection has a finite ``weight`` (weights and biases as ``number_problem``
    says); numbers tied by one name (``param``,
    ``bias_param``) are equal (the error names two that differ); the ``layers``
    records, if any, are well formed and list neurons of the network, each in one
    layer at most; there is no cycle (the error lists the cycle's edges); neurons of
    one softmax group do not feed each other; there is at least one input and
    one output. A neuron without incoming connections is legal, and so is a
    hidden neuron that reaches no output.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input")
    >>> G.add_node("y", role="output", activation="rleu")
    >>> G.add_edge("x", "y", weight=1.0)
    >>> validate(G)
    Traceback (most recent call last):
    ...
    nngraph.errors.UnknownActivationError: neuron 'y': unknown activation 'rleu'; ...
    """
    validate_parts(G)
    validate_paths(G)


def validate_paths(G: nx.DiGraph) -> dict[Hashable, int]:
    """The rest of ``validate`` after ``validate_parts``: no cycle, and no path joins two neurons of
    one softmax group. Returns ``levels(G)``, which the test for cycles computes anyway."""
    level = _check_acyclic(G)
    _check_groups(G, level=level)
    return level


@dataclass(eq=False)  # not frozen: a third of the cost of making one
class GraphRead:
    """A network as ``read_graph`` reads it: one pass over its neurons, one over its connections.

    ``validate_parts`` checks these lists, and the compiler's array path
    (``nngraph.compiler.arrays.graph_arrays``) lowers from them, so that the graph is read once.

    Fields
    ------
    inputs, outputs : the input and output neurons, in ``G``'s order (``network.inputs``, ``outputs``).
    computed : every other neuron, in ``G``'s order; the lists below hold one entry per computed neuron.
    bias, activation, aggregation, layer : their attributes as found (defaults filled in; ``layer``
        ``None`` where absent; aggregations and layers read neuron by neuron only where some neuron
        has the key).
    predecessors : their predecessor dicts (``G._pred[node]``), in the order the connections are read.
    input_attributes : the inputs' attribute dicts.
    unknown_role : the computed neurons whose role is neither ``output`` nor ``hidden`` (none in a
        valid network).
    bias_param : the computed neurons that carry a ``bias_param`` (the only ones the test of tied
        numbers need look at).
    plain_edges : whether the connections' attribute dicts are plain dicts (``G``'s
        ``edge_attr_dict_factory``), whose subscript cannot make a missing weight up (a
        ``defaultdict``'s would).

    Its fields are not to be reassigned once read: what it reads on demand (``weights``,
    ``activations``, ``aggregations``) is kept.
    """

    inputs: list[Hashable]
    outputs: list[Hashable]
    computed: list[Hashable]
    bias: list[object]
    activation: list[object]
    aggregation: list[object]
    layer: list[object]
    predecessors: list[Mapping[Hashable, dict]]
    input_attributes: list[dict]
    unknown_role: list[Hashable] = field(default_factory=list)
    bias_param: list[Hashable] = field(default_factory=list)
    plain_edges: bool = True

    _read: dict[object, Any] = field(default_factory=dict, init=False, repr=False)  # read once, on demand

    def weights(self, *, only_weight: bool = False) -> list[object]:
        """Every connection's weight as found (``None`` where absent), neuron by neuron in the order
        of its predecessors; with ``only_weight``, ``_MoreThanWeight`` stands for a connection that
        carries more than its weight. Each list is read once (later calls return it: not to be
        changed); where no connection carries more than its weight, validation makes the two one."""
        if only_weight not in self._read:
            found = None
            if self.plain_edges:
                try:  # a subscript: a tenth less than .get; KeyError where a connection has no weight
                    if only_weight:
                        found = [data[WEIGHT] if len(data) == 1 else _MoreThanWeight
                                 for pred in self.predecessors for data in pred.values()]
                    else:
                        found = [data[WEIGHT] for pred in self.predecessors for data in pred.values()]
                except KeyError:
                    pass
            if found is None:  # None stands for a missing weight (validation names the connection)
                found = [data.get(WEIGHT) if len(data) == 1 or not only_weight else _MoreThanWeight
                         for pred in self.predecessors for data in pred.values()]
            self._read[only_weight] = found
        return self._read[only_weight]

    def activations(self) -> dict[object, Activation]:
        """Each distinct activation as found, resolved, in order of first appearance; read once, for
        the check and the compiler (not to be changed). Raises as ``resolve_activation`` does, or
        ``TypeError`` for an unhashable one."""
        found = self._read.get("activations")
        if found is None:
            found = {spec: resolve_activation(spec) for spec in dict.fromkeys(self.activation)}
            self._read["activations"] = found
        return found

    def aggregations(self) -> dict[object, None]:
        """Each distinct aggregation as found (unchecked), in order of first appearance, as the keys of
        a dict; read once (not to be changed). Raises ``TypeError`` for an unhashable one."""
        found = self._read.get("aggregations")
        if found is None:
            found = self._read["aggregations"] = dict.fromkeys(self.aggregation)
        return found


def read_graph(G: nx.DiGraph) -> GraphRead:
    """``G``'s neurons and connections as lists (``GraphRead``), read once and not checked.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("y", role="output", activation="tanh")
    >>> G.add_edge("x", "y", weight=0.5)
    >>> read = read_graph(G)
    >>> read.inputs, read.computed, read.activation, read.weights()
    (['x'], ['y'], ['tanh'], [0.5])
    """
    # networkx's own algorithms read the node and adjacency dicts directly, as this does: the
    # public views cost about three times as much per neuron and connection. One loop fills the
    # lists every network has (a third less than a comprehension per list); the keys most networks
    # lack (aggregation, layer, bias_param) are looked for once, in every neuron's keys at once,
    # and read neuron by neuron only where some neuron has them.
    inputs: list[Hashable] = []
    outputs: list[Hashable] = []
    computed: list[Hashable] = []
    input_attributes: list[dict] = []
    bias: list[object] = []
    activation: list[object] = []
    unknown_role: list[Hashable] = []
    for node, data in G._node.items():
        role = data.get(ROLE)
        if role == INPUT:
            inputs.append(node)
            input_attributes.append(data)
            continue
        if role == OUTPUT:
            outputs.append(node)
        elif role != HIDDEN:  # one test here instead of a pass over every neuron's role
            unknown_role.append(node)
        computed.append(node)
        bias.append(data.get(BIAS, DEFAULT_BIAS))
        activation.append(data.get(ACTIVATION, DEFAULT_ACTIVATION))
    keys = set().union(*G._node.values())
    aggregation: list[object] = [DEFAULT_AGGREGATION] * len(computed)
    layer: list[object] = [None] * len(computed)
    bias_param: list[Hashable] = []
    if not keys.isdisjoint(_RARE_KEYS):
        attributes = list(map(G._node.__getitem__, computed))
        if AGGREGATION in keys:
            aggregation = [data.get(AGGREGATION, DEFAULT_AGGREGATION) for data in attributes]
        if LAYER in keys:
            layer = [data.get(LAYER) for data in attributes]
        bias_param = [node for node, data in zip(computed, attributes) if BIAS_PARAM in data]
    read = GraphRead(inputs=inputs, outputs=outputs, computed=computed, bias=bias, activation=activation,
                     aggregation=aggregation, layer=layer, predecessors=list(map(G._pred.__getitem__, computed)),
                     input_attributes=input_attributes, unknown_role=unknown_role,
                     bias_param=bias_param, plain_edges=G.edge_attr_dict_factory is dict)
    if AGGREGATION not in keys:  # every neuron sums: its distinct aggregations need no pass
        read._read["aggregations"] = dict.fromkeys(aggregation[:1])
    return read


_RARE_KEYS = frozenset((AGGREGATION, LAYER, BIAS_PARAM))


def validate_parts(G: object) -> GraphRead:
    """``validate`` without its walks over paths: no test for cycles, nor for paths between the
    neurons of one softmax group. For a caller that finds levels anyway, faster than networkx
    can (the compiler's array path, ``nngraph.compiler.arrays.array_levels``), and that calls
    ``validate`` for its error where those levels show a cycle. Returns the graph as it was read
    (``read_graph``), for the caller to reuse.

    The checks run over the lists read, in a few passes of C-level calls (types, finiteness, the
    distinct activation and aggregation names); where one fails, the check of each neuron or
    connection in turn finds and names the culprit.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", role="input"); G.add_node("h", role="hidden"); G.add_node("y", role="output")
    >>> G.add_weighted_edges_from([("x", "h", 1.0), ("h", "y", 1.0), ("y", "h", 1.0)])
    >>> validate_parts(G).computed  # the cycle h -> y -> h is not looked for
    ['h', 'y']
    """
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise NetworkError(f"a network must be a networkx.DiGraph, got {type(G).__name__}")
    read = read_graph(G)
    if not _neurons_pass(G, read):
        _check_neurons(G)  # names the culprit (the test above may also have been cautious)
    _check_ties(G, connections=_check_weights(G, read), neurons=read.bias_param)
    _check_layers(G)
    return read


_INPUT_KEYS = (BIAS, ACTIVATION, LAYER, AGGREGATION, BIAS_PARAM)  # what an input may not carry
_INPUT_KEY_SET = frozenset(_INPUT_KEYS)


def _neurons_pass(G: nx.DiGraph, read: GraphRead) -> bool:
    """Whether every neuron passes ``_check_neurons``, tested over ``read``'s lists at once. False
    when some may not (``_check_neurons`` then looks at each)."""
    if not (read.inputs and read.outputs) or read.unknown_role:
        return False
    try:  # every id a str (a subclass too: its characters are what _check_name looks at)
        printable = "".join(G._node).isprintable()
    except TypeError:  # ints pass as they are; any other kind of id goes to the check of each neuron
        printable = set(map(type, G._node)) <= {str, int} and "".join(
            [name for name in G._node if type(name) is str]).isprintable()
    if not printable:
        return False
    if not all(map(_INPUT_KEY_SET.isdisjoint, read.input_attributes)) or any(map(G._pred.__getitem__, read.inputs)):
        return False
    kinds = set(map(type, read.bias))
    if not (kinds <= PLAIN_NUMBERS and all_finite(read.bias, kinds)):
        return False
    try:  # the distinct names, kept for the compiler (graph_arrays), which codes them in this order
        activations = read.activations()
        aggregations = read.aggregations()
        layers = set(read.layer)
        for name in aggregations:
            resolve_aggregation(name)
    except (TypeError, NNGraphError):  # an unhashable attribute (not a name), an unknown name
        return False
    if not all(layer is None or type(layer) is str and unfaithful_character(layer) is None for layer in layers):
        return False
    group_wise = {spec for spec, activation in activations.items() if activation.group_wise}
    return not group_wise or all(layer is not None for activation, layer in zip(read.activation, read.layer)
                                 if activation in group_wise)


def _check_neurons(G: nx.DiGraph) -> None:
    n_inputs = n_outputs = 0
    for node, data in G.nodes(data=True):
        # Fast path: most ids are printable strings or integers, which need no closer look.
        if not (type(node) is str and node.isprintable()) and type(node) is not int:
            _check_name(node)
        role = data.get(ROLE)
        if role not in ROLES:
            what = "has no 'role'" if role is None else f"has unknown role {role!r}"
            raise NetworkError(f"neuron {node!r} {what}; expected one of {', '.join(ROLES)}", node=node)
        if role == INPUT:
            n_inputs += 1
            _check_input(G, node, data)
            continue
        n_outputs += role == "output"
        problem = number_problem(data.get(BIAS, DEFAULT_BIAS))
        if problem:
            raise NetworkError(f"neuron {node!r}: bias must be a finite number, {problem}", node=node)
        activation = resolve_activation(data.get(ACTIVATION, DEFAULT_ACTIVATION), node=node)
        resolve_aggregation(data.get(AGGREGATION, DEFAULT_AGGREGATION), node=node)
        layer = data.get(LAYER)
        if layer is not None and not isinstance(layer, str):
            raise NetworkError(f"neuron {node!r}: layer must be a name (str), got {layer!r}", node=node)
        if layer is not None:
            _check_name(node, layer=layer)
        if activation.group_wise and layer is None:
            raise NetworkError(
                f"neuron {node!r}: activation {activation.name!r} works over a layer, but the neuron "
                "has no 'layer'; give it the layer name it shares with its group", node=node)
    if n_inputs == 0:
        raise NetworkError("the network has no inputs; mark the input neurons with role='input'")
    if n_outputs == 0:
        raise NetworkError("the network has no outputs; mark the output neurons with role='output'")


def _check_name(node: Hashable, *, layer: str | None = None) -> None:
    """Refuse a neuron id (or its ``layer`` name) that terminals, diagrams and UTF-8 files cannot
    hold as it is."""
    flaw = unfaithful_character(node if layer is None else layer)
    if flaw is None:
        return
    what = "its id" if layer is None else f"its layer name {quoted(layer)}"
    raise NetworkError(f"neuron {quoted(node)}: {what} holds {flaw}, which terminals, diagrams "
                       "and UTF-8 files cannot hold as it is; rename it", node=node)


def _check_input(G: nx.DiGraph, node: Hashable, data: dict) -> None:
    for key in _INPUT_KEYS:
        if key in data:
            raise NetworkError(
                f"input {node!r} carries {key!r}; inputs pass their feature through unchanged, "
                f"so remove {key!r} or make the neuron hidden", node=node)
    for source in G.predecessors(node):
        raise NetworkError(
            f"connection {source!r} -> {node!r} goes into input {node!r}; inputs take no connections",
            node=node, edge=(source, node))


def number_problem(value: object, *, finite: bool = True) -> str | None:
    """What is wrong with ``value`` as a weight or bias (with ``finite=False``, as an input value), or None.

    nngraph computes in floats, so it takes Python and numpy integers and floats
    within float range (about ±1.8e308), finite where ``finite``. A ``Fraction``
    or ``Decimal`` is refused rather than rounded without a word: ``float()``
    converts it. The answer reads as the end of a message: ``"got 'heavy'"``.

    Examples
    --------
    >>> from fractions import Fraction
    >>> number_problem(0.5) is None, number_problem(Fraction(1, 3)), number_problem(float("inf"))
    (True, 'got Fraction(1, 3); convert it with float()', 'got inf')
    >>> number_problem(10**400)
    'got 100000000000000000...0000000000000000000, beyond float range (about ±1.8e308)'
    """
    if isinstance(value, (bool, np.bool_)):
        return f"got {shown(value)}"
    if not isinstance(value, (int, float, np.integer, np.floating)):
        advice = "; convert it with float()" if isinstance(value, (numbers.Rational, decimal.Decimal)) else ""
        return f"got {shown(value)}{advice}"
    try:
        number = float(value)
    except OverflowError:
        return f"got {shown(value)}, beyond float range (about ±1.8e308)"
    if finite and not math.isfinite(number):
        return f"got {number!r}"
    return None


def first_bad_number(values: np.ndarray, *, finite: bool = True) -> tuple[tuple[int, ...], str] | None:
    """Where in an array of Python objects the first value is that ``number_problem`` refuses, and why.

    Booleans pass (numpy converts them). ``None`` when every value is a number nngraph takes.

    Examples
    --------
    >>> first_bad_number(np.array([[1, 2], [3, 10**400]], dtype=object))
    ((1, 1), 'got 100000000000000000...0000000000000000000, beyond float range (about ±1.8e308)')
    """
    for index, value in np.ndenumerate(values):
        problem = None if isinstance(value, (bool, np.bool_)) else number_problem(value, finite=finite)
        if problem:
            return index, problem
    return None


class _MoreThanWeight:
    """Stands, in the one read of every connection, for a connection that carries more than its weight."""


def _check_weights(G: nx.DiGraph, read: GraphRead) -> bool:
    """Check every weight; return whether some connection carries more than its weight (a ``param``?).
    ``read`` holds every connection: ``_check_neurons`` has passed, so no input has one."""
    weights = read.weights(only_weight=True)
    kinds = set(map(type, weights))
    more = type in kinds  # the class itself stands in the list
    if not more:  # every connection carries its weight alone: the plain list is the same one
        read._read[False] = weights
    else:
        weights = read.weights()
        kinds = set(map(type, weights))
    # Fast path for large networks: one type scan and one finiteness test.
    if kinds <= PLAIN_NUMBERS and all_finite(weights, kinds):
        return more
    for source, target, weight in G.edges(data=WEIGHT):
        if weight is None:
            raise NetworkError(f"connection {source!r} -> {target!r} has no 'weight'",
                               edge=(source, target))
        problem = number_problem(weight)
        if problem:
            raise NetworkError(f"connection {source!r} -> {target!r}: weight must be a finite number, {problem}",
                               edge=(source, target))
    return more


def _check_ties(G: nx.DiGraph, *, connections: bool, neurons: list[Hashable] | None = None) -> None:
    """Numbers tied by one name must be equal; ``connections=False``: no connection carries a name;
    ``neurons``: the only ones that may carry a ``bias_param`` (every neuron by default)."""
    differing = first_difference(G, connections=connections, neurons=neurons)
    if differing is not None:
        name, first, place = differing
        raise NetworkError(
            f"{first.describe(G)} and {place.describe(G)} are tied by the name {name!r} but "
            f"differ; tied numbers must be equal (nngraph.set_param(G, {name!r}, value) writes "
            "every copy)", node=place.node, edge=place.edge)


def _check_layers(G: nx.DiGraph) -> None:
    """The graph's ``layers`` records (see ``network.LayerRecord``) are well formed and list its neurons."""
    records = G.graph.get(LAYERS)
    if records is None:
        return
    if not isinstance(records, (list, tuple)):
        raise NetworkError(f"the graph attribute {LAYERS!r} must be a list of layer records, "
                           f"got {type(records).__name__}")
    owner: dict[Hashable, str] = {}
    names: set[str] = set()
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise NetworkError(f"layer record #{index} must be a dict with the keys "
                               f"{', '.join(LAYER_RECORD_KEYS)}, got {type(record).__name__}")
        name = record.get("name")
        where = f"layer {name!r}" if isinstance(name, str) else f"layer record #{index}"
        missing = [key for key in LAYER_RECORD_KEYS if key not in record]
        unknown = sorted(map(str, set(record) - set(LAYER_RECORD_KEYS)))
        if missing or unknown:
            what = f"lacks {missing}" if missing else f"has unknown keys {unknown}"
            raise NetworkError(f"{where}: the record {what}; a layer record has exactly the keys "
                               f"{', '.join(LAYER_RECORD_KEYS)}")
        for key in ("name", "kind"):
            if not isinstance(record[key], str) or not record[key]:
                raise NetworkError(f"{where}: {key!r} must be a non-empty str, got {record[key]!r}")
        if name in names:
            raise NetworkError(f"{where}: two layer records share the name {name!r}; names must be unique")
        names.add(name)
        config = record["config"]
        if not isinstance(config, Mapping) or not all(isinstance(key, str) for key in config):
            raise NetworkError(f"{where}: 'config' must be a dict keyed by str, got {config!r}")
        for key in ("input_shape", "output_shape"):
            shape = record[key]
            if not isinstance(shape, (list, tuple)) or not all(
                    size is None or (isinstance(size, int) and not isinstance(size, bool) and size >= 0)
                    for size in shape):
                raise NetworkError(f"{where}: {key!r} must be a list of sizes (whole numbers, or None "
                                   f"for the batch), got {shape!r}")
        _check_record_neurons(G, where, name, record["neurons"], owner)


def _check_record_neurons(G: nx.DiGraph, where: str, name: str, neurons: object,
                          owner: dict[Hashable, str]) -> None:
    if not isinstance(neurons, (list, tuple)):
        raise NetworkError(f"{where}: 'neurons' must be a list of the layer's neurons, got {neurons!r}")
    for node in neurons:
        try:
            present = node in G
        except TypeError:  # an unhashable id cannot be a neuron
            present = False
        if not present:
            raise NetworkError(f"{where} lists neuron {node!r}, which is not in the network")
        if node in owner:
            raise NetworkError(f"{where} lists neuron {node!r}, which layer {owner[node]!r} lists already; "
                               "a neuron belongs to one layer", node=node)
        owner[node] = name


def _check_acyclic(G: nx.DiGraph) -> dict[Hashable, int]:
    # ``levels`` walks the graph anyway (the compiler and renderers need it) and is several
    # times cheaper than a separate acyclicity test; networkx then names the cycle. It does not
    # look behind inputs, which _check_neurons has already shown to have no incoming connections.
    try:
        return levels(G)
    except nx.NetworkXUnfeasible:
        pass
    cycle = [(u, v) for u, v, *_ in nx.find_cycle(G)]
    path = " -> ".join(repr(u) for u, _ in cycle) + f" -> {cycle[0][0]!r}"
    raise CycleError(f"the connections form a cycle: {path}; a network must be a DAG", cycle=cycle)


def _check_groups(G: nx.DiGraph, *, level: Mapping[Hashable, int]) -> None:
    """Neurons normalised together must be computable together: no path may join two of them."""
    groups = softmax_groups(G)
    shared = [members for members in groups.values() if len(members) > 1]
    if not shared:
        return
    # Two cheap sufficient conditions before the contraction, which costs a pass over every
    # connection: a path or cycle through a group must leave it, so members that feed nothing
    # are safe; and a path raises the level at each step, so members sharing one level are too.
    if not any(G.out_degree(node) for members in shared for node in members):
        return
    if all(len({level[node] for node in members}) == 1 for members in shared):
        return
    contracted = contract(G, groups.values())
    if nx.is_directed_acyclic_graph(contracted):
        return
    for layer, members in groups.items():
        member_set = set(members)
        for node in members:
            reached = nx.descendants(G, node) & member_set
            if reached:
                other = next(m for m in members if m in reached)
                raise NetworkError(
                    f"neurons {node!r} and {other!r} share the softmax layer {layer!r}, but {node!r} "
                    f"feeds {other!r}; neurons normalised together cannot depend on each other",
                    node=node)
    # No layer feeds itself, so two or more layers wait on each other.
    layer_of = {tuple(members): layer for layer, members in groups.items()}
    layers = [layer_of[unit] for unit, _ in nx.find_cycle(contracted) if unit in layer_of]
    raise NetworkError(
        f"the softmax layers {', '.join(map(repr, layers))} feed each other both ways; each layer is "
        "normalised as a whole, so one cannot both feed and be fed by another", node=groups[layers[0]][0])


def softmax_groups(G: nx.DiGraph) -> dict[str, list[Hashable]]:
    """Return each group-wise layer's neurons, in insertion order: ``{layer: [neurons]}``.

    A group is the neurons that share a ``layer`` name and a group-wise activation.
    """
    groups: dict[str, list[Hashable]] = {}
    for node, data in G.nodes(data=True):
        if data.get(ROLE) == INPUT:
            continue
        if resolve_activation(data.get(ACTIVATION, DEFAULT_ACTIVATION), node=node).group_wise:
            groups.setdefault(data[LAYER], []).append(node)
    return groups
