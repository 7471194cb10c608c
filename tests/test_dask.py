"""Plans on Dask: lazy arrays of the right chunks and dtype, equal to the plan; a population on a
``dask.distributed`` cluster of two worker processes."""

from __future__ import annotations

import subprocess
import sys

import dask
import dask.array as da
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster

import nngraph
import nngraph.dask as nd
from nngraph import ExtraMissingError, compile_population
from nngraph.demo import lesson_model


@pytest.fixture(scope="module")
def client() -> Client:
    """One cluster of two worker processes for the module: starting one costs a few seconds."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield client


def assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal up to the rounding of a product over another batch size (BLAS blocks by it)."""
    rtol = 1e-5 if expected.dtype == np.float32 else 1e-12
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)


def samples(n: int = 1000, chunks: int = 300, dtype: type = np.float64) -> da.Array:
    return da.random.default_rng(0).uniform(-1.0, 1.0, size=(n, 8), chunks=(chunks, 8)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_keeps_the_row_chunks_and_gives_the_plans_dtype(dtype: type) -> None:
    plan = nngraph.compile_network(lesson_model().graph, dtype=dtype)
    x = samples(dtype=np.float64)
    y = nd.predict(plan, x)
    assert y.shape == (1000, 4) and y.chunks == ((300, 300, 300, 100), (4,)) and y.dtype == dtype
    assert_same(y.compute(scheduler="threads"), plan(x.compute()))


def test_predict_never_runs_the_plan_before_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(nd, "_predict_block", lambda block, plan: calls.append(block.shape) or plan(block))
    plan = nngraph.compile_network(lesson_model().graph)
    y = nd.predict(plan, samples())
    assert calls == [] and y.dtype == np.float64
    y.compute(scheduler="sync")
    assert sorted(calls) == [(100, 8), (300, 8), (300, 8), (300, 8)]  # real blocks only


def test_predict_takes_a_population_and_gives_a_member_axis() -> None:
    pop = compile_population({seed: lesson_model(seed=seed).graph for seed in range(3)})
    x = samples(n=50, chunks=20)
    y = nd.predict(pop, x)
    assert y.shape == (50, 3, 4) and y.chunks == ((20, 20, 10), (3,), (4,))
    assert_same(y.compute(scheduler="threads"), pop(x.compute()))


def test_columns_split_over_chunks_are_joined() -> None:
    plan = nngraph.compile_network(lesson_model().graph)
    x = samples(n=40).rechunk((10, 3))
    assert_same(nd.predict(plan, x).compute(), plan(x.compute()))


def test_trace_gives_named_neurons_values_or_weighted_sums() -> None:
    plan = nngraph.compile_network(lesson_model().graph)
    x = samples(n=100, chunks=30)
    names = ["dense_1/2", "dense/0", "dense_2/3"]
    reference = plan.trace(x.compute())
    values = nd.trace(plan, x, names)
    sums = nd.trace(plan, x, names, quantity="weighted_sum")
    assert values.shape == (100, 3) and values.chunks == ((30, 30, 30, 10), (3,))
    assert_same(values.compute(), np.stack([reference.value(n) for n in names], axis=1))
    assert_same(sums.compute(), np.stack([reference.weighted_sum(n) for n in names], axis=1))


def test_trace_of_a_population_reaches_a_members_neuron() -> None:
    pop = compile_population({"a": lesson_model(seed=1).graph, "b": lesson_model(seed=2).graph})
    x = samples(n=30, chunks=10)
    traced = nd.trace(pop, x, [("b", "dense/4")]).compute()
    assert_same(traced[:, 0], pop.trace(x.compute()).value(("b", "dense/4")))


def test_bad_arguments_are_refused_before_anything_runs() -> None:
    plan = nngraph.compile_network(lesson_model().graph)
    with pytest.raises(nngraph.NeuronNotFoundError, match="no neuron 'nope'"):
        nd.trace(plan, samples(), ["dense/0", "nope"])
    with pytest.raises(nngraph.ArgumentError, match="quantity must be one of"):
        nd.trace(plan, samples(), ["dense/0"], quantity="values")
    with pytest.raises(nngraph.ArgumentError, match="neurons must be a list"):
        nd.trace(plan, samples(), "dense/0")
    with pytest.raises(nngraph.InputError, match=r"x must have shape \(n_samples, 8\), got \(10, 3\)"):
        nd.predict(plan, da.zeros((10, 3)))
    with pytest.raises(nngraph.InputError, match="x must hold numbers"):
        nd.predict(plan, da.from_array(np.array([["a"] * 8])))
    with pytest.raises(nngraph.ArgumentError, match="plan must be a CompiledPlan"):
        nd.predict(plan.plan, samples())


def test_a_population_runs_on_a_cluster_of_two_worker_processes(client: Client) -> None:
    pop = compile_population({seed: lesson_model(seed=seed).graph for seed in range(4)})
    x = samples(n=2000, chunks=250)
    # computed in the worker processes, where the plan travelled by pickle
    on_cluster = client.compute(nd.predict(pop, x)).result()
    assert_same(on_cluster, pop(x.compute()))


def test_a_float32_plan_traces_on_the_cluster(client: Client) -> None:
    plan = nngraph.compile_network(lesson_model().graph, dtype=np.float32)
    x = samples(n=500, chunks=100, dtype=np.float32)
    got = client.compute(nd.trace(plan, x, ["dense_2/1"])).result()
    assert got.dtype == np.float32
    assert_same(got[:, 0], plan.trace(x.compute()).value("dense_2/1"))


def test_importing_nngraph_imports_neither_dask_nor_neat() -> None:
    code = "import sys, nngraph, nngraph.population; print(sorted({'dask', 'neat'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_without_dask_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = nngraph.compile_network(lesson_model().graph)
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ExtraMissingError, match=r"pip install 'nngraph\[dask\]'") as info:
        nd.predict(plan, np.zeros((3, 8)))
    assert info.value.extra == "dask"
    assert dask is not None  # the real module is back after the test
