"""Recurrent layers (SimpleRNN, LSTM, GRU) unrolled in time, against the step-by-step numpy
references of tests/recurrent_references.py, through the reference pass and the compiled plan
(float64 and float32)."""

from __future__ import annotations

import pickle
import runpy
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_references import assert_close, conv
from strategies import assert_equivalent
from recurrent_references import gru, lstm, simple_rnn

import nngraph
from nngraph import InputError, LayerError
from nngraph.layers import GRU, LSTM, Conv1D, Dense, Flatten, Input, SimpleRNN
from nngraph.keras.summary import describe
from nngraph.models import Sequential

RNG = np.random.default_rng(11)

CELLS = {
    "simple_rnn": (lambda units, **kw: SimpleRNN(units, **kw), 1, simple_rnn),
    "lstm": (lambda units, **kw: LSTM(units, **kw), 4, lstm),
    "gru": (lambda units, **kw: GRU(units, **kw), 3, gru),
    "gru_reset_before": (lambda units, **kw: GRU(units, reset_after=False, **kw), 3,
                         lambda *args, **kw: gru(*args, reset_after=False, **kw)),
}


def random_weights(kind: str, features: int, units: int, rng: np.random.Generator) -> list[np.ndarray]:
    _, gates, _ = CELLS[kind]
    bias_shape = (2, gates * units) if kind == "gru" else (gates * units,)
    return [rng.normal(size=(features, gates * units)), rng.normal(size=(units, gates * units)),
            rng.normal(size=bias_shape)]


def recurrent_model(kind: str, steps: int, features: int, units: int, *, return_sequences: bool,
                    go_backwards: bool, rng: np.random.Generator) -> tuple[Sequential, list[np.ndarray]]:
    build, _, _ = CELLS[kind]
    layer = build(units, return_sequences=return_sequences, go_backwards=go_backwards)
    model = Sequential([Input(shape=(steps, features)), layer], seed=0)
    weights = random_weights(kind, features, units, rng)
    layer.set_weights(weights)
    return model, weights


