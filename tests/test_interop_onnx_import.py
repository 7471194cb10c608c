"""from_onnx: ONNX models built with onnx.helper (and exported by PyTorch) against onnxruntime.

Predictions are compared on random inputs: float32 models with onnxruntime within 1e-5; float64
models within 1e-10, with onnxruntime where it runs the ops in double, else with the onnx package's
own reference implementation (``onnx.reference``), which computes in the inputs' precision.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import nngraph
from nngraph import ExtraMissingError, InteropError, ModelFileError, from_onnx
from nngraph.keras.summary import layer_table

HERE = Path(__file__).resolve().parent
RNG = np.random.default_rng(12)


def node(op: str, inputs: list[str], output: str, **attributes: object) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [output], name=f"{op.lower()}_{output}", **attributes)


def make_model(nodes: list[onnx.NodeProto], weights: dict[str, np.ndarray], shape: tuple[int, ...], *,
               dtype: type = np.float32, opset: int = 13) -> onnx.ModelProto:
    """A model of ``nodes`` reading ``x`` of shape ``(n, *shape)`` and writing the last node's output."""
    kind = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("x", kind, ["n", *shape])],
        [helper.make_tensor_value_info(nodes[-1].output[0], kind, None)],
        initializer=[numpy_helper.from_array(np.asarray(value, dtype=dtype if np.asarray(value).dtype.kind == "f"
                                                        else None), name) for name, value in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8  # what onnxruntime reads
    return onnx.shape_inference.infer_shapes(model)  # the output's shape, which onnx.checker wants


def runtime(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


def assert_imports(model: onnx.ModelProto, shape: tuple[int, ...], *, oracle=runtime, batch: int = 5) -> nngraph.CompiledPlan:
    """The imported network's compiled plan gives ``oracle``'s outputs, flattened, for random inputs."""
    dtype = np.float32 if model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT else np.float64
    x = RNG.normal(size=(batch, *shape)).astype(dtype)
    expected = oracle(model, x).reshape(batch, -1)
    G = from_onnx(model)
    plan = nngraph.compile_network(G)
    got = plan(x.reshape(batch, -1).astype(np.float64))
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    return plan


def initializer_count(model: onnx.ModelProto) -> int:
    return sum(int(np.prod(tensor.dims)) for tensor in model.graph.initializer
               if numpy_helper.to_array(tensor).dtype.kind == "f")


def weights(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape) / np.sqrt(shape[-1] if len(shape) == 1 else shape[1])


# -- dense ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha, beta, trans_b, c_shape", [
    (1.0, 1.0, 0, (4,)), (0.5, 2.0, 1, (1, 4)), (1.5, 0.25, 1, None), (1.0, -1.0, 0, (1,))])
def test_gemm_with_its_attributes(dtype: type, alpha: float, beta: float, trans_b: int, c_shape: tuple | None) -> None:
    b = weights(6, 4)
    inputs = {"w": b.T if trans_b else b, "w2": weights(4, 3), "b2": weights(3)}
    if c_shape is not None:
        inputs["c"] = RNG.normal(size=c_shape)
    first = node("Gemm", ["x", "w", "c"] if c_shape else ["x", "w"], "h", alpha=alpha, beta=beta, transB=trans_b)
    model = make_model([first, node("Tanh", ["h"], "t"), node("Gemm", ["t", "w2", "b2"], "y")], inputs, (6,),
                       dtype=dtype)
    plan = assert_imports(model, (6,))
    assert plan.plan.ops[0].activation == "tanh"  # the Tanh is the Dense layer's activation
    if c_shape != (1,):  # one number of C is every unit's bias
        assert layer_table(from_onnx(model)).total == initializer_count(model)


def test_matmul_and_add_are_one_dense_layer_in_double() -> None:
    model = make_model([node("MatMul", ["x", "w"], "m"), node("Add", ["b", "m"], "a"), node("Relu", ["a"], "r"),
                        node("MatMul", ["r", "w2"], "y")],
                       {"w": weights(5, 7), "b": weights(7), "w2": weights(7, 2)}, (5,), dtype=np.float64)
    assert_imports(model, (5,))
    G = from_onnx(model)
    assert [record.kind for record in nngraph.layer_records(G)] == ["Dense", "Dense"]
    assert layer_table(G).total == 5 * 7 + 7 + 7 * 2


# -- activations ---------------------------------------------------------------------------------

