"""Argument checks shared by the renderers: each error names the argument at fault and what was expected."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import networkx as nx

from nngraph.errors import RenderError
from nngraph.execute.trace import Trace
from nngraph.core.network import LABEL, inputs
from nngraph.core.validate import validate


def graph_of(obj: Any, *, function: str) -> nx.DiGraph:
    """The graph behind ``obj`` (a DiGraph, or a model with a ``graph``), not yet validated."""
    graph = obj.graph if isinstance(getattr(obj, "graph", None), nx.DiGraph) else obj
    if not isinstance(graph, nx.DiGraph):
        raise RenderError(f"{function}: G must be a networkx.DiGraph or a model with a .graph, "
                          f"got {type(obj).__name__}")
    return graph


def network_of(obj: Any, *, function: str) -> tuple[nx.DiGraph, str | None]:
    """The validated network behind ``obj`` (a DiGraph, or a model with a ``graph``) and its name, if any."""
    graph = graph_of(obj, function=function)
    validate(graph)
    name = getattr(obj, "name", None) if graph is not obj else graph.graph.get("name")
    return graph, name if isinstance(name, str) else None


def is_plan(obj: object) -> bool:
    """Whether ``obj`` is a plan: the IR (``nngraph.Plan``) or a ``CompiledPlan``, which reads the same."""
    return hasattr(obj, "ops") and hasattr(obj, "to_networkx")


def choice(function: str, argument: str, value: object, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``RenderError`` naming ``argument``."""
    if not isinstance(value, str) or value not in allowed:
        raise RenderError(f"{function}: {argument}={value!r} is not known; "
                          f"expected one of {', '.join(map(repr, allowed))}")
    return value


def check_trace(G: nx.DiGraph, trace: object, sample: object, *, function: str) -> int:
    """Check that ``trace`` comes from ``G`` and holds ``sample``; return the sample as a non-negative index."""
    if not isinstance(trace, Trace):
        raise RenderError(f"{function}: trace must be an nngraph.Trace (from run_reference or a plan), "
                          f"got {type(trace).__name__}")
    if tuple(trace.input_nodes) != tuple(inputs(G)) or len(trace.columns) != len(G) or any(
            node not in trace.columns for node in G.nodes):
        raise RenderError(f"{function}: trace comes from another network: its neurons are not those of G")
    if isinstance(sample, bool) or not isinstance(sample, int):
        raise RenderError(f"{function}: sample must be a whole number, got {sample!r}")
    if not -trace.batch_size <= sample < trace.batch_size:
        raise RenderError(f"{function}: sample={sample} is out of range; the trace holds "
                          f"{trace.batch_size} sample(s), so use 0 to {trace.batch_size - 1}")
    return sample % trace.batch_size


def labels_for(G: nx.DiGraph, nodes: Sequence[Hashable], labels: object, *, argument: str,
               function: str) -> dict[Hashable, str]:
    """Map each of ``nodes`` to its label from ``labels``: a sequence in node order, or a mapping by
    node; without ``labels``, the labels the neurons carry (the ``label`` key, e.g. an imported
    classifier's classes)."""
    if labels is None:
        return {node: str(G.nodes[node][LABEL]) for node in nodes if G.nodes[node].get(LABEL) is not None}
    if isinstance(labels, Mapping):
        unknown = [key for key in labels if key not in set(nodes)]
        if unknown:
            raise RenderError(f"{function}: {argument} names {unknown[0]!r}, which is not one of the "
                              f"{len(nodes)} neurons it labels")
        return {node: str(label) for node, label in labels.items()}
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise RenderError(f"{function}: {argument} must be a list of names or a dict by neuron, "
                          f"got {type(labels).__name__}")
    if len(labels) != len(nodes):
        raise RenderError(f"{function}: {argument} has {len(labels)} names for {len(nodes)} neurons")
    return {node: str(label) for node, label in zip(nodes, labels)}
