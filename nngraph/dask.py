"""Plans on Dask: a compiled plan applied to a ``dask.array`` chunk by chunk, on one machine or many.

``predict(plan, x)`` maps a plan (or a ``PopulationPlan``) over the row chunks of ``x`` and gives a
dask array of outputs with the same row chunks and the plan's dtype; ``trace(plan, x, neurons)``
does the same for the values (or weighted sums) of named neurons. Nothing is computed until the
result is; shapes, chunks and dtype come from the plan itself, never from running it on fake data.

The plan enters the task graph once, as one ``dask.delayed`` value that every block's task reads:
on a ``dask.distributed`` cluster it is pickled (a compiled plan pickles as its IR and regenerates
its code on load) and sent to each worker once, not once per chunk. Dask is the ``dask`` extra
(``pip install 'nngraph[dask]'``), imported only when these functions are called.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Union

import numpy as np

from nngraph.errors import ArgumentError, InputError, NeuronNotFoundError
from nngraph.extras import import_extra
from nngraph.execute.compiled import CompiledPlan
from nngraph.population import PopulationPlan

AnyPlan = Union[CompiledPlan, PopulationPlan]
QUANTITIES = ("value", "weighted_sum")


def _dask() -> tuple[Any, Any]:
    """``dask`` and ``dask.array``, or ``ExtraMissingError`` saying how to install them."""
    return (import_extra("dask", extra="dask", library="Dask"),
            import_extra("dask.array", extra="dask", library="Dask"))


def _compiled(plan: object, function: str) -> CompiledPlan:
    """The compiled plan that runs ``plan`` (a population's own), or ``ArgumentError``."""
    if isinstance(plan, PopulationPlan):
        return plan.plan
    if isinstance(plan, CompiledPlan):
        return plan
    raise ArgumentError(f"{function}: plan must be a CompiledPlan (compile_network) or a PopulationPlan "
                        f"(compile_population), got {type(plan).__name__}")


def _rows(x: Any, n_inputs: int, function: str) -> Any:
    """``x`` as a 2-d dask array whose columns are one chunk (each block is whole samples)."""
    _, da = _dask()
    x = x if isinstance(x, da.Array) else da.asarray(x)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise InputError(f"{function}: x must have shape (n_samples, {n_inputs}), got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise InputError(f"{function}: x must hold numbers, got dtype {x.dtype}")
    return x.rechunk({1: -1}) if x.numblocks[1] != 1 else x


def _known(plan: CompiledPlan, node: object) -> bool:
    try:
        return node in plan.columns
    except TypeError:  # an unhashable name names no neuron
        return False


def _predict_block(block: np.ndarray, plan: AnyPlan) -> np.ndarray:
    return plan(block)


def _trace_block(block: np.ndarray, plan: CompiledPlan, columns: np.ndarray, quantity: str) -> np.ndarray:
    traced = plan.trace(block)
    return (traced.values if quantity == "value" else traced.weighted_sums)[:, columns]


def predict(plan: AnyPlan, x: Any) -> Any:
    """``plan(x)`` for a dask array ``x`` of shape ``(n_samples, n_inputs)``, block by block.

    Returns a lazy dask array: ``(n_samples, n_outputs)``, or ``(n_samples, n_networks,
    n_outputs)`` for a ``PopulationPlan``, chunked along the samples as ``x`` is, of the plan's dtype.

    Examples
    --------
    >>> import dask.array as da, nngraph
    >>> from nngraph.demo import lesson_model
    >>> plan = nngraph.compile_network(lesson_model().graph)
    >>> x = da.random.default_rng(0).uniform(size=(1000, 8), chunks=(250, 8))
    >>> y = predict(plan, x)
    >>> y.shape, y.chunks[0], y.dtype
    ((1000, 4), (250, 250, 250, 250), dtype('float64'))
    >>> bool(np.allclose(y.compute(), plan(x.compute())))
    True
    """
    dask, da = _dask()
    compiled = _compiled(plan, "predict")
    x = _rows(x, len(compiled.inputs), "predict")
    shape = (len(plan.outputs),) if isinstance(plan, CompiledPlan) else (len(plan.keys), plan.n_outputs)
    chunks = x.chunks[:1] + tuple((size,) for size in shape)
    new_axis = [] if len(shape) == 1 else [2]
    return da.map_blocks(_predict_block, x, dask.delayed(plan, pure=True, traverse=False),
                         chunks=chunks, new_axis=new_axis, dtype=compiled.dtype,
                         meta=np.empty((0,) + shape, dtype=compiled.dtype), token="nngraph-predict")


def trace(plan: AnyPlan, x: Any, neurons: Sequence[Hashable], *, quantity: str = "value") -> Any:
    """The ``quantity`` (``"value"`` or ``"weighted_sum"``) of each of ``neurons`` for a dask
    array ``x``, block by block: a lazy ``(n_samples, len(neurons))`` array of the plan's dtype.

    Unknown neurons raise ``NeuronNotFoundError`` at once, not when the result is computed.

    Examples
    --------
    >>> import dask.array as da, nngraph
    >>> from nngraph.demo import lesson_model
    >>> plan = nngraph.compile_network(lesson_model().graph)
    >>> x = da.random.default_rng(0).uniform(size=(100, 8), chunks=(50, 8))
    >>> z = trace(plan, x, ["dense/0", "dense_1/3"], quantity="weighted_sum")
    >>> z.shape, z.chunks
    ((100, 2), ((50, 50), (2,)))
    >>> bool(np.allclose(z.compute()[:, 1], plan.trace(x.compute()).weighted_sum("dense_1/3")))
    True
    """
    dask, da = _dask()
    compiled = _compiled(plan, "trace")
    if quantity not in QUANTITIES:
        raise ArgumentError(f"trace: quantity must be one of {', '.join(map(repr, QUANTITIES))}, "
                            f"got {quantity!r}")
    if isinstance(neurons, (str, bytes)) or not isinstance(neurons, Sequence):
        raise ArgumentError(f"trace: neurons must be a list of neuron names, got {type(neurons).__name__}")
    missing = [node for node in neurons if not _known(compiled, node)]
    if missing:
        raise NeuronNotFoundError(f"trace: no neuron {missing[0]!r} in this plan")
    columns = np.array([compiled.columns[node] for node in neurons], dtype=np.intp)
    x = _rows(x, len(compiled.inputs), "trace")
    return da.map_blocks(_trace_block, x, dask.delayed(compiled, pure=True, traverse=False), columns,
                         quantity, chunks=(x.chunks[0], (len(columns),)), dtype=compiled.dtype,
                         meta=np.empty((0, len(columns)), dtype=compiled.dtype), token="nngraph-trace")
