"""Text summaries: a Keras-like table of layers and the facts of a network's graph."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from nngraph.names import printable
from nngraph.core.network import INPUT, computed, inputs, outputs
from nngraph.core.structure import Column, columns, levels
from nngraph.core.validate import validate


@dataclass(frozen=True)
class SummaryRow:
    """One row of the layer table: a layer (or level) with its output shape and parameter count."""

    name: str
    kind: str
    output_shape: tuple[int | None, ...]
    params: int


def format_summary(title: str, rows: Sequence[SummaryRow], *, non_trainable: int = 0) -> str:
    """Lay out ``rows`` as Keras' ``model.summary()`` does, with totals at the bottom.

    ``non_trainable`` of the parameters are not trained (BatchNormalization's moving statistics).
    Names are shown by ``nngraph.names.printable``; a name longer than its column widens the table.

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

    A column counts its incoming connections and one bias per neuron; it is
    ``Dense`` when every neuron reads exactly the whole previous column.
    ``shown`` may pass in ``columns(G)`` when the caller has it already.
    """
    rows = []
    previous: Column | None = None
    for column in columns(G) if shown is None else shown:
        params = 0 if column.role == INPUT else (
            sum(G.in_degree(node) for node in column.nodes) + len(column.nodes))
        rows.append(SummaryRow(column.name, _column_kind(G, column, previous),
                               (None, len(column.nodes)), params))
        previous = column
    return rows


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
    """The layer table followed by the graph facts, as ``nngraph summary`` prints them."""
    facts = graph_facts(G)
    lines = [format_summary(title, graph_rows(G))]
    for key, value in facts.items():
        text = f"{value:.3f}" if isinstance(value, float) else f"{value:,}"
        lines.append(f"{key + ':':<18} {text}")
    return "\n".join(lines)
