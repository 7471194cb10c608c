"""nngraph's benchmarks (``make bench``): one table of ratios, each measured side by side.

1. The speed grid (``grid.py``): ``plan(x)`` and ``plan.trace(x)`` beside hand-written numpy,
   onnxruntime and PyTorch eager, on the lesson's 8-6-6-4 network, 784-512-512-10 and the
   NEAT-style DAG below, in float32 and float64, at batches 1 to 4096.
2. A NEAT-style DAG (32 inputs, 512 hidden neurons, 8 outputs, 6,000 connections, tanh and
   sigmoid, 41 levels) against ``run_reference`` and neat-python's ``FeedForwardNetwork``.
3. LeNet-5 (float32) against PyTorch eager with the same weights, at batch 1 and 256, and its
   trace against its plain run (``benchmarks/cnn.py``; PyTorch is part of the ``bench`` extra).
4. Compiling the 784-512-512-10 network against one plain pass over ``G.edges(data="weight")``.

onnxruntime and PyTorch (the ``bench`` extra) run the same network as columns of their own.
BLAS, onnxruntime and PyTorch are pinned to ``--threads`` threads (default 1), set before numpy loads,
and the process to as many CPUs (``--cpus``; default the first it may run on): a thread the
scheduler moves between cores starts again on cold caches, which showed as run-to-run swings.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _pin_threads(threads: int) -> None:
    if "numpy" in sys.modules:
        raise RuntimeError("numpy is loaded already; pin BLAS threads before importing it")
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def _pin_cpus(cpus: list[int] | None, threads: int) -> str:
    """Bind the process to ``cpus`` (default: the first ``threads`` of those it may use); say which."""
    if not hasattr(os, "sched_setaffinity"):  # not Linux: the scheduler's choice
        return "any"
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpus if cpus is not None else allowed[:threads]
    unknown = sorted(set(chosen) - set(allowed))
    if unknown:
        raise SystemExit(f"--cpus: this process may not run on CPU {unknown[0]} (allowed: {allowed})")
    os.sched_setaffinity(0, chosen)
    return ",".join(map(str, chosen))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and onnxruntime threads")
    parser.add_argument("--cpus", type=int, nargs="+", default=None,
                        help="the CPUs to run on (default: the first --threads the process may use)")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per figure")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 256, 1024, 4096],
                        help="the batch sizes of the speed grid")
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    cpus = _pin_cpus(args.cpus, args.threads)
    sys.path[:0] = [str(ROOT), str(ROOT / "examples"), str(Path(__file__).resolve().parent)]
    from suite import run_suite  # imports numpy, so only after pinning

    print(run_suite(threads=args.threads, rounds=args.rounds, batches=tuple(args.batches), cpus=cpus))


if __name__ == "__main__":
    main()
