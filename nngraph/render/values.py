"""One sample's numbers, read off a ``Trace`` for the neuron diagram: values, weighted sums, the colour scale."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

from nngraph.execute.trace import Trace


@dataclass(frozen=True)
class Readings:
    """Every neuron's value and weighted sum for one sample, and the largest ``|value|`` shown.

    ``weighted_sums`` has no entry for inputs (they have a value but no weighted sum).
    """

    sample: int
    label: str
    values: Mapping[Hashable, float]
    weighted_sums: Mapping[Hashable, float]
    largest: float


def read_sample(trace: Trace, sample: int, shown: list[Hashable], *, label: str | None = None) -> Readings:
    """Read ``sample`` out of ``trace``; the colour scale spans the ``shown`` neurons' values.

    ``label`` names the sample in the legend (default ``"sample N"``).

    Examples
    --------
    >>> from nngraph import run_reference
    >>> from nngraph.demo import lesson_model, SAMPLE
    >>> G = lesson_model().graph
    >>> readings = read_sample(run_reference(G, SAMPLE), 0, list(G))
    >>> readings.values["input/0"], "input/0" in readings.weighted_sums
    (0.9, False)
    """
    row_values = trace.values[sample]
    row_sums = trace.weighted_sums[sample]
    inputs = set(trace.input_nodes)
    values = {node: float(row_values[column]) for node, column in trace.columns.items()}
    sums = {node: float(row_sums[column]) for node, column in trace.columns.items() if node not in inputs}
    magnitudes = np.abs([values[node] for node in shown], dtype=float)
    finite = magnitudes[np.isfinite(magnitudes)]
    name = f"sample {sample}" if label is None else label
    return Readings(sample, name, values, sums, float(finite.max()) if finite.size else 0.0)
