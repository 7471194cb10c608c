"""Text summaries: a Keras-like table of layers and the facts of a network's graph.

A graph with ``layers`` records (as ``Sequential`` writes them, and as a loaded model file keeps
them) gets one row per record, the table ``model.summary()`` prints; any other graph one row per
display column (layer or level). Parameters are counted as distinct numbers: a tied number once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from nngraph.core.network import INPUT, LayerRecord, computed, inputs, layer_records, outputs
from nngraph.core.params import count_params, tied
from nngraph.names import printable
from nngraph.core.structure import Column, columns, levels
from nngraph.core.validate import validate
from nngraph.keras.layers import LAYER_KINDS


@dataclass(frozen=True)
class SummaryRow:
    """One row of the layer table: a layer (or level) with its output shape and parameter count."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int


def format_summary(title: str, rows: Sequence[SummaryRow], *, total: int | None = None,
                   non_trainable: int = 0) -> str:
    """Lay out ``rows`` as Keras' ``model.summary()`` does, with totals at the bottom.

    ``total`` defaults to the rows' sum; it is less when layers share tied numbers.
    ``non_trainable`` of them are not trained (BatchNormalization's moving statistics). Names are
    shown by ``nngraph.names.printable``; a name longer than its column widens the table.

    Examples
    --------
    >>> print(format_summary("m", [SummaryRow("dense", "Dense", (None, 6), 54)]).splitlines()[4])
     dense (Dense)                  (None, 6)                     54
    """
    names = [f"{printable(row.name)} ({row.kind})" for row in rows]
    first = max([30] + [len(name) + 1 for name in names])
    width = 65 + first - 30
    lines = [f'Model: "{printable(title)}"', "_" * width,
             f" {'Layer (type)':<{first}} {'Output Shape':<22} {'Param #':>9}", "=" * width]
    for index, (row, name) in enumerate(zip(rows, names)):
        if index:
            lines.append("")
        lines.append(f" {name:<{first}} {str(row.output_shape):<22} {row.params:>9,}")
    if total is None:
        total = sum(row.params for row in rows)
    lines += ["=" * width, f"Total params: {total:,}", f"Trainable params: {total - non_trainable:,}",
              f"Non-trainable params: {non_trainable:,}", "_" * width]
    return "\n".join(lines)


def _column_kind(G: nx.DiGraph, column: Column, previous: Column | None) -> str:
    if column.role == INPUT:
        return "Input"
    expected = set(previous.nodes) if previous is not None else set()
    if previous is not None and all(set(G.predecessors(node)) == expected for node in column.nodes):
        return "Dense"
    return "Neurons"


def graph_rows(G: nx.DiGraph, *, shown: Sequence[Column] | None = None) -> list[SummaryRow]:
    """Summary rows for a validated graph: one per display column (layer or level).

    A column counts the numbers of its incoming connections and biases (a tied number once), or
    what Keras counts where its layer record's kind says the graph holds other numbers
    (``Layer.keras_params``); its kind is its layer record's, where one has its name, else ``Dense``
    when every neuron reads exactly the whole previous column. ``shown`` may pass in ``columns(G)`` when the caller has it.
    """
    names = tied(G)
    recorded = {record.name: record for record in layer_records(G)}
    rows = []
    previous: Column | None = None
    for column in columns(G) if shown is None else shown:
        record = recorded.get(column.name) if column.role != INPUT else None
        kind_class = LAYER_KINDS.get(record.kind) if record is not None else None
        keras = kind_class.keras_params(record) if kind_class is not None else None  # type: ignore[arg-type]
        params = 0 if column.role == INPUT else keras[0] if keras is not None else count_params(
            G, column.nodes, without_bias=_without_bias([record] if record else []), names=names)
        kind = record.kind if record is not None else _column_kind(G, column, previous)
        rows.append(SummaryRow(column.name, kind, (None, len(column.nodes)), params))
        previous = column
    return rows


