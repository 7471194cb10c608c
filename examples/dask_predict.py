"""Batch inference beyond one machine: a compiled plan over a Dask array, then a population on a
``dask.distributed`` cluster this example starts itself (two worker processes).

``nngraph.dask.predict(plan, x)`` maps the plan over the row chunks of ``x`` and returns a lazy dask
array of outputs, with ``x``'s row chunks and the plan's dtype; nothing runs before ``compute``.
On a cluster, the plan travels to each worker once, by pickling (a compiled plan pickles as its IR
and generates its code again on arrival). Run it: ``python examples/dask_predict.py``.
"""

from __future__ import annotations

import time

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import nngraph
import nngraph.dask
from nngraph.layers import Dense
from nngraph.models import Sequential


def classifier(seed: int) -> Sequential:
    """A 784-128-10 classifier with seeded weights (an MNIST-shaped network)."""
    return Sequential([Dense(units=128, input_shape=(784,), activation="relu"),
                       Dense(units=10, activation="softmax")], seed=seed)


def main() -> None:
    x = da.random.default_rng(0).uniform(size=(100_000, 784), chunks=(10_000, 784)).astype(np.float32)

    # One plan, the threaded scheduler of this process.
    plan = nngraph.compile_network(classifier(0).graph, dtype=np.float32)
    y = nngraph.dask.predict(plan, x)
    print(f"lazy outputs: shape {y.shape}, {y.numblocks[0]} chunks of {y.chunks[0][0]} rows, {y.dtype}")
    start = time.perf_counter()
    outputs = y.compute()
    print(f"threaded scheduler: {len(outputs):,} samples in {time.perf_counter() - start:.2f} s")
    first = x[:1000].compute()
    assert np.allclose(outputs[:1000], plan(first), rtol=1e-5, atol=1e-6)
    # One neuron's value, traced block by block.
    hidden = nngraph.dask.trace(plan, x, ["dense/0", "dense/1"]).compute()
    print(f"traced: {hidden.shape[1]} named neurons for {len(hidden):,} samples")

    # A population of eight classifiers on a cluster of two worker processes.
    population = nngraph.compile_population({seed: classifier(seed).graph for seed in range(8)},
                                            dtype=np.float32)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        start = time.perf_counter()
        votes = client.compute(nngraph.dask.predict(population, x[:20_000])).result()
        print(f"cluster of {len(client.scheduler_info()['workers'])} workers: {votes.shape[1]} networks x "
              f"{len(votes):,} samples in {time.perf_counter() - start:.2f} s")
    assert np.allclose(votes[:1000], population(first), rtol=1e-5, atol=1e-6)
    agree = np.mean(votes.argmax(axis=2) == votes.argmax(axis=2)[:, :1])
    print(f"the networks agree with network 0 on {agree:.0%} of their votes")


if __name__ == "__main__":
    main()