ACTIVATION_CASES = [
    ("Relu", {}, "relu"), ("LeakyRelu", {}, "leaky_relu(alpha=0.009999999776482582)"),
    ("LeakyRelu", {"alpha": 0.25}, "leaky_relu(alpha=0.25)"), ("Elu", {}, "elu"),
    ("Elu", {"alpha": 0.5}, "elu(alpha=0.5)"),
    ("Selu", {}, "selu(alpha=1.6732631921768188, scale=1.0507010221481323)"),
    ("Selu", {"alpha": 1.5, "gamma": 0.75}, "selu(alpha=1.5, scale=0.75)"),
    ("Sigmoid", {}, "sigmoid"), ("HardSigmoid", {}, "hard_sigmoid(alpha=0.20000000298023224)"),
    ("HardSigmoid", {"alpha": 0.375, "beta": 0.25}, "hard_sigmoid(alpha=0.375, beta=0.25)"),
    ("Tanh", {}, "tanh"), ("Softplus", {}, "softplus"), ("Softsign", {}, "softsign"), ("Softmax", {}, "softmax"),
]


@pytest.mark.parametrize("op, attributes, name", ACTIVATION_CASES, ids=[f"{c[0]}{c[1]}" for c in ACTIVATION_CASES])
def test_each_activation_op_standalone_and_folded(op: str, attributes: dict, name: str) -> None:
    """The op on the input (an Activation layer) and after a Gemm (the Dense layer's activation)."""
    nodes = [node(op, ["x"], "a", **attributes), node("Gemm", ["a", "w", "b"], "h", transB=1),
             node(op, ["h"], "y", **attributes)]
    inputs = {"w": 3 * weights(4, 6), "b": weights(4)}
    for dtype, oracle in ((np.float32, runtime), (np.float64, reference)):
        assert_imports(make_model(nodes, inputs, (6,), dtype=dtype), (6,), oracle=oracle, batch=20)
    G = from_onnx(make_model(nodes, inputs, (6,)))
    assert [(record.kind, record.config["activation"]) for record in nngraph.layer_records(G)] == [
        ("Activation", name), ("Dense", name)]


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_follows_the_axis_rule_of_the_models_opset(opset: int) -> None:
    """Before opset 13, Softmax(axis=1) on (n, C, H, W) normalises each whole sample; from 13, the
    channels of each position."""
    model = make_model([node("Conv", ["x", "w"], "c"), node("Softmax", ["c"], "y", axis=1)],
                       {"w": weights(3, 2, 2, 2)}, (2, 4, 5), opset=opset)
    assert_imports(model, (2, 4, 5))
    groups = {nngraph.read_neuron(from_onnx(model), node).layer for node in nngraph.outputs(from_onnx(model))}
    assert len(groups) == (1 if opset == 11 else 3 * 4)
    default = make_model([node("Gemm", ["x", "w", "b"], "h"), node("Softmax", ["h"], "y")],
                         {"w": weights(5, 4), "b": weights(4)}, (5,), opset=opset)
    assert_imports(default, (5,))


@pytest.mark.parametrize("opset, axis", [(13, -1), (13, 2), (11, 2), (13, 0)])
def test_softmax_over_an_axis_nngraph_cannot_express_is_refused(opset: int, axis: int) -> None:
    model = make_model([node("Conv", ["x", "w"], "c"), node("Softmax", ["c"], "y", axis=axis)],
                       {"w": weights(3, 2, 3)}, (2, 6), opset=opset)
    with pytest.raises(InteropError, match=r"Softmax node 'softmax_y': softmax (from|along) (axis|the batch)"):
        from_onnx(model)


# -- convolutional networks ----------------------------------------------------------------------

