"""The shared-weights op: convolutions compile to one gather and one product per layer, found from
the weights alone, and agree with the reference pass on every neuron."""

from __future__ import annotations

import dataclasses
import pickle

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import assert_equivalent

import nngraph
from nngraph import CompileError, LayerError
from nngraph.compiler import DEFAULT_PASSES, build_plan, check_plan
from nngraph.compiler.passes import run_passes
from nngraph.execute.compiled import compile_plan
from nngraph.compiler.share import share_weights
from nngraph.ir.plan import SharedOp, shared_op
from nngraph.layers import AveragePooling2D, BatchNormalization, Conv1D, Conv2D, Dense, Flatten, Input
from nngraph.models import Sequential


def lenet(seed: int = 0) -> Sequential:
    return Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(6, (5, 5), activation="relu"), AveragePooling2D((2, 2)),
        Conv2D(16, (5, 5), activation="relu"), AveragePooling2D((2, 2)),
        Flatten(), Dense(120, activation="relu"), Dense(84, activation="relu"), Dense(10, activation="softmax"),
    ], seed=seed)


def test_a_convolution_becomes_one_shared_op_with_the_layers_kernel() -> None:
    layer = Conv2D(4, 3, padding="same", activation="relu")
    model = Sequential([Input(shape=(10, 10, 2)), layer], seed=0)
    plan = nngraph.compile_network(model.graph)
    [op] = plan.ops
    assert isinstance(op, SharedOp) and op.kind == "shared" and op.operation == "shared"
    assert (op.positions, op.entries, op.filters) == (100, 18, 4)
    kernel = layer.get_weights()[0].reshape(18, 4)  # (kh, kw, in) flattened in Keras' order
    np.testing.assert_array_equal(op.kernel, kernel)
    assert op.targets[:2] == ("conv2d/0,0,0", "conv2d/0,1,0")  # filter by filter
    assert (op.window < 0).sum(axis=1)[0] == 2 * 5  # the corner window: 5 of 9 cells on padding
    assert op.connections == model.graph.number_of_edges()
    np.testing.assert_array_equal(op.connection_matrix().toarray(),
                                  nx.to_numpy_array(model.graph, nodelist=[*op.sources, *op.targets])
                                  [:len(op.sources), len(op.sources):])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lenet5_compiles_to_a_handful_of_ops_and_agrees_on_every_neuron(dtype: type) -> None:
    model = lenet()
    plan = nngraph.compile_network(model.graph, dtype=dtype)
    assert len(plan.ops) == 7 and plan.ops[0].kind == plan.ops[2].kind == "shared"
    assert [op.kind for op in plan.ops[4:]] == ["dense", "dense", "dense"]
    x = np.random.default_rng(3).uniform(size=(3, 784))
    assert_equivalent(plan, model.graph, x)


def test_nan_reaches_exactly_the_neurons_whose_window_holds_it() -> None:
    model = Sequential([Input(shape=(12, 12, 2)), Conv2D(4, 3, padding="same"), Conv2D(4, 3)], seed=1)
    plan = nngraph.compile_network(model.graph)
    assert all(op.kind == "shared" for op in plan.ops)
    x = np.random.default_rng(0).normal(size=(2, 288))
    x[0, 0] = np.nan  # input/0,0,0
    trace = plan.trace(x)
    reference = nngraph.run_reference(model.graph, x)
    for node in model.graph:
        if node.startswith("input"):
            continue
        assert np.isnan(trace.value(node)[0]) == np.isnan(reference.value(node)[0]), node
        assert np.isnan(trace.value(node)[0]) == nx.has_path(model.graph, "input/0,0,0", node), node
    assert not np.isnan(trace.values[1]).any()


def test_a_convolution_built_neuron_by_neuron_is_found_as_well() -> None:
    """Plain networkx, no tied names, neurons added in a shuffled order of positions."""
    rng = np.random.default_rng(4)
    kernel, bias = rng.normal(size=(5, 4)), rng.normal(size=4)  # a 1-D convolution of width 5, 4 filters
    G = nx.DiGraph()
    for i in range(64):
        G.add_node(("x", i), role="input")
    for position in rng.permutation(60).tolist():
        for f in range(4):
            G.add_node(("y", position, f), role="output", activation="tanh", bias=float(bias[f]))
            for k in rng.permutation(5).tolist():
                G.add_edge(("x", position + k), ("y", position, f), weight=float(kernel[k, f]))
    plan = nngraph.compile_network(G)
    [op] = plan.ops
    assert op.kind == "shared" and op.kernel.shape == (5, 4) and op.positions == 60
    assert_equivalent(plan, G, rng.normal(size=(4, 64)))


def test_the_pass_can_be_switched_off_and_computes_the_same() -> None:
    model = lenet(seed=2)
    x = np.random.default_rng(5).uniform(size=(2, 784))
    apart = nngraph.compile_network(model.graph, passes=("merge_levels", "choose_kinds"))
    assert not any(op.kind == "shared" for op in apart.ops)
    shared = nngraph.compile_network(model.graph)
    np.testing.assert_allclose(shared(x), apart(x), rtol=1e-12, atol=1e-15)
    alone = nngraph.compile_network(model.graph, passes=("share_weights",))
    assert_equivalent(alone, model.graph, x)


