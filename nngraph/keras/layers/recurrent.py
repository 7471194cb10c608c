"""Recurrent layers (``SimpleRNN``, ``LSTM``, ``GRU``) unrolled in time: every gate of every step a neuron.

Over an input of ``(timesteps, features)`` a recurrent layer is a DAG once unrolled: the neurons of
step ``t`` read the input row of step ``t`` and the layer's own neurons of step ``t - 1``, with the
same weights at every step. Each weight entry is one number tied by name on all its copies
(``lstm/kernel/2,5``, ``lstm/recurrent_kernel/0,5``, ``lstm/bias/5``: Keras' ``[kernel,
recurrent_kernel, bias]`` with its gate order, LSTM ``i, f, c, o`` and GRU ``z, r, h``). Gates
multiply through neurons with ``aggregation="product"`` (connections of weight 1), and ``1 - z`` is
a linear neuron (weight -1, bias 1). The initial state is zero, so step 0 has no recurrent
connection; with ``go_backwards`` step ``t`` reads input row ``timesteps - 1 - t`` and, as in Keras,
the returned sequence stays in the order the steps ran.

Neurons are named ``"<layer>/t<step>/<role>/<unit>"``: ``lstm/t5/forget/3`` is unit 3's forget gate
at step 5. Each step's neurons form the group ``"<layer>/t<step>"`` (node key ``layer``), so that the
neuron diagram draws one column per time step and a trace's table lists the layer step by step.
``layer.roles`` lists a cell's roles; ``layer.gate_neurons(role)`` gives their ids as a
``(timesteps, units)`` array and ``layer.gate_values(trace, role)`` their values in a trace as
``(batch, timesteps, units)``: ``gate_values(trace, "forget")[0, :, 3]`` is unit 3's forget gate
over time for the first sample.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.core.network import (ACTIVATION, AGGREGATION, BIAS, BIAS_PARAM, HIDDEN, LAYER, PARAM, ROLE, WEIGHT,
                                  LayerRecord)
from nngraph.errors import LayerError
from nngraph.keras.initializers import get_initializer
from nngraph.keras.layers.base import Layer, add_connections, tied_name, whole_number

PRODUCT = "product"
LINEAR = "linear"
WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")


class Recurrent(Layer):
    """What ``SimpleRNN``, ``LSTM`` and ``GRU`` share: shapes, unrolling, tied weights, gate access.

    Subclasses set ``gates`` (the gate roles in the kernel's column order), ``roles`` (every role a
    step's neurons play, in build order) and write ``_step``, which adds one step's neurons.
    """

    gates: tuple[str, ...] = ("hidden",)
    roles: tuple[str, ...] = ("hidden",)

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, *, kernel_initializer: str = "glorot_uniform",
                 recurrent_initializer: str = "orthogonal", bias_initializer: str = "zeros",
                 return_sequences: bool = False, go_backwards: bool = False,
                 name: str | None = None, input_shape: Sequence[int] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if not whole_number(units) or units < 1:
            raise LayerError(f"{self.label}: units must be a positive whole number, got {units!r}")
        self.units = int(units)
        self.activation = resolve_activation(activation).name
        self.recurrent_activation = resolve_activation(recurrent_activation).name
        self.use_bias = bool(use_bias)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.initializer_names = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.initializers = tuple(get_initializer(initializer, argument=argument) for initializer, argument
                                  in zip(self.initializer_names, ("kernel_initializer", "recurrent_initializer",
                                                                  "bias_initializer")))
        self._steps: dict[str, np.ndarray] = {}
        self._tied: dict[str, list[tuple[Hashable, Hashable, int]]] = {}
        self._biases: list[tuple[Hashable, int]] = []
        self._weights: list[np.ndarray] = []
        self._computed: list[Hashable] = []

    def __repr__(self) -> str:
        return f"{self.kind}(units={self.units}, return_sequences={self.return_sequences}, name={self.name!r})"

    # -- shapes --------------------------------------------------------------------------------

    def compute_output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``(units,)``, or ``(timesteps, units)`` with ``return_sequences``; refuses an input
        without a time axis."""
        if len(shape) != 2:
            hint = ("it has no time axis: declare Input(shape=(timesteps, features))" if len(shape) == 1
                    else "add a Reshape to (timesteps, features) before it")
            raise LayerError(f"{self.label}: {self.kind} takes inputs of shape (timesteps, features), "
                             f"got {shape}; {hint}")
        return (shape[0], self.units) if self.return_sequences else (self.units,)

    def size(self, shape: tuple[int, ...], output: tuple[int, ...]) -> tuple[int, int]:
        steps, features = shape
        width = len(self.gates) * self.units
        return (steps * len(self.roles) * self.units,
                steps * (width * (features + self.units) + 4 * self.units * len(self.roles)))

    # -- weights -------------------------------------------------------------------------------

    def weight_names(self) -> list[str]:
        return list(WEIGHT_NAMES) if self.use_bias else list(WEIGHT_NAMES[:2])

    def _bias_shape(self) -> tuple[int, ...]:
        return (len(self.gates) * self.units,)

    def weight_shapes(self) -> list[tuple[int, ...]]:
        self._require_built("weights")
        width = len(self.gates) * self.units
        shapes = [(self._input[-1], width), (self.units, width)]  # type: ignore[index]
        return [*shapes, self._bias_shape()] if self.use_bias else shapes

    def _initial_weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        shapes = self.weight_shapes()
        return [initializer(rng, shape) for initializer, shape in zip(self.initializers, shapes)]

    @classmethod
    def keras_params(cls, record: LayerRecord) -> tuple[int, int] | None:
        """Keras' count from the record's settings and input (``gates · u · (f + u)`` plus the
        biases), all trainable: the graph also holds fixed numbers (the 1s into the products)."""
        units, features = int(record.config["units"]), int(record.input_shape[-1])  # type: ignore[arg-type]
        width = cls._gate_count(record.config) * units
        return width * (features + units) + (cls._bias_count(record.config, width)
                                             if record.config.get("use_bias", True) else 0), 0

    @classmethod
    def _gate_count(cls, config: Mapping[str, Any]) -> int:
        return len(cls.gates)

    @classmethod
    def _bias_count(cls, config: Mapping[str, Any], width: int) -> int:
        return width

    def _read_weights(self, G: nx.DiGraph) -> list[np.ndarray]:
        # Each entry is read from its first copy in the graph; an entry with no copy (the recurrent
        # kernel of a one-step sequence, which a zero initial state never reaches) keeps what was
        # last written.
        arrays = [array.copy() for array in self._weights]
        adjacency, data = G._adj, G._node
        for array, name in zip(arrays, WEIGHT_NAMES):
            flat, seen = array.reshape(-1), set()
            if name == "bias":
                for node, entry in self._biases:
                    if entry not in seen:
                        seen.add(entry)
                        flat[entry] = data[node][BIAS]
                continue
            for source, target, entry in self._tied[name]:
                if entry not in seen:
                    seen.add(entry)
                    flat[entry] = adjacency[source][target][WEIGHT]
        return arrays

    def _write_weights(self, G: nx.DiGraph, arrays: list[np.ndarray]) -> None:
        self._weights = [array.copy() for array in arrays]
        adjacency, data = G._adj, G._node
        for array, name in zip(arrays, WEIGHT_NAMES):
            values = array.reshape(-1).tolist()
            if name == "bias":
                for node, entry in self._biases:
                    data[node][BIAS] = values[entry]
                continue
            for source, target, entry in self._tied[name]:
                adjacency[source][target][WEIGHT] = values[entry]

    def get_config(self) -> dict[str, Any]:
        kernel, recurrent, bias = self.initializer_names
        return {"units": self.units, "activation": self.activation,
                "recurrent_activation": self.recurrent_activation, "use_bias": self.use_bias,
                "kernel_initializer": kernel, "recurrent_initializer": recurrent, "bias_initializer": bias,
                "return_sequences": self.return_sequences, "go_backwards": self.go_backwards}

    # -- unrolling -----------------------------------------------------------------------------

    def _add_neurons(self, G: nx.DiGraph, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        arrays = self._initial_weights(rng)
        self._tied = {"kernel": [], "recurrent_kernel": []}
        self._biases = []
        self._nodes: list[tuple[Hashable, dict[str, Any]]] = []
        self._edges: list[tuple[Hashable, Hashable, dict[str, Any]]] = []
        steps = sources.shape[0]
        rows = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        by_role: dict[str, list[list[Hashable]]] = {role: [] for role in self.roles}
        state: dict[str, list[Hashable]] = {}
        for step, row in enumerate(rows):
            self._step_nodes: dict[str, list[Hashable]] = {}
            state = self._step(step, sources[row].tolist(), state)
            for role in self.roles:
                by_role[role].append(self._step_nodes.get(role, [None] * self.units))
        G.add_nodes_from(self._nodes)
        add_connections(G, self._edges)
        hidden = np.array(by_role["hidden"], dtype=object)
        outputs = hidden if self.return_sequences else hidden[-1]
        last = set(outputs.reshape(-1).tolist())
        self._computed = [node for node, _ in self._nodes if node not in last] + outputs.reshape(-1).tolist()
        self._steps = {role: np.array(nodes, dtype=object) for role, nodes in by_role.items()}
        del self._nodes, self._edges, self._step_nodes
        self._write_weights(G, arrays)
        return outputs

    def _step(self, step: int, inputs: list[Hashable], state: dict[str, list[Hashable]]) -> dict[str, list[Hashable]]:
        raise NotImplementedError

    def _neuron(self, step: int, role: str, unit: int, activation: str = LINEAR, *,
                bias: int | None = None, product: bool = False, constant: float = 0.0) -> Hashable:
        """Add one neuron; ``bias`` is its entry in the flat bias (tied by name), ``constant`` a
        fixed bias (the 1 of ``1 - z``)."""
        node = f"{self.name}/t{step}/{role}/{unit}"
        data: dict[str, Any] = {ROLE: HIDDEN, BIAS: constant, ACTIVATION: activation,
                                LAYER: f"{self.name}/t{step}"}
        if product:
            data[AGGREGATION] = PRODUCT
        if bias is not None and self.use_bias:
            data[BIAS_PARAM] = tied_name(str(self.name), "bias",
                                         np.unravel_index(bias, self._bias_shape()))  # type: ignore[arg-type]
            self._biases.append((node, bias))
        self._nodes.append((node, data))
        self._step_nodes.setdefault(role, []).append(node)
        return node

    def _tie(self, source: Hashable, target: Hashable, weight: str, row: int, column: int) -> None:
        """A connection carrying entry ``(row, column)`` of ``weight`` (kernel or recurrent kernel)."""
        width = len(self.gates) * self.units
        self._tied[weight].append((source, target, row * width + column))
        self._edges.append((source, target, {WEIGHT: 0.0, PARAM: tied_name(str(self.name), weight, (row, column))}))

    def _fixed(self, source: Hashable, target: Hashable, weight: float = 1.0) -> None:
        """A connection of a fixed weight (into a product, a sum of parts, ``1 - z``)."""
        self._edges.append((source, target, {WEIGHT: weight}))

    def _gate(self, step: int, role: str, unit: int, column: int, activation: str,
              inputs: list[Hashable], hidden: list[Hashable] | None) -> Hashable:
        """A neuron reading the step's inputs (kernel column ``column``), the previous step's
        ``hidden`` neurons (recurrent kernel column ``column``; none at step 0) and bias ``column``."""
        node = self._neuron(step, role, unit, activation, bias=column)
        for row, source in enumerate(inputs):
            self._tie(source, node, "kernel", row, column)
        for row, source in enumerate(hidden or ()):
            self._tie(source, node, "recurrent_kernel", row, column)
        return node

    def _product(self, step: int, role: str, unit: int, *factors: Hashable) -> Hashable:
        node = self._neuron(step, role, unit, product=True)
        for factor in factors:
            self._fixed(factor, node)
        return node

    def _sum(self, step: int, role: str, unit: int, *parts: Hashable, activation: str = LINEAR) -> Hashable:
        node = self._neuron(step, role, unit, activation)
        for part in parts:
            self._fixed(part, node)
        return node

    # -- reading gates ---------------------------------------------------------------------------

    def computed_neurons(self) -> list[Hashable]:
        """Every neuron of every step, the layer's outputs last."""
        return list(self._computed)

    def gate_neurons(self, role: str) -> np.ndarray:
        """The ids of the neurons playing ``role`` (one of ``roles``), shape ``(timesteps, units)``
        in the order the steps ran; ``None`` where a step has no such neuron (step 0 keeps nothing
        of a zero state).

        Examples
        --------
        >>> from nngraph.models import Sequential
        >>> from nngraph.layers import Input
        >>> lstm = LSTM(2)
        >>> model = Sequential([Input(shape=(3, 1)), lstm], seed=0)
        >>> lstm.gate_neurons("forget")[:, 1].tolist()
        ['lstm/t0/forget/1', 'lstm/t1/forget/1', 'lstm/t2/forget/1']
        """
        self._require_built("neurons")
        if role not in self.roles:
            raise LayerError(f"{self.label}: {self.kind} has no role {role!r}; its roles: {', '.join(self.roles)}")
        return self._steps[role]

    def gate_values(self, trace: Any, role: str) -> np.ndarray:
        """The values of the ``role`` neurons in ``trace`` (from ``run_reference``, ``plan.trace``
        or ``model.trace``), shape ``(batch, timesteps, units)``; NaN where a step has no such neuron.

        Examples
        --------
        >>> from nngraph.models import Sequential
        >>> from nngraph.layers import Input
        >>> lstm = LSTM(2)
        >>> model = Sequential([Input(shape=(3, 1)), lstm], seed=0)
        >>> model.layers[0].gate_values(model.trace([[1.0], [0.0], [-1.0]]), "forget").shape
        (1, 3, 2)
        """
        nodes = self.gate_neurons(role)
        values = np.full((trace.batch_size, *nodes.shape), np.nan)
        for index, node in np.ndenumerate(nodes):
            if node is not None:
                values[(slice(None), *index)] = trace.value(node)
        return values


class SimpleRNN(Recurrent):
    """Keras' ``SimpleRNN``: ``h_t = activation(x_t W + h_{t-1} U + b)``, unrolled in time.

    Parameters follow Keras: ``units``, ``activation`` (``"tanh"``), ``use_bias``, ``kernel_initializer``
    (``"glorot_uniform"``), ``recurrent_initializer`` (``"orthogonal"``), ``bias_initializer``
    (``"zeros"``), ``return_sequences``, ``go_backwards``, ``name`` and ``input_shape``. Each step has
    one role, ``hidden``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([SimpleRNN(4, input_shape=(5, 3))], seed=0)
    >>> model.output_shape, model.count_params()
    ((None, 4), 32)
    """

    kind = "SimpleRNN"
    base_name = "simple_rnn"

    def __init__(self, units: int, activation: str = "tanh", use_bias: bool = True, **settings: Any) -> None:
        super().__init__(units, activation, "sigmoid", use_bias, **settings)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["recurrent_activation"]
        return config

    def _step(self, step: int, inputs: list[Hashable], state: dict[str, list[Hashable]]) -> dict[str, list[Hashable]]:
        previous = state.get("hidden")
        return {"hidden": [self._gate(step, "hidden", j, j, self.activation, inputs, previous)
                           for j in range(self.units)]}


class LSTM(Recurrent):
    """Keras' ``LSTM``, unrolled in time, every gate a neuron.

    With ``z = x_t W + h_{t-1} U + b`` split into gates ``i, f, c, o``: ``i = σ(z_i)``,
    ``f = σ(z_f)``, ``candidate = tanh(z_c)``, ``o = σ(z_o)``, ``cell = f · cell_{t-1} + i · candidate``,
    ``h = o · tanh(cell)`` (σ is ``recurrent_activation``, tanh ``activation``). A step's roles:
    ``input``, ``forget``, ``candidate``, ``output`` (the gates), ``kept`` (``f · cell_{t-1}``),
    ``written`` (``i · candidate``), ``cell``, ``activated_cell`` and ``hidden``. Keras' defaults,
    ``unit_forget_bias`` (the forget gate's bias starts at 1) included; weights ``kernel (features,
    4 units)``, ``recurrent_kernel (units, 4 units)``, ``bias (4 units,)``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([LSTM(4, input_shape=(5, 3))], seed=0)
    >>> model.output_shape, model.count_params()
    ((None, 4), 128)
    >>> model.layers[0].get_weights()[2].tolist()[4:8]
    [1.0, 1.0, 1.0, 1.0]
    """

    kind = "LSTM"
    base_name = "lstm"
    gates = ("input", "forget", "candidate", "output")
    roles = ("input", "forget", "candidate", "output", "kept", "written", "cell", "activated_cell", "hidden")

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, *, unit_forget_bias: bool = True, **settings: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, **settings)
        self.unit_forget_bias = bool(unit_forget_bias)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}

    def _initial_weights(self, rng: np.random.Generator) -> list[np.ndarray]:
        arrays = super()._initial_weights(rng)
        if self.use_bias and self.unit_forget_bias:
            arrays[2][self.units:2 * self.units] = 1.0
        return arrays

    def _step(self, step: int, inputs: list[Hashable], state: dict[str, list[Hashable]]) -> dict[str, list[Hashable]]:
        units, previous, cells = self.units, state.get("hidden"), state.get("cell")
        gate, act = self.recurrent_activation, self.activation
        i = [self._gate(step, "input", j, j, gate, inputs, previous) for j in range(units)]
        f = [self._gate(step, "forget", j, units + j, gate, inputs, previous) for j in range(units)]
        c = [self._gate(step, "candidate", j, 2 * units + j, act, inputs, previous) for j in range(units)]
        o = [self._gate(step, "output", j, 3 * units + j, gate, inputs, previous) for j in range(units)]
        kept = [self._product(step, "kept", j, f[j], cells[j]) for j in range(units)] if cells else []
        written = [self._product(step, "written", j, i[j], c[j]) for j in range(units)]
        cell = [self._sum(step, "cell", j, *kept[j:j + 1], written[j]) for j in range(units)]
        activated = [self._sum(step, "activated_cell", j, cell[j], activation=act) for j in range(units)]
        hidden = [self._product(step, "hidden", j, o[j], activated[j]) for j in range(units)]
        return {"hidden": hidden, "cell": cell}