def small_cnn(count_include_pad: int, *, dtype: type = np.float32, opset: int = 13) -> onnx.ModelProto:
    nodes = [
        node("Conv", ["x", "w1", "b1"], "c1", pads=[1, 1, 1, 1], strides=[2, 1]),
        node("Relu", ["c1"], "r1"),
        node("MaxPool", ["r1"], "p1", kernel_shape=[2, 2], strides=[1, 2]),
        node("Conv", ["p1", "w2"], "c2", auto_pad="SAME_UPPER", kernel_shape=[3, 2]),
        node("BatchNormalization", ["c2", "gamma", "beta", "mean", "var"], "n2"),
        node("LeakyRelu", ["n2"], "r2", alpha=0.1),
        node("AveragePool", ["r2"], "p2", kernel_shape=[3, 3], pads=[1, 0, 2, 1], strides=[2, 1],
             count_include_pad=count_include_pad),
        node("Flatten", ["p2"], "f"),
        node("Gemm", ["f", "w3", "b3"], "h", transB=1),
        node("Softmax", ["h"], "y"),
    ]
    inputs = {"w1": weights(4, 3, 3, 3), "b1": weights(4), "w2": weights(5, 4, 3, 2),
              "gamma": RNG.uniform(0.5, 2, 5), "beta": weights(5), "mean": weights(5), "var": RNG.uniform(0.5, 2, 5)}
    return make_model(nodes, inputs, (3, 9, 10), dtype=dtype, opset=opset)


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_a_small_cnn_agrees_with_onnxruntime(count_include_pad: int, tmp_path: Path) -> None:
    head = small_cnn(count_include_pad)
    # the Flatten's features: 5 channels x 3 x 4 positions after the average pooling
    for name, value in {"w3": weights(7, 5 * 3 * 4), "b3": weights(7)}.items():
        head.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), name))
    assert_imports(head, (3, 9, 10))
    G = from_onnx(head)
    assert [record.kind for record in nngraph.layer_records(G)] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "BatchNormalization", "Activation", "AveragePooling2D", "Flatten",
        "Dense"]
    assert layer_table(G).total == initializer_count(head)
    pooling = nngraph.layer_records(G)[5].config
    assert pooling["padding"] == [[1, 2], [0, 1]] and pooling.get("count_include_pad", False) == bool(count_include_pad)
    x = RNG.normal(size=(2, 3 * 9 * 10))
    outputs = nngraph.compile_network(G)(x)
    np.testing.assert_allclose(nngraph.run_reference(G, x).outputs, outputs, rtol=1e-12)  # the oracle agrees
    nngraph.save(G, tmp_path / "cnn.json")  # explicit padding is JSON in the layer records
    np.testing.assert_array_equal(nngraph.compile_network(nngraph.load(tmp_path / "cnn.json"))(x), outputs)


def test_a_cnn_in_double_agrees_with_onnxs_reference() -> None:
    # opset 15: onnx.reference's BatchNormalization of opsets 9 to 13 uses the batch's statistics
    model = small_cnn(1, dtype=np.float64, opset=15)
    for name, value in {"w3": weights(7, 5 * 3 * 4), "b3": weights(7)}.items():
        model.graph.initializer.append(numpy_helper.from_array(value, name))
    assert_imports(model, (3, 9, 10), oracle=reference, batch=3)


def test_global_pooling_reshape_and_an_unflattened_output() -> None:
    """GlobalAveragePool then a Reshape to (batch, features); and a model whose output is a feature map,
    which comes out in ONNX's (C, H, W) order."""
    pooled = make_model([node("Conv", ["x", "w", "b"], "c", auto_pad="SAME_LOWER", strides=[2, 2]),
                         node("GlobalAveragePool", ["c"], "g"), node("Reshape", ["g", "shape"], "f"),
                         node("Gemm", ["f", "w2"], "y")],
                        {"w": weights(6, 2, 3, 3), "b": weights(6), "shape": np.array([0, -1], np.int64),
                         "w2": weights(6, 3)}, (2, 7, 6))
    assert_imports(pooled, (2, 7, 6))
    feature_map = make_model([node("Conv", ["x", "w"], "c", dilations=[2, 1]), node("Identity", ["c"], "i"),
                              node("GlobalMaxPool", ["i"], "g"), node("Dropout", ["g"], "y")],
                             {"w": weights(3, 2, 2, 3)}, (2, 6, 6))
    assert_imports(feature_map, (2, 6, 6))
    ends_on_a_map = make_model([node("Conv", ["x", "w"], "y", pads=[0, 2, 1, 0])], {"w": weights(3, 2, 2, 3)},
                               (2, 5, 4))
    assert_imports(ends_on_a_map, (2, 5, 4))


