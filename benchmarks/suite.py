"""The benchmark suite behind ``benchmarks/run.py``: the networks, the measurements, the table."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import numpy as np
from cnn import lenet5, onnx_twin, torch_twin
from neat_network import neat_genome
from grid import format_grid, run_grid
from peers import neat_python_runner, onnxruntime_runner
from timing import compare

import nngraph
from nngraph.layers import Dense
from nngraph.models import Sequential


@dataclass(frozen=True)
class Row:
    """One line of the table: nngraph's figure, onnxruntime's, and the target."""

    label: str
    nngraph: float
    onnxruntime: float | None
    target: float
    lower_is_better: bool

    @property
    def met(self) -> bool:
        return self.nngraph <= self.target if self.lower_is_better else self.nngraph >= self.target


def _sequential(sizes: list[int], seed: int = 0) -> Sequential:
    layers = [Dense(units=sizes[1], input_shape=(sizes[0],), activation="relu")]
    layers += [Dense(units=units, activation="relu") for units in sizes[2:-1]]
    layers.append(Dense(units=sizes[-1], activation="softmax"))
    return Sequential(layers, seed=seed)


def _check(name: str, got: object, expected: np.ndarray, rtol: float) -> None:
    np.testing.assert_allclose(np.asarray(got), expected, rtol=rtol, atol=rtol,
                               err_msg=f"{name} disagrees with the reference")


def neat_rows(G: object, *, threads: int, rounds: int) -> list[Row]:
    """Speed-ups of ``plan(x)`` (and onnxruntime) over the reference pass and neat-python."""
    plan = nngraph.compile_network(G)
    session = onnxruntime_runner(plan, threads=threads)
    neat = neat_python_runner(G)
    rows = []
    for batch, reference_target, neat_target in ((256, 30.0, 30.0), (1, 2.0, 2.0)):
        x = np.random.default_rng(2).uniform(-1.0, 1.0, (batch, len(plan.inputs)))
        expected = nngraph.run_reference(G, x).outputs
        competitors: dict[str, Callable[[], object]] = {
            "nngraph": lambda: plan(x), "reference": lambda: nngraph.run_reference(G, x)}
        if session is not None:
            competitors["onnxruntime"] = lambda: session(x)
        if neat is not None:
            competitors["neat-python"] = lambda: neat(x)
        for name in ("nngraph", "onnxruntime", "neat-python"):
            if name in competitors:
                _check(name, competitors[name](), expected, 1e-9)
        timings = compare(competitors, rounds=rounds)
        ort = (lambda baseline: timings.ratio(baseline, "onnxruntime")) if session else (lambda _: None)
        samples = f"{batch} sample{'s' if batch > 1 else ''}"
        rows.append(Row(f"  faster than run_reference, {samples}", timings.ratio("reference", "nngraph"),
                        ort("reference"), reference_target, lower_is_better=False))
        if neat is not None:
            rows.append(Row(f"  faster than neat-python FeedForwardNetwork, {samples}",
                            timings.ratio("neat-python", "nngraph"), ort("neat-python"), neat_target,
                            lower_is_better=False))
    return rows


def lenet_rows(*, threads: int, rounds: int) -> list[Row | str]:
    """LeNet-5 in float32: ``plan(x)`` over PyTorch eager (and onnxruntime over PyTorch) at batch
    1 and 256, and ``plan.trace(x)`` over ``plan(x)`` at batch 256."""
    model = lenet5()
    plan = nngraph.compile_network(model.graph, dtype=np.float32)
    twin = torch_twin(model)
    if twin is None:
        return ["LeNet-5 against PyTorch eager: torch is not installed (pip install -e '.[bench]')"]
    import torch

    torch.set_num_threads(threads)
    session = onnx_twin(model, threads=threads)
    rows: list[Row | str] = ["LeNet-5, float32: plan(x) time / PyTorch eager time, same weights (lower is "
                             "better)"]
    for batch, target in ((1, 1.0), (256, 2.0)):
        images = np.random.default_rng(3).uniform(size=(batch, 28, 28, 1)).astype(np.float32)
        x = images.reshape(batch, -1)
        competitors: dict[str, Callable[[], object]] = {"nngraph": lambda: plan(x), "torch": lambda: twin(images)}
        if session is not None:
            competitors["onnxruntime"] = lambda: session(images)
        expected = nngraph.run_reference(model.graph, x[:2], dtype=np.float32).outputs
        for name, run in competitors.items():
            _check(name, np.asarray(run())[:2], expected, 1e-4)
        timings = compare(competitors, rounds=rounds)
        ort = timings.ratio("onnxruntime", "torch") if session is not None else None
        rows.append(Row(f"  batch {batch}", timings.ratio("nngraph", "torch"), ort, target, lower_is_better=True))
        if batch == 256:
            traced = compare({"trace": lambda: plan.trace(x), "plan": lambda: plan(x)}, rounds=rounds)
            rows.append(Row("  plan.trace(x) time / plan(x) time, batch 256", traced.ratio("trace", "plan"), None,
                            1.5, lower_is_better=True))
    return rows


def compile_row(model: Sequential, *, rounds: int) -> Row:
    """Compile time over one plain pass over ``G.edges(data="weight")``."""
    G = model.graph

    def plain_pass() -> None:
        for _source, _target, _weight in G.edges(data="weight"):
            pass

    timings = compare({"compile": lambda: nngraph.compile_network(G), "pass": plain_pass},
                      rounds=max(5, rounds // 2))
    label = f"  784-512-512-10 ({G.number_of_edges():,} connections)"
    return Row(label, timings.ratio("compile", "pass"), None, 3.0, lower_is_better=True)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _format(rows: list[Row | str], *, header: list[str]) -> str:
    width = max(len(row.label) for row in rows if isinstance(row, Row)) + 2
    lines = header + ["", f"{'':<{width}}{'nngraph':>10}{'onnxruntime':>13}{'target':>10}   met"]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        sign = "<=" if row.lower_is_better else ">="
        places = 2 if row.lower_is_better else 1
        ort = "-" if row.onnxruntime is None else f"{row.onnxruntime:.{places}f}x"
        lines.append(f"{row.label:<{width}}{row.nngraph:>9.{places}f}x{ort:>13}"
                     f"{sign:>5} {row.target:.{places}f}x   {'yes' if row.met else 'NO'}")
    return "\n".join(lines)


def run_suite(*, threads: int, rounds: int, batches: tuple[int, ...], cpus: str = "any") -> str:
    """Run every benchmark and return the tables: the speed grid, then the rest."""
    lesson = _sequential([8, 6, 6, 4])
    wide = _sequential([784, 512, 512, 10])
    genome = neat_genome()
    depth = max(nngraph.levels(genome).values())
    networks = {"lesson 8-6-6-4": lesson.graph, "784-512-512-10": wide.graph, "NEAT DAG 32-512-8": genome}
    grid = format_grid(run_grid(networks, threads=threads, rounds=rounds, batches=batches))
    options = {"threads": threads, "rounds": rounds}
    rows: list[Row | str] = []
    rows.append(f"NEAT-style DAG, 32-512-8, {genome.number_of_edges():,} connections, {depth} levels, "
                "float64: speed-up (higher is better)")
    rows += neat_rows(genome, **options)
    rows += lenet_rows(**options)
    rows.append('compile_network time / one pass over G.edges(data="weight") (lower is better)')
    rows.append(compile_row(wide, rounds=rounds))
    blas = ", ".join(f"{variable}={os.environ.get(variable)}" for variable in
                     ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    header = [
        f"nngraph benchmarks: medians of {rounds} interleaved rounds, each figure a ratio measured "
        "side by side in this run",
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores; "
        f"CPUs {cpus}; BLAS threads pinned: {blas}; onnxruntime {_version('onnxruntime')} "
        f"(intra-op threads {threads}), torch {_version('torch')} (threads {threads}), "
        f"neat-python {_version('neat-python')}",
        "",
        "plan(x) beside its peers: time / hand-written numpy time (lower is better; * the fastest peer;",
        "/ ort: plan(x) time over onnxruntime's; met: / ort <= 1.1, trace/plan <= 1.5 and, on",
        "784-512-512-10 from batch 1024, nngraph <= 1.1)",
        grid,
        "",
        "onnxruntime column: the same network as an ONNX model, same ratio (the "
        "baseline's time over onnxruntime's)",
    ]
    return _format(rows, header=header)
