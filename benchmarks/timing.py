"""Side-by-side timing: competitors measured in interleaved rounds, compared by median ratio."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TARGET_SECONDS = 0.02  # each measurement repeats a call until it takes about this long


@dataclass(frozen=True)
class Timings:
    """Seconds per call of each competitor, one figure per round."""

    rounds: Mapping[str, list[float]]

    def seconds(self, name: str) -> float:
        """The median seconds per call of ``name``."""
        return statistics.median(self.rounds[name])

    def ratio(self, numerator: str, denominator: str) -> float:
        """The median of the round-by-round ratios ``numerator / denominator``."""
        pairs = zip(self.rounds[numerator], self.rounds[denominator])
        return statistics.median(top / bottom for top, bottom in pairs)


def _calls_per_measurement(function: Callable[[], object]) -> int:
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, min(100_000, int(TARGET_SECONDS / once)))


def _measure(function: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def compare(competitors: Mapping[str, Callable[[], object]], *, rounds: int = 15) -> Timings:
    """Time every competitor in ``rounds`` interleaved rounds.

    Every round measures every competitor once, one after the other, so that a slow spell of a
    shared machine hits them alike; ratios are then taken round by round. Each round starts one
    competitor further along the list, so none always runs after the same one (whose memory
    traffic the next call's caches inherit).
    """
    for function in competitors.values():
        function()  # warm up: caches, lazy imports, first-touch allocations
    calls = {name: _calls_per_measurement(function) for name, function in competitors.items()}
    samples: dict[str, list[float]] = {name: [] for name in competitors}
    enabled = gc.isenabled()
    gc.disable()
    try:
        order = list(competitors.items())
        for round_ in range(rounds):
            start = round_ % len(order)
            for name, function in order[start:] + order[:start]:
                samples[name].append(_measure(function, calls[name]))
            gc.collect()
    finally:
        if enabled:
            gc.enable()
    return Timings(samples)