def test_one_dimensional_convolution_and_batch_norm_on_flattened_features() -> None:
    model = make_model([node("Conv", ["x", "w"], "c", pads=[2, 1], dilations=[2]),
                        node("Elu", ["c"], "e"),
                        node("AveragePool", ["e"], "p", kernel_shape=[3], strides=[2], pads=[1, 1], count_include_pad=1),
                        node("MaxPool", ["p"], "q", kernel_shape=[2], pads=[1, 0]),
                        node("Flatten", ["q"], "f"),
                        node("BatchNormalization", ["f", "gamma", "beta", "mean", "var"], "n", epsilon=1e-3),
                        node("Gemm", ["n", "w2"], "y")],
                       {"w": weights(4, 3, 3), "gamma": RNG.uniform(0.5, 2, 20), "beta": weights(20),
                        "mean": weights(20), "var": RNG.uniform(0.5, 2, 20), "w2": weights(20, 2)}, (3, 11))
    assert_imports(model, (3, 11))
    assert [record.kind for record in nngraph.layer_records(from_onnx(model))] == [
        "Conv1D", "AveragePooling1D", "MaxPooling1D", "Flatten", "BatchNormalization", "Dense"]


def test_batch_norm_on_features_in_double_agrees_with_onnxruntime() -> None:
    model = make_model([node("Gemm", ["x", "w", "b"], "h"),
                        node("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], "n"),
                        node("Relu", ["n"], "y")],
                       {"w": weights(4, 6), "b": weights(6), "gamma": RNG.uniform(0.5, 2, 6), "beta": weights(6),
                        "mean": weights(6), "var": RNG.uniform(0.5, 2, 6)}, (4,), dtype=np.float64)
    assert_imports(model, (4,))
    assert layer_table(from_onnx(model)).total == initializer_count(model)


# -- models exported by PyTorch ------------------------------------------------------------------

def exported(module: torch.nn.Module, shape: tuple[int, ...]) -> onnx.ModelProto:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(module.eval(), torch.zeros(1, *shape), buffer, dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    return onnx.load_from_string(buffer.getvalue())


def test_pytorch_exports_agree_with_pytorch_and_onnxruntime() -> None:
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.Hardsigmoid(),
        torch.nn.AvgPool2d(3, stride=1, padding=1), torch.nn.Flatten(), torch.nn.Dropout(0.3),
        torch.nn.Linear(6 * 2 * 3, 5), torch.nn.SELU(), torch.nn.Linear(5, 3), torch.nn.Softmax(dim=-1))
    with torch.no_grad():
        cnn[1].running_mean.uniform_(-1, 1)
        cnn[1].running_var.uniform_(0.5, 2)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LeakyReLU(), torch.nn.Linear(8, 8), torch.nn.ELU(),
                              torch.nn.Linear(8, 4), torch.nn.Softplus(), torch.nn.Linear(4, 2), torch.nn.Sigmoid())
    signal = torch.nn.Sequential(torch.nn.Conv1d(3, 5, 4, padding=2), torch.nn.Tanh(), torch.nn.AvgPool1d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(5 * 5, 2))
    for module, shape in ((cnn, (2, 8, 12)), (mlp, (6,)), (signal, (3, 9))):
        model = exported(module, shape)
        plan = assert_imports(model, shape)
        x = RNG.normal(size=(4, *shape)).astype(np.float32)
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy().reshape(4, -1)
        np.testing.assert_allclose(plan(x.reshape(4, -1)), expected, rtol=1e-5, atol=1e-6)
        # the exporter folds BatchNorm2d into the Conv2d before it: the model's numbers are its initializers
        assert layer_table(from_onnx(model)).total == initializer_count(model)


# -- files and refusals --------------------------------------------------------------------------

def mlp() -> onnx.ModelProto:
    return make_model([node("Gemm", ["x", "w", "b"], "h"), node("Relu", ["h"], "y")],
                      {"w": weights(3, 2), "b": weights(2)}, (3,))