def _without_bias(records: Sequence[LayerRecord]) -> list:
    """The neurons of layers built without bias (``use_bias`` false): their biases are no parameters."""
    return [node for record in records if record.config.get("use_bias", True) is False
            for node in record.neurons]


@dataclass(frozen=True)
class LayerTable:
    """The layer table of a graph with ``layers`` records: its ``rows``, the ``total`` parameters
    (a tied number once) and how many of them are ``non_trainable``."""

    rows: list[SummaryRow]
    total: int
    non_trainable: int


def layer_table(G: nx.DiGraph) -> LayerTable:
    """The layer table of a graph with ``layers`` records: one row per record, and the totals.

    A row counts the parameters Keras counts: for a kind whose weights are the graph's numbers
    (Dense, Conv2D, ...) the distinct numbers of its neurons' incoming connections and biases;
    for the others what the layer class says from the record (``Layer.keras_params``: none for a
    pooling's fixed connections, four arrays for BatchNormalization's folded two). The total counts
    every number once, so it is less than the rows' sum when layers share tied numbers.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense, MaxPooling1D
    >>> table = layer_table(Sequential([Dense(4, input_shape=(6, 3)), MaxPooling1D()], seed=0).graph)
    >>> [(row.name, row.kind, row.output_shape, row.params) for row in table.rows], table.total
    ([('dense', 'Dense', (None, 6, 4), 16), ('max_pooling1d', 'MaxPooling1D', (None, 3, 4), 0)], 16)
    """
    records = layer_records(G)
    names = tied(G)
    rows, counted, fixed, non_trainable = [], [], 0, 0
    for record in records:
        kind = LAYER_KINDS.get(record.kind)
        keras = kind.keras_params(record) if kind is not None else None
        if keras is None:
            params = count_params(G, record.neurons, without_bias=_without_bias([record]), names=names)
            counted.append(record)
        else:
            params, frozen = keras
            fixed += params
            non_trainable += frozen
        rows.append(SummaryRow(record.name, record.kind, record.output_shape, params))
    total = fixed + count_params(G, [node for record in counted for node in record.neurons],
                                 without_bias=_without_bias(counted), names=names)
    return LayerTable(rows, total, non_trainable)


def graph_facts(G: nx.DiGraph) -> dict[str, object]:
    """The shape of a network in numbers: sizes, depth, fan-in, density and skip connections.

    ``density`` is the share of the possible forward connections (from every
    neuron to every neuron on a deeper level) that exist; a skip connection
    jumps over at least one level.
    """
    validate(G)
    level = levels(G)
    per_level = Counter(level.values())
    lower = 0
    possible = 0
    for depth in sorted(per_level):
        possible += per_level[depth] * lower if depth else 0
        lower += per_level[depth]
    n_connections = G.number_of_edges()
    return {
        "inputs": len(inputs(G)),
        "outputs": len(outputs(G)),
        "neurons": len(computed(G)),
        "connections": n_connections,
        "levels": max(level.values()),
        "largest fan-in": max((G.in_degree(node) for node in computed(G)), default=0),
        "density": n_connections / possible if possible else 0.0,
        "skip connections": sum(1 for u, v in G.edges if level[v] - level[u] > 1),
    }


def describe(G: nx.DiGraph, *, title: str = "network") -> str:
    """The layer table followed by the graph facts, as ``nngraph summary`` prints them.

    The table is ``model.summary()``'s when ``G`` has ``layers`` records, else one row per column.
    """
    facts = graph_facts(G)
    if layer_records(G):
        table = layer_table(G)
        lines = [format_summary(title, table.rows, total=table.total, non_trainable=table.non_trainable)]
    else:
        lines = [format_summary(title, graph_rows(G))]
    for key, value in facts.items():
        text = f"{value:.3f}" if isinstance(value, float) else f"{value:,}"
        lines.append(f"{key + ':':<18} {text}")
    return "\n".join(lines)
