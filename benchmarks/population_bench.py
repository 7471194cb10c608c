"""Population and Dask benchmarks (``make bench``): ratios measured side by side in one run.

1. A generation of neat-python genomes (150 genomes: 8 inputs, 2 outputs, 5 to 40 hidden neurons,
   20 to 150 connections, mixed activations, skip connections; ``neat_genomes.py``) evaluated on 1,
   100 and 1,000 samples, conversion and compilation included: ``nngraph.interop.neat``'s
   ``evaluate_genomes`` against neat-python's ``FeedForwardNetwork.create`` + ``activate`` loop, and
   against neat-python's ``ParallelEvaluator`` with 2 worker processes (its pool started beforehand).
2. 1,000 genomes of 100 hidden neurons (200 to 400 connections each) read, compiled and run on 100
   samples: time, and peak memory (``tracemalloc``) per connection.
3. A 784-512-512-10 float32 plan over a 200,000 x 784 array: ``nngraph.dask.predict`` on a dask
   array against the same plan on the whole numpy array, with the threaded scheduler and with a
   2-worker ``LocalCluster`` (the array generated and held on the workers).

BLAS is pinned to ``--threads`` threads (default 1), set before numpy loads; Dask's threaded
scheduler and cluster add their own parallelism on top, which is what they are for.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SAMPLES = (1, 100, 1000)
TARGET_AT_100 = 20.0


def _pin_threads(threads: int) -> None:
    if "numpy" in sys.modules:
        raise RuntimeError("numpy is loaded already; pin BLAS threads before importing it")
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def _genome_fitness(genome: object, config: object) -> float:
    """One genome as neat-python's ParallelEvaluator runs it: create, then activate every sample."""
    import numpy as np
    from neat.nn import FeedForwardNetwork

    network = FeedForwardNetwork.create(genome, config)
    outputs = [network.activate(sample) for sample in _genome_fitness.samples]  # type: ignore[attr-defined]
    return -float(np.sum(np.square(outputs)))