def test_a_file_is_read_and_its_problems_named(tmp_path: Path) -> None:
    path = tmp_path / "mlp.onnx"
    onnx.save_model(mlp(), path)
    assert nngraph.compile_network(from_onnx(path))(np.ones((1, 3))).shape == (1, 2)
    assert nngraph.compile_network(from_onnx(str(path)))(np.ones((1, 3))).shape == (1, 2)
    with pytest.raises(ModelFileError, match=r"missing\.onnx: no such file"):
        from_onnx(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\x00 not protobuf \x07" * 10)
    with pytest.raises(ModelFileError, match=r"garbage\.onnx: not an ONNX model file"):
        from_onnx(garbage)
    invalid = mlp()
    invalid.graph.node[1].input[0] = "nowhere"
    onnx.save_model(invalid, tmp_path / "invalid.onnx")
    with pytest.raises(ModelFileError, match=r"invalid\.onnx: not a valid ONNX model \(onnx\.checker: .*nowhere"):
        from_onnx(tmp_path / "invalid.onnx")
    with pytest.raises(nngraph.ArgumentError, match="takes an onnx.ModelProto or the path"):
        from_onnx(b"bytes")


def test_external_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "external.onnx"
    onnx.save_model(mlp(), path, save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
                    size_threshold=0)
    with pytest.raises(ModelFileError, match=r"external\.onnx: tensor 'w' keeps its data in the external file "
                                             r"'weights\.bin'"):
        from_onnx(path)
    with pytest.raises(InteropError, match="external file"):
        from_onnx(onnx.load(path, load_external_data=False))


@pytest.mark.parametrize("nodes, inputs, shape, message", [
    ([node("Gemm", ["x", "w"], "h"), node("Cos", ["h"], "y")], {"w": weights(3, 2)}, (3,),
     r"Cos node 'cos_y': op 'Cos' is not one nngraph imports; it imports .*Gemm"),
    ([node("Relu", ["x"], "r"), helper.make_node("Add", ["r", "x"], ["y"])], {}, (3,),
     r"Add node #1 reads 'r', 'x', not just 'r'.*no branches, skip connections"),
    ([node("Gemm", ["x", "w"], "y", transA=1)], {"w": weights(3, 2)}, (3,), r"transA=1 would transpose the batch"),
    ([node("Relu", ["x"], "y"), node("Add", ["y", "b"], "z")], {"b": weights(3)}, (3,),
     r"Add only as the bias right after a MatMul"),
    ([node("Conv", ["x", "w"], "y", group=2)], {"w": weights(4, 1, 3, 3)}, (2, 6, 6), r"group=2.*depthwise"),
    ([node("Conv", ["x", "w"], "y", strides=[2, 2], dilations=[2, 2])], {"w": weights(4, 2, 3, 3)}, (2, 9, 9),
     r"strides \[2, 2\] with dilations \[2, 2\]"),
    ([node("MaxPool", ["x"], "y", kernel_shape=[2, 2], dilations=[2, 2])], {}, (2, 6, 6), r"no dilation"),
    ([node("MaxPool", ["x"], "y", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)], {}, (2, 5, 5), r"ceil_mode=1"),
    ([node("Flatten", ["x"], "f", axis=2), node("Relu", ["f"], "y")], {}, (2, 3, 3), r"axis=2 would fold the batch"),
    ([node("Reshape", ["x", "s"], "y")], {"s": np.array([0, 2, 9], np.int64)}, (2, 3, 3),
     r"a Reshape to \[0, 2, 9\]; nngraph imports Reshape only as a flatten"),
    ([node("Conv", ["x", "w"], "y")], {"w": weights(4, 2, 3, 3, 3)}, (2, 5, 5, 5), r"input 'x' has shape \(n, 2, 5, 5, 5\)"),
    ([node("MatMul", ["x", "w"], "y")], {"w": weights(2, 3)}, (4, 2), r"reads a tensor of 3 axes.*put a Flatten"),
    ([node("Identity", ["x"], "y")], {}, (3,), r"computes nothing"),
])
def test_what_nngraph_cannot_express_is_refused_by_name(nodes: list, inputs: dict, shape: tuple, message: str) -> None:
    with pytest.raises(InteropError, match=message):
        from_onnx(make_model(nodes, inputs, shape))


def test_other_domains_inputs_and_outputs_are_refused() -> None:
    model = mlp()
    model.graph.node[1].domain = "com.microsoft"
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(InteropError, match=r"Relu node 'relu_y': op 'Relu' of domain 'com.microsoft'"):
        from_onnx(model)
    two = mlp()
    two.graph.input.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 3]))
    with pytest.raises(InteropError, match=r"one input; this one has 2: 'x', 'z'"):
        from_onnx(two)
    integers = make_model([node("Relu", ["x"], "y")], {}, (3,))
    integers.graph.input[0].type.tensor_type.elem_type = TensorProto.INT64
    integers.graph.output[0].type.tensor_type.elem_type = TensorProto.INT64
    with pytest.raises(InteropError, match=r"input 'x' holds INT64"):
        from_onnx(integers)


def test_without_onnx_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ExtraMissingError, match=r"pip install 'nngraph\[onnx\]'"):
        from_onnx("model.onnx")


def test_the_example_imports_checks_and_draws(tmp_path: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "examples"))
    try:
        from import_onnx import main
    finally:
        sys.path.pop(0)
    difference = main(str(tmp_path))
    assert difference < 1e-5
    assert any(tmp_path.iterdir())
