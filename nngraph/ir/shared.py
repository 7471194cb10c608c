"""The shared-weights op of the IR: one kernel applied at every position of a window (a convolution).

Its targets are ``filters`` neurons at each of ``positions`` places; the neurons of one position
read the same sources (a window over the op's ``sources``), and the neurons of one filter apply
the same weights to them. So the op stores one ``kernel`` of ``(entries, filters)`` weights and a
``window`` of ``(positions, entries)`` rows into ``sources`` (-1 where the window has no source,
as on the padding of a convolution), instead of a ``(sources, targets)`` matrix that would repeat
the kernel at every position. Targets are ordered filter by filter (``targets[f * positions + p]``),
so that one matrix product writes them all.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from nngraph.ir.plan import SHARED, SHARED_WEIGHTS, _frozen, _stored_entries


@dataclass(frozen=True, eq=False, repr=False)
class SharedOp:
    """The shared-weights op: ``z[f * P + p] = bias[f * P + p] + sum over entries k with
    window[p, k] >= 0 of kernel[k, f] * a[sources[window[p, k]]]``, then the activation.

    Fields
    ------
    index, targets, sources, bias, activation, level : as in ``FusedOp`` (sources sorted by
        column); targets filter by filter.
    window : ``(positions, entries)`` integers, rows into ``sources``; -1 where there is no source.
    kernel : ``(entries, filters)`` weights, shared by every position.

    It presents its connections as ``FusedOp`` does (``shape``, ``connections``, ``nonzeros``,
    ``density``, ``connection_matrix()``, ``dense_weights()``), so tables, explanations and
    diagrams read both alike. Build one with ``shared_op``.
    """

    index: int
    targets: tuple[Hashable, ...]
    sources: tuple[Hashable, ...]
    window: np.ndarray = field(repr=False)
    kernel: np.ndarray = field(repr=False)
    bias: np.ndarray = field(repr=False)
    activation: str
    level: int

    kind = SHARED
    padded = False  # a window entry without a source reads a row of zeros, which is never NaN
    connected = None

    def __repr__(self) -> str:
        return (f"SharedOp(index={self.index}, activation={self.activation!r}, kernel {self.entries}x"
                f"{self.filters} at {self.positions} positions, {len(self.sources)} sources, level={self.level})")

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle, with the arrays read-only again (pickle does not keep the flag)."""
        self.__dict__.update(state)
        for array in (self.window, self.kernel, self.bias):
            _frozen(array)

    @property
    def operation(self) -> str:
        """What the op computes: ``"shared_weights"`` (see the op kinds in ``nngraph.ir.plan``)."""
        return SHARED_WEIGHTS

    @property
    def positions(self) -> int:
        """How many places the kernel is applied at."""
        return self.window.shape[0]

    @property
    def entries(self) -> int:
        """How many sources a window holds (rows of the kernel)."""
        return self.window.shape[1]

    @property
    def filters(self) -> int:
        """How many neurons each position computes (columns of the kernel)."""
        return self.kernel.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(len(sources), len(targets))``, the shape of its connection matrix."""
        return (len(self.sources), len(self.targets))

    @property
    def connections(self) -> int:
        """How many connections it computes: every source of a window feeds every filter there."""
        return int((self.window >= 0).sum()) * self.filters

    @property
    def nonzeros(self) -> int:
        """How many of its connections have a nonzero weight."""
        uses = (self.window >= 0).sum(axis=0)
        return int(uses @ np.count_nonzero(self.kernel, axis=1))

    @property
    def density(self) -> float:
        """``nonzeros`` over the size of its connection matrix (1.0 when empty)."""
        size = self.shape[0] * self.shape[1]
        return self.nonzeros / size if size else 1.0

    @property
    def parameters(self) -> int:
        """The numbers it stores: the kernel's (once, however many positions use it)."""
        return self.kernel.size

    def connection_matrix(self) -> sparse.coo_array:
        """The connections as a sparse ``(sources, targets)`` matrix, one stored entry each (a
        connection of weight 0.0 included).

        Examples
        --------
        >>> import numpy as np
        >>> op = shared_op(index=0, targets=["y0", "y1"], sources=["a", "b", "c"],
        ...                window=np.array([[0, 1], [1, 2]]), kernel=np.array([[2.0], [-1.0]]),
        ...                bias=np.zeros(2), activation="linear", level=1)
        >>> op.dense_weights().tolist()  # y0 = 2a - b, y1 = 2b - c
        [[2.0, 0.0], [-1.0, 2.0], [0.0, -1.0]]
        """
        position, entry = np.nonzero(self.window >= 0)
        rows = np.tile(self.window[position, entry], self.filters)
        cols = (np.arange(self.filters)[:, None] * self.positions + position[None, :]).reshape(-1)
        values = self.kernel[entry].T.reshape(-1)
        return sparse.coo_array((values, (rows, cols)), shape=self.shape)

    def connection_mask(self) -> np.ndarray:
        """A boolean ``(sources, targets)`` array, True at each connection."""
        return _stored_entries(self.connection_matrix())

    def dense_weights(self) -> np.ndarray:
        """The weights as a dense ``(sources, targets)`` array, zero where there is no connection."""
        return self.connection_matrix().toarray()


def shared_op(*, index: int, targets: Iterable[Hashable], sources: Iterable[Hashable], window: np.ndarray,
              kernel: np.ndarray, bias: np.ndarray, activation: str, level: int) -> SharedOp:
    """Return a ``SharedOp`` with its arrays copied and read-only (example at ``connection_matrix``)."""
    return SharedOp(index=index, targets=tuple(targets), sources=tuple(sources),
                    window=_frozen(np.array(window, dtype=np.int64)), kernel=_frozen(np.array(kernel)),
                    bias=_frozen(np.array(bias)), activation=activation, level=level)