def expected_output(kind: str, x: np.ndarray, weights: list[np.ndarray], *, return_sequences: bool,
                    go_backwards: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    hidden, gates = CELLS[kind][2](x, *weights, go_backwards=go_backwards)
    return (hidden if return_sequences else hidden[:, -1]), gates


def check_executors(model: Sequential, x: np.ndarray, expected: np.ndarray) -> None:
    """The reference pass, the compiled plan and a float32 plan all give ``expected``."""
    assert model.output_shape[1:] == expected.shape[1:]
    assert_close(model.trace(x).outputs.reshape(expected.shape), expected)
    assert_close(model.predict(x), expected)
    plan32 = nngraph.compile_network(model.graph, dtype=np.float32)
    assert_close(plan32(x.reshape(len(x), -1)).reshape(expected.shape), expected, dtype=np.float32)


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize(("return_sequences", "go_backwards"), [(False, False), (True, False), (True, True),
                                                                (False, True)])
def test_cells_match_the_published_equations(kind: str, return_sequences: bool, go_backwards: bool) -> None:
    model, weights = recurrent_model(kind, 5, 3, 4, return_sequences=return_sequences,
                                     go_backwards=go_backwards, rng=RNG)
    x = RNG.normal(size=(3, 5, 3))
    expected, _ = expected_output(kind, x, weights, return_sequences=return_sequences, go_backwards=go_backwards)
    check_executors(model, x, expected)


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before"])
def test_every_gate_of_every_step_is_traced_by_both_executors(kind: str) -> None:
    model, weights = recurrent_model(kind, 6, 2, 3, return_sequences=True, go_backwards=False, rng=RNG)
    layer = model.layers[0]
    x = RNG.normal(size=(4, 6, 2))
    _, gates = expected_output(kind, x, weights, return_sequences=True, go_backwards=False)
    plan = nngraph.compile_network(model.graph)
    for trace in (model.trace(x), plan.trace(x.reshape(4, -1))):
        for role, values in gates.items():
            assert_close(layer.gate_values(trace, role), values)
    assert_close(layer.gate_values(model.trace(x), "hidden")[0, :, 1], gates["hidden"][0, :, 1])


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(list(CELLS)), steps=st.integers(1, 20), features=st.integers(1, 3),
       units=st.integers(1, 3), return_sequences=st.booleans(), go_backwards=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_random_recurrent_layers_match_the_reference(kind: str, steps: int, features: int, units: int,
                                                     return_sequences: bool, go_backwards: bool,
                                                     seed: int) -> None:
    rng = np.random.default_rng(seed)
    model, weights = recurrent_model(kind, steps, features, units, return_sequences=return_sequences,
                                     go_backwards=go_backwards, rng=rng)
    x = rng.normal(size=(2, steps, features))
    expected, _ = expected_output(kind, x, weights, return_sequences=return_sequences, go_backwards=go_backwards)
    check_executors(model, x, expected)


@settings(max_examples=6, deadline=None)
@given(first=st.sampled_from(list(CELLS)), second=st.sampled_from(list(CELLS)), steps=st.integers(1, 8),
       seed=st.integers(0, 2**32 - 1))
def test_stacked_recurrent_layers_into_dense_match_the_reference(first: str, second: str, steps: int,
                                                                 seed: int) -> None:
    rng = np.random.default_rng(seed)
    lower = CELLS[first][0](3, return_sequences=True)
    upper = CELLS[second][0](2)
    dense = Dense(2, activation="linear")
    model = Sequential([Input(shape=(steps, 2)), lower, upper, dense], seed=0)
    weights = random_weights(first, 2, 3, rng), random_weights(second, 3, 2, rng)
    lower.set_weights(weights[0])
    upper.set_weights(weights[1])
    kernel, bias = rng.normal(size=(2, 2)), rng.normal(size=2)
    dense.set_weights([kernel, bias])
    x = rng.normal(size=(3, steps, 2))
    hidden, _ = CELLS[first][2](x, *weights[0])
    top, _ = CELLS[second][2](hidden, *weights[1])
    check_executors(model, x, top[:, -1] @ kernel + bias)


@settings(max_examples=15, deadline=None)
@given(kinds=st.lists(st.sampled_from(list(CELLS)), min_size=1, max_size=2), steps=st.integers(1, 12),
       units=st.integers(1, 4), dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**32 - 1))
def test_recurrent_stacks_agree_with_the_reference_through_every_runner(kinds: list[str], steps: int, units: int,
                                                                       dtype: type, seed: int) -> None:
    """Every neuron of the trace, and ``plan(x)`` through each runner the plan has (the native kernel
    with its product rows, the numpy pass with its slices), for one sample and several."""
    rng = np.random.default_rng(seed)
    layers = [CELLS[kind][0](units, return_sequences=i < len(kinds) - 1) for i, kind in enumerate(kinds)]
    model = Sequential([Input(shape=(steps, 2)), *layers], seed=0)
    for kind, layer, features in zip(kinds, layers, [2, units]):
        # Scaled down so that the recurrence damps rounding: float32 runs stay within 1e-5 of the
        # reference over a dozen steps (weights of 1 make a SimpleRNN amplify it past that).
        layer.set_weights([0.4 * weight for weight in random_weights(kind, features, units, rng)])
    plan = nngraph.compile_network(model.graph, dtype=dtype)
    for batch in (1, 3):
        assert_equivalent(plan, model.graph, rng.normal(size=(batch, steps * 2)))


def test_an_lstm_runs_one_sample_in_the_native_kernel_and_its_products_from_slices() -> None:
    model = Sequential([Input(shape=(20, 8)), LSTM(32)], seed=0)
    plan = nngraph.compile_network(model.graph, dtype=np.float32)
    assert plan.runner.startswith("the native kernel for batches of up to")
    assert plan.program.native_batch_limit >= 1
    assert "A[I" not in plan.code  # no gathered terms: every product and sum of a step reads slices
    assert plan.code.count("from slices") == 4 * 20  # per step: kept and written, cell, activated cell, hidden
    assert plan.code.count("if Z is A:  # not tracing: the activation reads the copied columns") == 20  # tanh(cell)
    x = RNG.normal(size=(2, 160))
    assert_equivalent(plan, model.graph, x)
    assert_equivalent(plan, model.graph, x[0])