class GRU(Recurrent):
    """Keras' ``GRU``, unrolled in time, every gate a neuron; ``reset_after=True`` (Keras' default)
    or ``False``.

    Gates ``z`` (``update``), ``r`` (``reset``) and the candidate ``h̃``; ``h = z · h_{t-1} + (1 - z) · h̃``.
    With ``reset_after``: ``z = σ(x W_z + b_z + (h U_z + b'_z))``, likewise ``r``, and
    ``h̃ = tanh(x W_h + b_h + r · (h U_h + b'_h))``; the parts in brackets are the neurons
    ``recurrent_update``, ``recurrent_reset``, ``recurrent_candidate`` (bias ``(2, 3 units)``: input
    then recurrent) and ``r · (h U_h + b'_h)`` the neurons ``reset_recurrent``. Without:
    ``z = σ(x W_z + h U_z + b_z)``, ``h̃ = tanh(x W_h + (r · h) U_h + b_h)`` with ``r · h`` the
    neurons ``reset_state`` (bias ``(3 units,)``). Other roles: ``not_update``
    (``1 - z``), ``kept``, ``written`` and ``hidden``.

    Examples
    --------
    >>> from nngraph.models import Sequential
    >>> model = Sequential([GRU(4, input_shape=(5, 3))], seed=0)
    >>> model.count_params(), [w.shape for w in model.layers[0].get_weights()]
    (108, [(3, 12), (4, 12), (2, 12)])
    """

    kind = "GRU"
    base_name = "gru"
    gates = ("update", "reset", "candidate")

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, *, reset_after: bool = True, **settings: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, **settings)
        self.reset_after = bool(reset_after)
        inner = (("recurrent_update", "recurrent_reset", "recurrent_candidate", "reset_recurrent")
                 if self.reset_after else ("reset_state",))
        self.roles = ("update", "reset", *inner, "candidate", "not_update", "kept", "written", "hidden")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}

    def _bias_shape(self) -> tuple[int, ...]:
        width = 3 * self.units
        return (2, width) if self.reset_after else (width,)

    @classmethod
    def _bias_count(cls, config: Mapping[str, Any], width: int) -> int:
        return 2 * width if config.get("reset_after", True) else width

    def _step(self, step: int, inputs: list[Hashable], state: dict[str, list[Hashable]]) -> dict[str, list[Hashable]]:
        units, previous = self.units, state.get("hidden")
        gate, act, columns = self.recurrent_activation, self.activation, range(self.units)
        if self.reset_after:
            inner = []
            for part, role in enumerate(("recurrent_update", "recurrent_reset", "recurrent_candidate")):
                nodes = []
                for j in columns:
                    column = part * units + j
                    node = self._neuron(step, role, j, bias=3 * units + column)
                    for row, source in enumerate(previous or ()):
                        self._tie(source, node, "recurrent_kernel", row, column)
                    nodes.append(node)
                inner.append(nodes)
            z = [self._gate(step, "update", j, j, gate, inputs, None) for j in columns]
            r = [self._gate(step, "reset", j, units + j, gate, inputs, None) for j in columns]
            for j in columns:
                self._fixed(inner[0][j], z[j])
                self._fixed(inner[1][j], r[j])
            reset = [self._product(step, "reset_recurrent", j, r[j], inner[2][j]) for j in columns]
            candidate = [self._gate(step, "candidate", j, 2 * units + j, act, inputs, None) for j in columns]
            for j in columns:
                self._fixed(reset[j], candidate[j])
        else:
            z = [self._gate(step, "update", j, j, gate, inputs, previous) for j in columns]
            r = [self._gate(step, "reset", j, units + j, gate, inputs, previous) for j in columns]
            reset = [self._product(step, "reset_state", j, r[j], previous[j]) for j in columns] if previous else []
            candidate = [self._gate(step, "candidate", j, 2 * units + j, act, inputs, reset) for j in columns]
        not_update = []
        for j in columns:
            node = self._neuron(step, "not_update", j, constant=1.0)
            self._fixed(z[j], node, -1.0)
            not_update.append(node)
        kept = [self._product(step, "kept", j, z[j], previous[j]) for j in columns] if previous else []
        written = [self._product(step, "written", j, not_update[j], candidate[j]) for j in columns]
        hidden = [self._sum(step, "hidden", j, *kept[j:j + 1], written[j]) for j in columns]
        return {"hidden": hidden}
