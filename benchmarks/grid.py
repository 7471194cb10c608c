"""The speed grid: ``plan(x)`` beside its peers on every network, dtype and batch size.

Networks: the lesson's 8-6-6-4, 784-512-512-10 (relu, softmax out) and the NEAT-style DAG of
``examples/neat_network.py``; float32 and float64; batches 1, 8, 32, 256, 1024 and 4096. In each
cell nngraph's ``plan(x)`` and ``plan.trace(x)``, hand-written numpy, onnxruntime and PyTorch eager
run in interleaved rounds (``timing.compare``), each checked against ``run_reference`` first.
Figures are median times over hand-written numpy's (lower is better); ``*`` marks the fastest peer.
A cell meets its target when ``plan(x)`` takes at most 1.1x onnxruntime's time (1.0x plus 10% for
noise), on 784-512-512-10 from batch 1024 also at most 1.1x hand-written numpy's, and
``plan.trace(x)`` at most 1.5x ``plan(x)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import time

import networkx as nx
import numpy as np
from peers import hand_written, onnxruntime_runner, torch_runner
from timing import compare

import nngraph

BATCHES = (1, 8, 32, 256, 1024, 4096)
DTYPES = (np.float32, np.float64)
PEERS = ("numpy", "onnxruntime", "torch")
SLACK = 1.1           # 1.0x, plus 10% for the noise of a shared machine
TRACE_LIMIT = 1.5     # plan.trace(x) over plan(x)
PRODUCTS_DOMINATE = 1024  # from this batch on, 784-512-512-10 must also match hand-written numpy
SLOW_CALL = 0.005     # seconds: cells whose calls take longer get ``few_rounds``


@dataclass(frozen=True)
class Cell:
    """One network, dtype and batch: median seconds per call of each competitor, and its targets."""

    network: str
    dtype: str
    batch: int
    seconds: dict[str, float]
    ratios: dict[str, float]  # over hand-written numpy, for plan, trace and each peer present
    trace_over_plan: float
    plan_over_onnxruntime: float | None
    numpy_bound: bool

    @property
    def met(self) -> bool:
        fast = self.plan_over_onnxruntime is None or self.plan_over_onnxruntime <= SLACK
        floor = not self.numpy_bound or self.ratios["nngraph"] <= SLACK
        return fast and floor and self.trace_over_plan <= TRACE_LIMIT


def measure_cell(network: str, G: nx.DiGraph, dtype: type, batch: int, *, threads: int, rounds: int,
                 few_rounds: int) -> Cell:
    plan = nngraph.compile_network(G, dtype=dtype)
    x = np.random.default_rng(batch).uniform(-1.0, 1.0, (batch, len(plan.inputs))).astype(dtype)
    runners = {"nngraph": plan, "trace": plan.trace, "numpy": hand_written(plan),
               "onnxruntime": onnxruntime_runner(plan, threads=threads),
               "torch": torch_runner(plan, threads=threads)}
    competitors: dict[str, Callable[[], object]] = {
        name: partial(run, x) for name, run in runners.items() if run is not None}
    expected = nngraph.run_reference(G, x[:4], dtype=dtype).outputs
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    for name, run in competitors.items():
        got = run().outputs if name == "trace" else run()
        np.testing.assert_allclose(np.asarray(got)[:4], expected, rtol=tolerance, atol=tolerance,
                                   err_msg=f"{name} disagrees with the reference")
    timings = compare(competitors, rounds=few_rounds if _slow(competitors["numpy"]) else rounds)
    ratios = {name: timings.ratio(name, "numpy") for name in competitors}
    ort = timings.ratio("nngraph", "onnxruntime") if "onnxruntime" in competitors else None
    return Cell(network, np.dtype(dtype).name, batch, {name: timings.seconds(name) for name in competitors},
                ratios, timings.ratio("trace", "nngraph"), ort,
                numpy_bound=network.startswith("784") and batch >= PRODUCTS_DOMINATE)


def _slow(run: Callable[[], object]) -> bool:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start > SLOW_CALL


def run_grid(networks: dict[str, nx.DiGraph], *, threads: int, rounds: int,
             batches: tuple[int, ...] = BATCHES) -> list[Cell]:
    """Measure every cell of the grid (few rounds where one call takes more than ``SLOW_CALL``)."""
    return [measure_cell(name, G, dtype, batch, threads=threads, rounds=rounds,
                         few_rounds=max(3, rounds // 3))
            for name, G in networks.items() for dtype in DTYPES for batch in batches]


def format_grid(cells: list[Cell]) -> str:
    """The grid as a table: times over hand-written numpy's, the fastest peer marked ``*``."""
    peers = [name for name in PEERS if name in cells[0].ratios]
    width = max(len(cell.network) for cell in cells) + 2
    lines = [f"{'network':<{width}}{'dtype':<9}{'batch':>6}{'plan us':>10}{'nngraph':>9}"
             + "".join(f"{name:>13}" for name in peers) + f"{'/ ort':>8}{'trace/plan':>12}   met"]
    for cell in cells:
        best = min(peers, key=cell.ratios.__getitem__)
        figures = "".join(f"{cell.ratios[name]:>12.2f}{'*' if name == best else ' '}" for name in peers)
        ort = "-" if cell.plan_over_onnxruntime is None else f"{cell.plan_over_onnxruntime:.2f}"
        lines.append(f"{cell.network:<{width}}{cell.dtype:<9}{cell.batch:>6}"
                     f"{cell.seconds['nngraph'] * 1e6:>10.1f}{cell.ratios['nngraph']:>9.2f}{figures}"
                     f"{ort:>8}{cell.trace_over_plan:>12.2f}   {'yes' if cell.met else 'NO'}")
    met = sum(cell.met for cell in cells)
    lines.append(f"targets met on {met} of {len(cells)} cells")
    return "\n".join(lines)