def test_a_recurrent_layer_after_conv1d() -> None:
    conv_layer, recurrent = Conv1D(3, 2, activation="linear"), LSTM(2)
    model = Sequential([Input(shape=(6, 2)), conv_layer, recurrent], seed=0)
    kernel, bias = RNG.normal(size=(2, 2, 3)), RNG.normal(size=3)
    conv_layer.set_weights([kernel, bias])
    weights = random_weights("lstm", 3, 2, RNG)
    recurrent.set_weights(weights)
    x = RNG.normal(size=(2, 6, 2))
    features = conv(x, kernel, bias, strides=(1,), padding="valid", dilation=(1,))
    check_executors(model, x, lstm(features, *weights)[0][:, -1])


@pytest.mark.parametrize(("layer", "expected"), [
    (LSTM(32), 4 * 32 * (8 + 32 + 1)),
    (GRU(32), 3 * 32 * (8 + 32) + 6 * 32),
    (GRU(32, reset_after=False), 3 * 32 * (8 + 32 + 1)),
    (SimpleRNN(32), 32 * (8 + 32 + 1)),
    (LSTM(32, use_bias=False), 4 * 32 * (8 + 32)),
])
def test_parameter_counts_are_keras_and_each_tied_number_is_counted_once(layer: object, expected: int) -> None:
    model = Sequential([Input(shape=(3, 8)), layer], seed=0)
    assert model.count_params() == expected
    assert f"{expected:,}" in model.summary_text()
    names = {param for _, _, param in model.graph.edges(data="param") if param is not None}
    names |= {param for _, param in model.graph.nodes(data="bias_param") if param is not None}
    assert len(names) == expected


def test_summary_shows_keras_output_shapes() -> None:
    model = Sequential([Input(shape=(20, 8)), LSTM(16, return_sequences=True), LSTM(4), Dense(3)], seed=0)
    text = model.summary_text()
    assert "(None, 20, 16)" in text and "(None, 4)" in text
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize("kind", list(CELLS))
def test_set_weights_writes_every_step_and_get_weights_reads_them_back(kind: str) -> None:
    model, weights = recurrent_model(kind, 4, 2, 3, return_sequences=False, go_backwards=False, rng=RNG)
    layer = model.layers[0]
    for got, given_ in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(got, given_)
    name = layer.name
    copies = [weight for _, _, data in model.graph.edges(data=True)
              for weight in [data["weight"]] if data.get("param") == f"{name}/recurrent_kernel/1,2"]
    assert copies == [weights[1][1, 2]] * 3  # steps 1, 2 and 3 (step 0 reads a zero state)
    biases = {data["bias"] for _, data in model.graph.nodes(data=True)
              if data.get("bias_param") == f"{name}/bias/{'0,' if kind == 'gru' else ''}1"}
    assert biases == {weights[2].reshape(-1)[1]}


def test_a_one_step_layer_keeps_its_recurrent_kernel() -> None:
    model, weights = recurrent_model("lstm", 1, 2, 3, return_sequences=False, go_backwards=False, rng=RNG)
    np.testing.assert_array_equal(model.layers[0].get_weights()[1], weights[1])


def test_neurons_are_named_by_layer_step_role_and_unit() -> None:
    layer = LSTM(4)
    model = Sequential([Input(shape=(6, 2)), layer], seed=0)
    G = model.graph
    assert G.nodes["lstm/t5/forget/3"]["activation"] == "sigmoid"
    assert G.nodes["lstm/t5/hidden/3"]["aggregation"] == "product"
    assert set(G.predecessors("lstm/t5/hidden/3")) == {"lstm/t5/output/3", "lstm/t5/activated_cell/3"}
    assert set(G.predecessors("lstm/t5/kept/3")) == {"lstm/t5/forget/3", "lstm/t4/cell/3"}
    assert "lstm/t0/kept/3" not in G  # a zero initial state keeps nothing
    assert layer.neurons.tolist() == [f"lstm/t5/hidden/{j}" for j in range(4)]
    assert layer.gate_neurons("forget").shape == (6, 4)
    assert layer.gate_neurons("kept")[0].tolist() == [None] * 4
    assert nx.is_directed_acyclic_graph(G)
    nngraph.validate(G)


