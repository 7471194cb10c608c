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


@dataclass(frozen=True)
class SummaryRow:
    """One row of the layer table: a layer (or level) with its output shape and parameter count."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int


def format_summary(title: str, rows: Sequence[SummaryRow], *, total: int | None = None) -> str:
    """Lay out ``rows`` as Keras' ``model.summary()`` does, with totals at the bottom.

    ``total`` defaults to the rows' sum; it is less when layers share tied numbers. Names are shown by
    ``nngraph.names.printable``.

    Examples
    --------
    >>> print(format_summary("m", [SummaryRow("dense", "Dense", (None, 6), 54)]).splitlines()[4])
     dense (Dense)                  (None, 6)                     54
    """
    width = 65
    lines = [f'Model: "{printable(title)}"', "_" * width,
             f" {'Layer (type)':<30} {'Output Shape':<22} {'Param #':>9}", "=" * width]
    for index, row in enumerate(rows):
        if index:
            lines.append("")
        lines.append(f" {printable(row.name) + ' (' + row.kind + ')':<30} {str(row.output_shape):<22} "
                     f"{row.params:>9,}")
    if total is None:
        total = sum(row.params for row in rows)
    lines += ["=" * width, f"Total params: {total:,}", f"Trainable params: {total:,}",
              "Non-trainable params: 0", "_" * width]
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

    A column counts the numbers of its incoming connections and biases (a tied number once); its
    kind is its layer record's, where one has its name, else ``Dense`` when every neuron reads
    exactly the whole previous column. ``shown`` may pass in ``columns(G)`` when the caller has it.
    """
    names = tied(G)
    recorded = {record.name: record for record in layer_records(G)}
    rows = []
    previous: Column | None = None
    for column in columns(G) if shown is None else shown:
        record = recorded.get(column.name) if column.role != INPUT else None
        params = 0 if column.role == INPUT else count_params(
            G, column.nodes, without_bias=_without_bias([record] if record else []), names=names)
        kind = record.kind if record is not None else _column_kind(G, column, previous)
        rows.append(SummaryRow(column.name, kind, (None, len(column.nodes)), params))
        previous = column
    return rows


def _without_bias(records: Sequence[LayerRecord]) -> list:
    """The neurons of layers built without bias (``use_bias`` false): their biases are no parameters."""
    return [node for record in records if record.config.get("use_bias", True) is False
            for node in record.neurons]


def layer_rows(G: nx.DiGraph) -> tuple[list[SummaryRow], int]:
    """The layer table of a graph with ``layers`` records: one row per record, and the total.

    A row counts the distinct numbers of its neurons' incoming connections and biases; the total
    counts every number once, so it is less than the rows' sum when layers share tied numbers.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> rows, total = layer_rows(Sequential([Dense(4, input_shape=(3,)), Dense(2)], seed=0).graph)
    >>> [(row.name, row.kind, row.output_shape, row.params) for row in rows], total
    ([('dense', 'Dense', (None, 4), 16), ('dense_1', 'Dense', (None, 2), 10)], 26)
    """
    records = layer_records(G)
    names = tied(G)
    rows = [SummaryRow(record.name, record.kind, record.output_shape,
                       count_params(G, record.neurons, without_bias=_without_bias([record]), names=names))
            for record in records]
    total = count_params(G, [node for record in records for node in record.neurons],
                         without_bias=_without_bias(records), names=names)
    return rows, total


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
        rows, total = layer_rows(G)
        lines = [format_summary(title, rows, total=total)]
    else:
        lines = [format_summary(title, graph_rows(G))]
    for key, value in facts.items():
        text = f"{value:.3f}" if isinstance(value, float) else f"{value:,}"
        lines.append(f"{key + ':':<18} {text}")
    return "\n".join(lines)