def neat_rows(*, rounds: int) -> list[str]:
    import neat
    import numpy as np
    from neat_genomes import neat_config, random_genomes
    from timing import compare

    from nngraph.interop.neat import compile_genomes, evaluate_genomes, genome_arrays

    config = neat_config()
    genomes = random_genomes(config, 150)
    n_connections = sum(len(genome.connections) for _, genome in genomes)
    hidden = [len(genome.nodes) - 2 for _, genome in genomes]
    lines = [f"A generation of 150 neat-python genomes ({min(hidden)} to {max(hidden)} hidden neurons, "
             f"{n_connections:,} connections, mixed activations), conversion and compilation included:",
             f"{'samples':>9}{'nngraph':>11}{'neat-python loop':>18}{'speed-up':>10}"
             f"{'ParallelEvaluator(2)':>22}{'speed-up':>10}"]
    rng = np.random.default_rng(0)
    for n_samples in SAMPLES:
        x = rng.uniform(-1.0, 1.0, size=(n_samples, 8))
        samples = x.tolist()
        _genome_fitness.samples = samples  # type: ignore[attr-defined]
        ours = evaluate_genomes(genomes, config, x)
        for key, genome in genomes[:10]:
            network = neat.nn.FeedForwardNetwork.create(genome, config)
            expected = [network.activate(sample) for sample in samples]
            np.testing.assert_allclose(ours[key], expected, rtol=1e-9, atol=1e-12)

        def neat_loop() -> None:
            for _, genome in genomes:
                network = neat.nn.FeedForwardNetwork.create(genome, config)
                for sample in samples:
                    network.activate(sample)

        evaluator = neat.ParallelEvaluator(2, _genome_fitness)
        try:
            timings = compare({"nngraph": lambda: evaluate_genomes(genomes, config, x),
                               "neat": neat_loop,
                               "parallel": lambda: evaluator.evaluate(genomes, config)},
                              rounds=rounds if n_samples < 1000 else max(3, rounds // 3))
        finally:
            evaluator.close()
        seconds = {name: timings.seconds(name) for name in ("nngraph", "neat", "parallel")}
        lines.append(f"{n_samples:>9}{1e3 * seconds['nngraph']:>9.1f}ms{1e3 * seconds['neat']:>16.1f}ms"
                     f"{timings.ratio('neat', 'nngraph'):>9.1f}x{1e3 * seconds['parallel']:>20.1f}ms"
                     f"{timings.ratio('parallel', 'nngraph'):>9.1f}x")
        if n_samples == 100:
            at_100 = timings.ratio("neat", "nngraph")
    lines.append(f"target at 100 samples: >= {TARGET_AT_100:.0f}x the neat-python loop: "
                 f"{'met' if at_100 >= TARGET_AT_100 else 'NOT met'} ({at_100:.1f}x)")
    # Where nngraph's time goes, at 100 samples.
    x = rng.uniform(-1.0, 1.0, size=(100, 8))
    steps = {"read the genes (arrays)": lambda: genome_arrays(genomes, config),
             "read + compile (plan and code)": lambda: compile_genomes(genomes, config)}
    pop = compile_genomes(genomes, config)
    steps["run 100 samples"] = lambda: pop(x)
    parts = compare(steps, rounds=rounds)
    took = ", ".join(f"{name} {1e3 * parts.seconds(name):.1f} ms" for name in steps)
    lines.append(f"  nngraph's steps: {took}; the plan: {len(pop.plan.ops)} ops over "
                 f"{pop.plan.n_columns:,} neurons")
    return lines


def large_population_rows() -> list[str]:
    """1,000 genomes of 100 hidden neurons: they compile and run, in memory that follows the connections."""
    import tracemalloc

    import numpy as np
    from neat_genomes import neat_config, random_genomes

    from nngraph.interop.neat import compile_genomes

    config = neat_config()
    genomes = random_genomes(config, 1000, seed=1, hidden=(100, 100), connections=(200, 400))
    n_connections = sum(len(genome.connections) for _, genome in genomes)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, size=(100, 8))
    start = time.perf_counter()
    pop = compile_genomes(genomes, config)
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    outputs = pop(x)
    ran = time.perf_counter() - start
    tracemalloc.start()
    compile_genomes(genomes, config)(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return [f"1,000 neat-python genomes of 100 hidden neurons ({n_connections:,} connections, "
            f"{pop.plan.n_columns:,} neurons): read + compile {compiled:.2f} s, run 100 samples "
            f"{1e3 * ran:.0f} ms, outputs {outputs.shape}; peak memory of read + compile + run "
            f"{peak / 1e6:.0f} MB, {peak / n_connections:.0f} bytes per connection"]


def dask_rows(*, rounds: int) -> list[str]:
    import dask
    import dask.array as da
    import numpy as np
    from dask.distributed import Client, LocalCluster, wait

    import nngraph
    import nngraph.dask
    from nngraph.layers import Dense
    from nngraph.models import Sequential

    model = Sequential([Dense(units=512, input_shape=(784,), activation="relu"),
                        Dense(units=512, activation="relu"), Dense(units=10, activation="softmax")], seed=0)
    plan = nngraph.compile_network(model.graph, dtype=np.float32)
    n, chunk = 200_000, 10_000
    x = np.random.default_rng(0).uniform(size=(n, 784)).astype(np.float32)
    lazy = da.from_array(x, chunks=(chunk, 784))

    def timed(function: object, repeat: int) -> float:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            function()  # type: ignore[operator]
            best = min(best, time.perf_counter() - start)
        return best

    repeat = max(2, rounds // 5)
    expected = plan(x[:chunk])
    got = nngraph.dask.predict(plan, lazy[:chunk]).compute()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    numpy_seconds = timed(lambda: plan(x), repeat)
    with dask.config.set(scheduler="threads"):
        threaded = timed(lambda: nngraph.dask.predict(plan, lazy).compute(), repeat)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = da.random.default_rng(0).uniform(size=(n, 784), chunks=(chunk, 784)).astype(np.float32)
        remote = client.persist(remote)  # the samples live on the workers, as a cluster's data would
        wait(remote)
        cluster_seconds = timed(lambda: client.compute(nngraph.dask.predict(plan, remote)).result(), repeat)
    return [f"784-512-512-10 float32 plan over {n:,} x 784 samples ({n // chunk} chunks of {chunk:,} rows), "
            "time / plan(x) on the whole numpy array (lower is better):",
            f"  numpy array, plan(x): {numpy_seconds:.2f} s",
            f"  dask array, threaded scheduler ({os.cpu_count()} threads): {threaded:.2f} s, "
            f"{threaded / numpy_seconds:.2f}x",
            f"  dask array on a LocalCluster of 2 worker processes: {cluster_seconds:.2f} s, "
            f"{cluster_seconds / numpy_seconds:.2f}x"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per figure")
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    sys.path[:0] = [str(HERE.parent), str(HERE)]
    import numpy as np
    from importlib import metadata

    header = (f"nngraph population and Dask benchmarks: python {sys.version.split()[0]}, "
              f"numpy {np.__version__}, neat-python {metadata.version('neat-python')}, "
              f"dask {metadata.version('dask')}, "
              f"{os.cpu_count()} cores, BLAS threads {args.threads}")
    print(header)
    print("\n".join(neat_rows(rounds=args.rounds)))
    print("\n".join(large_population_rows()))
    print("\n".join(dask_rows(rounds=args.rounds)))


if __name__ == "__main__":
    main()