def test_go_backwards_reads_the_last_row_first() -> None:
    layer = SimpleRNN(1, go_backwards=True)
    model = Sequential([Input(shape=(3, 1)), layer], seed=0)
    assert list(model.graph.predecessors("simple_rnn/t0/hidden/0")) == [model._inputs[2, 0]]


@pytest.mark.parametrize(("layers", "match"), [
    ([Input(shape=(8,)), LSTM(4)],
     r"LSTM takes inputs of shape \(timesteps, features\), got \(8,\); it has no time axis"),
    ([Input(shape=(5, 8)), Flatten(), Dense(3), GRU(2)],
     r"GRU takes inputs of shape \(timesteps, features\), got \(3,\)"),
    ([Input(shape=(4, 4, 1)), SimpleRNN(2)], r"got \(4, 4, 1\); add a Reshape"),
])
def test_inputs_without_a_time_axis_are_refused(layers: list, match: str) -> None:
    with pytest.raises(LayerError, match=match):
        Sequential(layers)


def test_two_dimensional_data_to_a_recurrent_model_is_refused() -> None:
    model = Sequential([Input(shape=(5, 3)), LSTM(2)], seed=0)
    with pytest.raises(InputError, match=r"expected an array of shape \(batch, 5, 3\)"):
        model.predict(np.zeros((4, 3)))


def test_set_weights_of_the_wrong_shape_names_the_layer_and_shapes() -> None:
    layer = LSTM(4, name="encoder")
    Sequential([Input(shape=(5, 3)), layer], seed=0)
    with pytest.raises(LayerError, match=r"layer 'encoder': recurrent_kernel must have shape \(4, 16\), got \(4, 12\)"):
        layer.set_weights([np.zeros((3, 16)), np.zeros((4, 12)), np.zeros(16)])
    expected = r"expects 3 arrays \(kernel \(3, 16\), recurrent_kernel \(4, 16\), bias \(16,\)\)"
    with pytest.raises(LayerError, match=expected):
        layer.set_weights([np.zeros((3, 16))])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(LayerError, match="units must be a positive whole number"):
        LSTM(0)
    with pytest.raises(LayerError, match="has no role 'forgot'"):
        layer = LSTM(1)
        Sequential([Input(shape=(2, 1)), layer])
        layer.gate_neurons("forgot")


@pytest.mark.parametrize("return_sequences", [False, True])
def test_trace_layer_values_are_in_keras_layout_from_both_executors(return_sequences: bool) -> None:
    model, weights = recurrent_model("lstm", 7, 2, 3, return_sequences=return_sequences, go_backwards=False,
                                     rng=RNG)
    x = RNG.normal(size=(2, 7, 2))
    expected, _ = expected_output("lstm", x, weights, return_sequences=return_sequences, go_backwards=False)
    plan = nngraph.compile_network(model.graph)
    for trace in (model.trace(x), plan.trace(x.reshape(2, -1)),
                  pickle.loads(pickle.dumps(plan)).trace(x.reshape(2, -1))):
        assert_close(trace.layer_values("lstm"), expected)


def test_trace_layer_weighted_sums_and_unknown_layers() -> None:
    model = Sequential([Input(shape=(4, 2)), SimpleRNN(3, return_sequences=True, activation="linear")], seed=0)
    trace = model.trace(RNG.normal(size=(5, 4, 2)))
    np.testing.assert_array_equal(trace.layer_weighted_sums("simple_rnn"), trace.layer_values("simple_rnn"))
    assert trace.layer_values("simple_rnn").shape == (5, 4, 3)
    with pytest.raises(nngraph.NeuronNotFoundError, match="no layer 'lstm' in this trace; layers: input, simple_rnn"):
        trace.layer_values("lstm")


