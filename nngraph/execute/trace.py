"""The ``Trace``: every neuron's weighted sum and value after a forward pass, readable by name.

Both executors return it. The arrays are laid out by column: ``columns[node]``
is the neuron's column in ``weighted_sums`` and ``values`` (each of shape
``(batch, n_neurons)``). Inputs have a value (their feature) but no weighted
sum; their weighted-sum column holds NaN.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np

from nngraph.core.structure import Column, LayerPositions
from nngraph.errors import ArgumentError, InputError, NeuronNotFoundError, shown
from nngraph.names import printable

COMPACT_FROM = 1e6


def format_number(value: float, *, precision: int = 4) -> str:
    """``value`` with ``precision`` decimals, or, from a magnitude of ``COMPACT_FROM`` up, with
    ``precision`` significant digits, so that 1e300 takes ten characters rather than 300.

    Examples
    --------
    >>> format_number(-0.25), format_number(123456.0), format_number(1e300), format_number(float("nan"))
    ('-0.2500', '123456.0000', '1e+300', 'nan')
    """
    if abs(value) < COMPACT_FROM:
        return f"{value:.{precision}f}"
    return f"{value:.{precision}g}"


@dataclass(frozen=True, eq=False)
class Trace:
    """Weighted sums and values of every neuron for a batch of samples.

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.models import Sequential
    >>> from nngraph.layers import Dense
    >>> model = Sequential([Dense(units=2, input_shape=(3,), activation="relu")], seed=0)
    >>> trace = nngraph.run_reference(model.graph, [1.0, 2.0, 3.0])
    >>> trace.outputs.shape
    (1, 2)
    >>> trace.value("dense/0").shape
    (1,)
    """

    weighted_sums: np.ndarray
    values: np.ndarray
    columns: Mapping[Hashable, int]
    input_nodes: tuple[Hashable, ...]
    output_nodes: tuple[Hashable, ...]
    groups: tuple[Column, ...]
    #: The output positions of each layer of a built model (``nngraph.core.structure.layer_positions``),
    #: which ``layer_values`` and ``layer_weighted_sums`` read; empty for a graph without layer records.
    layers: tuple[LayerPositions, ...] = ()
    #: What computed the trace: the network (``run_reference``) or the plan (``plan.trace``), so that
    #: the trace can show itself on its network (``_repr_html_``). ``None`` when unknown.
    source: object = field(default=None, repr=False)

    @staticmethod
    def shared_fields(*, columns: Mapping[Hashable, int], input_nodes: tuple[Hashable, ...],
                      output_nodes: tuple[Hashable, ...], groups: tuple[Column, ...],
                      layers: tuple[LayerPositions, ...]) -> dict[str, object]:
        """The fields all traces of one plan share (all but the arrays and ``source``), for
        ``of_arrays``: a plan builds them once."""
        return {"columns": columns, "input_nodes": input_nodes, "output_nodes": output_nodes,
                "groups": groups, "layers": layers}

    @classmethod
    def of_arrays(cls, weighted_sums: np.ndarray, values: np.ndarray, shared: Mapping[str, object],
                  source: object) -> Trace:
        """The trace ``Trace(weighted_sums, values, **shared, source=source)`` makes (``shared``
        from ``shared_fields``), built in one step: a frozen dataclass's ``__init__`` sets its
        eight fields one by one (about 1.5 us), and passing them all by keyword costs a microsecond
        more, which a plan's trace of a few samples, itself a few microseconds, would feel.

        Examples
        --------
        >>> import numpy as np
        >>> from dataclasses import fields
        >>> shared = Trace.shared_fields(columns={"x": 0}, input_nodes=("x",), output_nodes=("x",),
        ...                              groups=(), layers=())
        >>> trace = Trace.of_arrays(np.zeros((1, 1)), np.ones((1, 1)), shared, None)
        >>> trace.outputs
        array([[1.]])
        >>> sorted(vars(trace)) == sorted(field.name for field in fields(Trace))  # every field
        True
        """
        trace = object.__new__(cls)
        fields = trace.__dict__  # frozen forbids setting attributes, not filling __dict__
        fields.update(shared)
        fields["weighted_sums"], fields["values"], fields["source"] = weighted_sums, values, source
        return trace

    @property
    def batch_size(self) -> int:
        """How many samples the trace holds."""
        return self.values.shape[0]

    @property
    def outputs(self) -> np.ndarray:
        """The network's outputs, shape ``(batch, n_outputs)``, in output order."""
        return self.values[:, [self.columns[node] for node in self.output_nodes]]

    def _column(self, node: Hashable) -> int:
        try:
            return self.columns[node]
        except (KeyError, TypeError):
            raise NeuronNotFoundError(f"no neuron {node!r} in this network") from None

    def weighted_sum(self, node: Hashable) -> np.ndarray:
        """The weighted sum ``z`` of ``node`` for every sample, shape ``(batch,)``."""
        column = self._column(node)
        if node in self.input_nodes:
            raise NeuronNotFoundError(f"{node!r} is an input: it has a value but no weighted sum")
        return self.weighted_sums[:, column]

    def value(self, node: Hashable) -> np.ndarray:
        """The value ``a = f(z)`` of ``node`` for every sample, shape ``(batch,)``."""
        return self.values[:, self._column(node)]

    def _layer(self, name: str) -> LayerPositions:
        for layer in self.layers:
            if layer.name == name:
                return layer
        known = ", ".join(printable(layer.name) for layer in self.layers)
        raise NeuronNotFoundError(f"no layer {name!r} in this trace; " + (
            f"layers: {known}" if known else "its network has no layer records (a model built by "
                                             "Sequential has them)"))

    def layer_values(self, name: str) -> np.ndarray:
        """The values of layer ``name``'s output, shaped as Keras gives it: ``(batch, *output_shape)``.

        ``"input"`` gives the inputs in the model's input shape. A layer that only renames positions
        (Flatten, Dropout) gives the layer before it in its own shape.

        Examples
        --------
        >>> import numpy as np
        >>> from nngraph.models import Sequential
        >>> from nngraph.layers import Conv2D, Input
        >>> model = Sequential([Input(shape=(5, 5, 1)), Conv2D(2, 3)], seed=0)
        >>> trace = model.trace(np.ones((4, 5, 5, 1)))
        >>> trace.layer_values("conv2d").shape
        (4, 3, 3, 2)
        >>> trace.layer_weighted_sums("conv2d")[0, 1, 2, 0] == trace.weighted_sum("conv2d/1,2,0")[0]
        np.True_
        """
        layer = self._layer(name)
        columns = [self.columns[node] for node in layer.nodes]
        return self.values[:, columns].reshape(self.batch_size, *layer.shape)

    def layer_weighted_sums(self, name: str) -> np.ndarray:
        """The weighted sums of layer ``name``'s output neurons, ``(batch, *output_shape)`` (example
        at ``layer_values``); the inputs have none."""
        layer = self._layer(name)
        if layer.nodes and layer.nodes[0] in self.input_nodes:
            raise NeuronNotFoundError(f"layer {name!r} holds inputs: they have values but no weighted sums")
        columns = [self.columns[node] for node in layer.nodes]
        return self.weighted_sums[:, columns].reshape(self.batch_size, *layer.shape)

    def records(self, sample: int = 0, *,
                neurons: Collection[Hashable] | None = None) -> list[dict[str, object]]:
        """One dict per neuron for ``sample``: layer, neuron, weighted sum (None for inputs), value.

        ``neurons`` restricts the rows to those neurons (all by default).
        """
        self._check_sample(sample)
        rows: list[dict[str, object]] = []
        for group in self.groups:
            for node in group.nodes:
                if neurons is not None and node not in neurons:
                    continue
                column = self.columns[node]
                is_input = node in self.input_nodes
                rows.append({
                    "layer": group.name,
                    "neuron": node,
                    "weighted_sum": None if is_input else float(self.weighted_sums[sample, column]),
                    "value": float(self.values[sample, column]),
                })
        return rows

    def _check_sample(self, sample: int) -> None:
        if isinstance(sample, (bool, np.bool_)) or not isinstance(sample, (int, np.integer)):
            raise ArgumentError(f"sample must be a whole number, got {shown(sample)}")
        if not -self.batch_size <= sample < self.batch_size:
            raise InputError(f"sample {sample} is out of range; the trace holds {self.batch_size}")

    def table(self, sample: int = 0, *, precision: int = 4,
              neurons: Collection[Hashable] | None = None) -> str:
        """An aligned text table of ``sample``: one block per layer, one row per neuron.

        ``neurons`` restricts the rows; a layer's heading still gives its full size.
        Numbers show ``precision`` decimals, or ``precision`` significant digits
        once their magnitude reaches a million (``format_number``). Names are
        shown by ``nngraph.names.printable``.
        """
        rows = self.records(sample, neurons=neurons)
        if not rows:
            return ""
        width = max(len(printable(row["neuron"])) for row in rows)
        width = max(width, len("neuron"))
        number = precision + 8
        lines: list[str] = []
        by_layer: dict[str, list[dict[str, object]]] = {}
        for row in rows:
            by_layer.setdefault(str(row["layer"]), []).append(row)
        for group in self.groups:
            if group.name not in by_layer:
                continue
            detail = f"{len(group.nodes)}" + (f", {printable(group.activation)}" if group.activation else "")
            lines.append(f"{printable(group.name)} ({detail})")
            lines.append(f"  {'neuron':<{width}}  {'weighted sum':>{number}}  {'value':>{number}}")
            for row in by_layer[group.name]:
                z = row["weighted_sum"]
                z_text = "" if z is None else format_number(z, precision=precision)
                lines.append(f"  {printable(row['neuron']):<{width}}  {z_text:>{number}}  "
                             f"{format_number(row['value'], precision=precision):>{number}}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table(0)

    def _repr_html_(self) -> str:
        """Jupyter shows the trace on its network: the interactive view, a slider over its samples."""
        from nngraph.render.notebook import trace_html

        return trace_html(self)

