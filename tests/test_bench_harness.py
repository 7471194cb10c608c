"""The benchmarks' harness: ``make bench`` pins its process to as many CPUs as it runs threads
(``benchmarks/run.py``), refusing a CPU the process may not use with a message naming it, and
``timing.compare`` starts each round one competitor further along. Nothing here is timed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run  # noqa: E402
import timing  # noqa: E402

sys.path.pop(0)

@pytest.fixture
def affinity():
    """The process's CPUs, given back after the test."""
    allowed = os.sched_getaffinity(0)
    yield sorted(allowed)
    os.sched_setaffinity(0, allowed)


def test_default_is_the_first_cpus_the_process_may_use(affinity):
    assert run._pin_cpus(None, 1) == str(affinity[0])
    assert os.sched_getaffinity(0) == {affinity[0]}


def test_chosen_cpus(affinity):
    assert run._pin_cpus(affinity[-1:], 1) == str(affinity[-1])
    assert os.sched_getaffinity(0) == {affinity[-1]}


def test_a_cpu_outside_the_allowed_set_is_refused(affinity):
    missing = max(affinity) + 1
    with pytest.raises(SystemExit, match=f"may not run on CPU {missing}"):
        run._pin_cpus([missing], 1)
    assert sorted(os.sched_getaffinity(0)) == affinity


def test_each_round_starts_one_competitor_further_along() -> None:
    calls: list[str] = []

    def competitor(name: str):
        def run() -> None:
            calls.append(name)
            time.sleep(0.002)  # a few calls fill a measurement
        return run

    timings = timing.compare({name: competitor(name) for name in "abc"}, rounds=4)
    runs = [name for i, name in enumerate(calls) if i == 0 or calls[i - 1] != name]
    rounds = runs[-12:]  # after the warm-up and the calibration calls: a run of calls per measurement
    assert rounds == list("abc" "bca" "cab" "abc")
    assert all(len(seconds) == 4 and min(seconds) > 0 for seconds in timings.rounds.values())
