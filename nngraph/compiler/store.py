"""Equal arrays of a plan stored once: tied weights (one kernel at every time step) share one array.

An unrolled recurrent layer applies the same weights at every step, so lowering gives every step's
op its own copy of the same matrix, bias and term layout. ``store_once`` makes the ops of a plan
reference one array wherever their arrays are equal (same dtype, shape and numbers): the plan then
holds each distinct weight matrix once, in memory and in a pickle (``pickle`` writes an object
referenced twice once), and ``print(plan)`` says how many numbers that saves. It changes no
number: the arrays are read-only, and an op reads them as before. ``build_plan`` runs it last;
codegen does the same for the constants of the generated code (``store_constants``), whose
gathered weights are built op by op.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable
from itertools import chain
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from nngraph.ir.plan import AggregateOp, CSRArrays, FusedOp, Op, Plan, Reduction, SharedOp


class _Store:
    """The first array seen with each content; ``get`` returns it for an equal array. Arrays are
    first told apart by kind, shape, dtype (and stored entries): only where two share those are
    their bytes read and compared, so a plan whose ops differ in shape (most) copies no bytes."""

    def __init__(self) -> None:
        # Per (kind, shape, dtype, entries): the one array seen so far, or by content those seen.
        self._arrays: dict[tuple, object] = {}

    def get(self, array: np.ndarray | sparse.csr_array | CSRArrays | None
            ) -> np.ndarray | sparse.csr_array | CSRArrays | None:
        if array is None:
            return None
        csr = not isinstance(array, np.ndarray)  # else a csr_array or CSRArrays (its data's dtype is its own)
        key = (array.shape, array.data.dtype, len(array.data)) if csr else (array.shape, array.dtype)
        held = self._arrays.get(key)
        if held is None:
            self._arrays[key] = array  # alone so far: its bytes need not be read
            return array
        if not isinstance(held, dict):
            held = self._arrays[key] = {_content(held, csr): held}
        return held.setdefault(_content(array, csr), array)


def _content(array: np.ndarray | sparse.csr_array | CSRArrays, csr: bool) -> tuple[bytes, ...]:
    """The numbers of ``array`` as bytes (equal for equal arrays of one kind, shape and dtype)."""
    if csr:
        return array.data.tobytes(), array.indices.tobytes(), array.indptr.tobytes()
    return (np.ascontiguousarray(array).tobytes(),)


def store_once(plan: Plan) -> Plan:
    """Return ``plan`` with each set of equal arrays of its ops replaced by one of them.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.layers import LSTM, Input
    >>> from nngraph.models import Sequential
    >>> plan = build_plan(Sequential([Input(shape=(4, 2)), LSTM(3)], seed=0).graph)
    >>> gates = [op for op in plan.ops if op.activation_runs()[0][0] == "sigmoid"]  # + the tanh candidate
    >>> len(gates), len({id(op.weights) for op in gates})  # step 0 reads no state: its own weights
    (4, 2)
    """
    # First every array of the plan through one store, in one pass: when none is equal to an
    # earlier one (most plans), the plan is as it was, and no op is looked at field by field.
    arrays = list(chain.from_iterable(map(_arrays, plan.ops)))
    if all(map(operator.is_, map(_Store().get, arrays), arrays)):
        return plan
    store = _Store()
    return dataclasses.replace(plan, ops=tuple(_stored(op, store) for op in plan.ops))


def _arrays(op: Op) -> tuple[np.ndarray | sparse.csr_array | CSRArrays | None, ...]:
    """The arrays of ``op`` that ``_stored`` stores (a sparse op's weights as held)."""
    if isinstance(op, FusedOp):
        return op.stored_weights, op.bias, op.connected
    if isinstance(op, AggregateOp):
        return (op.bias, *chain.from_iterable((reduction.rows, reduction.weights) for reduction in op.reductions))
    return op.window, op.kernel, op.bias


def _stored(op: Op, store: _Store) -> Op:
    """``op`` with its arrays as ``store`` holds them: ``op`` itself when they are its own already
    (an op with no array equal to an earlier one is not copied)."""
    if isinstance(op, AggregateOp):
        reductions = tuple(Reduction(reduction.aggregation, reduction.start, store.get(reduction.rows),
                                     store.get(reduction.weights)) for reduction in op.reductions)
        if all(new.rows is old.rows and new.weights is old.weights for new, old in zip(reductions, op.reductions)):
            reductions = op.reductions
        held = {"bias": op.bias, "reductions": op.reductions}
        fields = {"bias": store.get(op.bias), "reductions": reductions}
    else:  # a sparse op's weights as held: CSR arrays not made into a csr_array stay so
        held = ({"weights": op.stored_weights, "bias": op.bias, "connected": op.connected} if isinstance(op, FusedOp)
                else {"window": op.window, "kernel": op.kernel, "bias": op.bias})
        fields = dict(zip(held, map(store.get, held.values())))
    if all(map(operator.is_, fields.values(), held.values())):
        return op
    return dataclasses.replace(op, **fields)


@dataclass(frozen=True)
class Later:
    """A constant of generated code built only when the code is compiled, by ``store_constants``:
    the arrays some lines name (a sparse product's CSR arrays, the level loop's ``LEVELS``) cost
    more to build than their lines, and a plan run only on small batches never compiles its numpy
    pass. ``build`` returns the constant; ``Later.shared`` builds one value for several."""

    build: Callable[[], object]

    @staticmethod
    def shared(build: Callable[[], object]) -> Callable[[], object]:
        """``build``, called once however many ``Later`` read its result."""
        return functools.cache(build)


def store_constants(constants: dict[str, object]) -> dict[str, object]:
    """The constants of generated code, each ``Later`` built, with each set of equal arrays replaced
    by one of them (the names stay: ``W6_7`` and ``W12_13`` of two time steps are one array); other
    values as they are.

    Examples
    --------
    >>> import numpy as np
    >>> stored = store_constants({"W0": np.ones(3), "W1": Later(lambda: np.ones(3)), "f0": np.tanh})
    >>> stored["W0"] is stored["W1"], stored["f0"] is np.tanh
    (True, True)
    """
    store = _Store()
    built = {name: value.build() if isinstance(value, Later) else value for name, value in constants.items()}
    return {name: store.get(value) if isinstance(value, np.ndarray) else value for name, value in built.items()}