def test_the_lstm_gates_example_prints_a_forget_gate_over_time(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    lstm_gates = runpy.run_path(str(Path(__file__).parents[1] / "examples" / "lstm_gates.py"))
    lstm_gates["main"]([str(tmp_path), "--dot"])
    printed = capsys.readouterr().out
    assert "lstm (LSTM)                    (None, 3)                     72" in printed
    assert "  t5  lstm/t5/forget/0" in printed
    model = lstm_gates["lstm_model"]()
    layer = model.get_layer("lstm")
    sequence = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [-0.5, 0.5], [-1.0, 0.0], [0.0, -1.0]])
    _, gates = lstm(sequence[None], *layer.get_weights())
    for step, value in enumerate(gates["forget"][0, :, 0]):
        assert f"  t{step}  lstm/t{step}/forget/0   {value:.4f}" in printed
    assert "lstm/t5/forget/0" in (tmp_path / "lstm_neurons.dot").read_text()


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before"])
def test_the_plan_fuses_each_steps_gates_and_products(kind: str) -> None:
    steps = 5
    model, _ = recurrent_model(kind, steps, 3, 4, return_sequences=False, go_backwards=False, rng=RNG)
    plan = nngraph.compile_network(model.graph)
    products = [op for op in plan.ops if op.kind == "aggregate"]
    assert all(op.aggregations == ("product",) for op in products)
    # one op per group of products of a step, never one per neuron (GRU without reset_after: none
    # multiplies the zero state at step 0)
    assert len(products) == (2 * steps - 1 if kind == "gru_reset_before" else 2 * steps)
    assert len(plan.ops) <= 7 * steps
    for op in plan.ops:  # no op mixes steps
        assert len({str(node).split("/")[1] for node in op.targets}) == 1
    gates = plan.op_of(f"{model.layers[0].name}/t3/{'forget' if kind == 'lstm' else 'update'}/2")
    assert gates.kind == "dense" and len(gates.targets) == 4 * (4 if kind == "lstm" else 2)
    if kind == "lstm":  # the sigmoid gates and the tanh candidate: one product, an activation each
        assert gates.activation_runs() == [("sigmoid", 0, 12), ("tanh", 12, 16)]
    assert "aggregate (product)" in str(plan)


def test_the_neuron_diagram_draws_steps_as_columns_and_folds_long_sequences() -> None:
    model = Sequential([Input(shape=(12, 2)), SimpleRNN(3)], seed=0)
    shown = nngraph.render_neurons(model.graph).source
    assert all(f"simple_rnn/t{step}" in shown for step in range(12))
    folded = nngraph.render_neurons(model.graph, collapse_columns_above=5).source
    assert "the 9 from simple_rnn/t1 to simple_rnn/t9 are folded into one" in folded
    assert "simple_rnn/t0" in folded and "simple_rnn/t11" in folded


def test_a_saved_recurrent_model_loads_runs_and_summarises_as_keras(tmp_path: Path) -> None:
    model = Sequential([Input(shape=(5, 3)), LSTM(4, return_sequences=True), GRU(2), Dense(1)], seed=0)
    path = tmp_path / "recurrent.json"
    nngraph.save(model.graph, path)
    G = nngraph.load(path)
    x = RNG.normal(size=(2, 5, 3))
    assert_close(nngraph.compile_network(G)(x.reshape(2, -1)), model.predict(x))
    text = describe(G)
    assert " lstm (LSTM)                    (None, 5, 4)                 128" in text
    assert " gru (GRU)                      (None, 2)                     48" in text
    assert "Total params: 179" in text


def test_the_layer_diagram_draws_a_recurrent_layer_as_one_box_as_keras_does() -> None:
    model = Sequential([Input(shape=(4, 2)), LSTM(2, return_sequences=True), GRU(2), Dense(1)], seed=0)
    source = nngraph.render_layers(model.graph).source
    assert source.count("class=layer") == 4  # the input, lstm, gru and dense; no box per time step
    assert "lstm/t" not in source
    for text in ("(LSTM)", "(GRU)", "40 params", "36 params", "output (None, 4, 2)", "2 units, tanh"):
        assert text in source