def test_a_scale_per_channel_stays_in_the_sparse_product() -> None:
    """BatchNormalization ties one weight per channel: a gather would only copy it (cost model)."""
    model = Sequential([Input(shape=(8, 8, 3)), BatchNormalization()])
    plan = nngraph.compile_network(model.graph)
    assert [op.kind for op in plan.ops] == ["sparse"]


def test_a_shared_plan_pickles_explains_and_prints() -> None:
    model = Sequential([Input(shape=(40, 2)), Conv1D(4, 3, activation="tanh")], seed=0)
    plan = nngraph.compile_network(model.graph)
    again = pickle.loads(pickle.dumps(plan))
    x = np.random.default_rng(0).normal(size=(2, 80))
    np.testing.assert_array_equal(again(x), plan(x))
    assert not again.ops[0].kernel.flags.writeable and not again.ops[0].window.flags.writeable
    text = plan.explain("conv1d/4,2")
    assert "computed by op 0 (shared, tanh, level 1)" in text
    assert "(kernel column 2 of 4, at position 4 of the 38 that share the 6x4 kernel)" in text
    assert text.count(" * 'input/") == 6
    assert " shared      1  inputs (80) -> conv1d/0,0 .. conv1d/37,3 (152)  tanh        6x4 at 38 " in str(plan)
    assert "A.take(G0, axis=0).reshape(6, -1), out=z.reshape(4, -1))" in plan.code


def broken(op: SharedOp, **changes: object) -> SharedOp:
    fields = {field.name: getattr(op, field.name) for field in dataclasses.fields(op)}
    fields.update(changes)
    return shared_op(**fields)


@pytest.mark.parametrize(("change", "message"), [
    (lambda op: {"kernel": op.kernel[:-1]}, r"window \(38, 6\) and kernel \(5, 4\) do not fit"),
    (lambda op: {"window": op.window[:-1]}, r"computes 152 neurons, but 37 positions of 4 filters make 148"),
    (lambda op: {"window": np.where(op.window == 1, 0, op.window)}, "a window reads one source twice"),
    (lambda op: {"window": np.where(op.window == 0, -1, op.window)}, "some source is in no window"),
    (lambda op: {"window": op.window + 5}, "window rows must be -1 or rows of its 80 sources"),
    (lambda op: {"kernel": op.kernel.astype(np.float32)}, "kernel is float32, the plan computes in float64"),
])
def test_check_plan_names_a_broken_shared_op(change: object, message: str) -> None:
    model = Sequential([Input(shape=(40, 2)), Conv1D(4, 3)], seed=0)
    plan = build_plan(model.graph)
    assert plan.ops[0].kind == "shared"
    bad = dataclasses.replace(plan, ops=(broken(plan.ops[0], **change(plan.ops[0])),))  # type: ignore[operator]
    with pytest.raises(CompileError, match=message):
        check_plan(bad)


@st.composite
def conv_models(draw: st.DrawFn) -> tuple[Sequential, np.ndarray]:
    """Small random stacks of convolutions and average poolings, with random weights (from a few
    values, so that equal rows repeat, in one case of two) and inputs."""
    shape = (draw(st.integers(3, 7)), draw(st.integers(3, 7)), draw(st.integers(1, 3)))
    model = Sequential([Input(shape=shape)])
    for _ in range(draw(st.integers(1, 3))):
        strided = draw(st.booleans())
        pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
        layer = Conv2D(draw(st.integers(1, 4)), draw(pair), strides=draw(pair) if strided else 1,
                       dilation_rate=1 if strided else draw(st.tuples(st.integers(1, 2), st.integers(1, 2))),
                       padding=draw(st.sampled_from(["valid", "same"])),
                       activation=draw(st.sampled_from(["linear", "relu", "tanh"])))
        for candidate in [layer] + ([AveragePooling2D(2, padding=draw(st.sampled_from(["valid", "same"])))]
                                    if draw(st.booleans()) else []):
            try:
                model.add(candidate)
            except LayerError:  # it does not fit the shape so far: refused before anything is built
                break
    assume(model.layers)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    few = draw(st.booleans())
    for layer in model.layers:
        layer.set_weights([rng.choice([-1.0, 0.0, 0.5, 1.0], size=shape) if few else rng.normal(size=shape)
                           for shape in layer.weight_shapes()])
    x = rng.normal(size=(draw(st.integers(1, 4)), int(np.prod(shape))))
    return model, x


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_models(), st.sampled_from([np.float64, np.float32]))
def test_random_convolution_stacks_agree_with_the_reference(case: tuple[Sequential, np.ndarray],
                                                           dtype: type) -> None:
    model, x = case
    assert_equivalent(nngraph.compile_network(model.graph, dtype=dtype), model.graph, x)
    forced = share_weights(build_plan(model.graph, dtype=dtype, passes=()), force=True)
    check_plan(forced)
    assert_equivalent(compile_plan(run_passes(forced, DEFAULT_PASSES)), model.graph, x)
