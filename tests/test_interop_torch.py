"""from_torch: real PyTorch modules, imported, predict what PyTorch predicts on the same arrays."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nngraph
from nngraph import ExtraMissingError, InteropError, compile_network, from_torch, run_reference
from nngraph.keras.summary import layer_table

torch.set_num_threads(1)
RNG = np.random.default_rng(12)
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}


def assert_imported(module: nn.Module, input_shape: tuple[int, ...], *, dtype: torch.dtype = torch.float64,
                    scale: float = 2.0) -> nx.DiGraph:
    """Import ``module`` (in eval mode, in ``dtype``); the compiled plan (in ``dtype`` too) and the
    reference pass give PyTorch's outputs for the same arrays; the summary counts what PyTorch
    counts (see ``torch_params``)."""
    module = module.to(dtype).eval()
    G = from_torch(module, input_shape)
    x = RNG.normal(size=(6, *input_shape)) * scale
    with torch.no_grad():
        expected = module(torch.from_numpy(x).to(dtype)).double().numpy().reshape(len(x), -1)
    plan = compile_network(G, dtype=np.float32 if dtype == torch.float32 else np.float64)
    flat = x.reshape(len(x), -1)
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(plan(flat), expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(run_reference(G, flat).outputs, expected, rtol=tolerance, atol=tolerance)
    assert layer_table(G).total == torch_params(module)
    return G


def torch_params(module: nn.Module) -> int:
    """PyTorch's parameter count as nngraph's summary counts it (Keras' way): BatchNorm's running mean
    and variance are counted too (non-trainable, as Keras counts them), and the second bias of an RNN or
    LSTM (``b_hh``), which adds into ``b_ih``, is not (a GRU keeps both, as Keras' ``reset_after``)."""
    total = sum(p.numel() for p in module.parameters())
    for part in module.modules():
        if isinstance(part, nn.modules.batchnorm._BatchNorm):
            total += part.running_mean.numel() + part.running_var.numel()
        if isinstance(part, (nn.RNN, nn.LSTM)) and part.bias:
            total -= sum(getattr(part, f"bias_hh_l{layer}").numel() for layer in range(part.num_layers))
    return total


def trained(module: nn.Module, input_shape: tuple[int, ...], *, steps: int = 5) -> nn.Module:
    """``module`` after a few gradient-descent steps on random data (BatchNorm's statistics move
    too); the steps are written out, as ``torch.optim``'s first use costs seconds of imports."""
    torch.manual_seed(1)
    module.train()
    x = torch.randn(16, *input_shape, dtype=next(module.parameters()).dtype)
    for _ in range(steps):
        module.zero_grad()
        (module(x) ** 2).mean().backward()
        with torch.no_grad():
            for parameter in module.parameters():
                parameter -= 0.1 * parameter.grad
    return module.eval()


ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(), nn.LeakyReLU(negative_slope=0.3), nn.ELU(), nn.ELU(alpha=0.5), nn.SELU(),
               nn.GELU(), nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.Softplus(beta=2.0, threshold=1.5), nn.Identity()]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: repr(a))
def test_mlps_with_every_activation_module(activation: nn.Module, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(8, 6), activation, nn.Dropout(0.2), nn.Linear(6, 6), activation,
                           nn.Linear(6, 4), nn.Softmax(dim=-1))
    assert_imported(module, (8,), dtype=dtype, scale=4.0)


def test_activations_fuse_into_the_layer_before() -> None:
    module = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 6), nn.LeakyReLU(), nn.Linear(6, 4),
                           nn.Softmax(dim=1))
    G = from_torch(module, (8,))
    assert [(r.name, r.kind, r.config["activation"]) for r in nngraph.layer_records(G)] == [
        ("0", "Dense", "relu"), ("2", "Dense", "leaky_relu(alpha=0.01)"), ("4", "Dense", "softmax")]
    assert G.number_of_nodes() == 8 + 16 and G.number_of_edges() == 108 and layer_table(G).total == 124


def test_softplus_turns_linear_above_its_threshold_as_pytorch() -> None:
    module = nn.Sequential(nn.Linear(1, 1), nn.Softplus(beta=0.5, threshold=3.0)).double()
    with torch.no_grad():
        module[0].weight.fill_(1.0)
        module[0].bias.fill_(0.0)
    x = np.array([[-4.0], [5.9], [6.0], [6.1], [30.0]])
    got = compile_network(from_torch(module, (1,)))(x)
    np.testing.assert_allclose(got, module(torch.from_numpy(x)).detach().numpy(), rtol=1e-12, atol=0)
    assert got[-1, 0] == 30.0


class Functional(nn.Module):
    """Every functional form and tensor method, in a custom forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.hidden = nn.Linear(2 * 4 * 4, 6)
        self.middle = nn.Linear(6, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv(x), 0.1)
        x = x.view(x.size(0), -1)
        x = F.softplus(self.hidden(x), beta=2.0, threshold=1.0)
        x = torch.tanh(F.gelu(x)).sigmoid()
        x = F.selu(F.elu(self.middle(x), 0.5)).relu()
        x = torch.sigmoid(torch.relu(F.relu(x)).tanh())
        x = F.dropout(x, 0.3, training=self.training)
        return F.softmax(self.out(x).contiguous(), dim=-1)


class Reshaping(nn.Module):
    """torch.flatten, x.flatten, x.reshape(x.shape[0], -1) and x.view(-1, n)."""

    def __init__(self, flatten: str) -> None:
        super().__init__()
        self.flatten = flatten
        self.conv = nn.Conv1d(2, 3, 2)
        self.fc = nn.Linear(3 * 4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.elu(self.conv(x))
        if self.flatten == "torch.flatten":
            x = torch.flatten(x, 1)
        elif self.flatten == "method":
            x = x.flatten(start_dim=1)
        elif self.flatten == "reshape":
            x = x.reshape(x.shape[0], -1)
        else:
            x = x.view(-1, 3 * 4)
        return torch.softmax(self.fc(x), dim=1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_functional_forms_in_a_custom_forward(dtype: torch.dtype) -> None:
    torch.manual_seed(2)
    assert_imported(Functional(), (1, 6, 6), dtype=dtype)
    assert_imported(trained(Functional(), (1, 6, 6)), (1, 6, 6), dtype=dtype)


@pytest.mark.parametrize("flatten", ["torch.flatten", "method", "reshape", "view"])
def test_every_way_to_flatten(flatten: str) -> None:
    torch.manual_seed(3)
    assert_imported(Reshaping(flatten), (2, 5))


def lenet(channels: int = 1) -> nn.Module:
    """A LeNet-like CNN: convolutions, both poolings, batch norm, flatten, dense layers."""
    return nn.Sequential(
        nn.Conv2d(channels, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(12, 10), nn.Softmax(dim=-1))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_lenet_like_cnn_random_and_trained(dtype: torch.dtype) -> None:
    torch.manual_seed(4)
    module = lenet()
    assert_imported(module, (1, 12, 12), dtype=dtype)
    assert_imported(trained(module.float(), (1, 12, 12)), (1, 12, 12), dtype=dtype)


def test_convolution_and_pooling_settings_as_pytorch_computes_them() -> None:
    torch.manual_seed(5)
    module = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=(1, 0)), nn.ELU(),
        nn.Conv2d(4, 4, 3, padding="same", dilation=2), nn.ReLU(),
        nn.MaxPool2d(3, stride=1, padding=1),
        nn.AvgPool2d(3, stride=2, padding=1),  # count_include_pad=True: the padding in the average
        nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.MaxPool2d((1, 2), ceil_mode=True),  # no partial window here: ceil_mode changes nothing
        nn.Conv2d(4, 3, 1, bias=False),
        nn.Flatten(), nn.Linear(3 * 5 * 2, 3))
    G = assert_imported(module, (2, 13, 11))
    records = nngraph.layer_records(G)
    assert [r.config.get("count_include_pad", False) for r in records if r.kind == "AveragePooling2D"] == [True, False]
    diagram = nngraph.render_layers(G).source
    assert "kernel 3×3, strides 2×2, padding 1×0, elu" in diagram
    assert "pool 3×3, strides 2×2, padding 1×1, counted" in diagram and "strides 1×1, padding 1×1<" in diagram


@pytest.mark.parametrize(("pool", "shape"), [
    (nn.MaxPool2d(2, ceil_mode=True), (2, 5, 5)),
    (nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 6, 7)),
    (nn.MaxPool1d(4, stride=3, ceil_mode=True), (1, 9)),
    (nn.AvgPool2d(3, stride=2, ceil_mode=True), (1, 6, 6)),
    (nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 8)),
])
def test_ceil_mode_partial_windows_at_the_border(pool: nn.Module, shape: tuple[int, ...]) -> None:
    assert_imported(nn.Sequential(pool, nn.Flatten()), shape)


def test_an_imported_network_saves_and_loads_with_its_explicit_padding(tmp_path: Path) -> None:
    torch.manual_seed(11)
    module = nn.Sequential(nn.Conv1d(2, 3, 3, padding=2), nn.AvgPool1d(2, padding=1), nn.Flatten()).double().eval()
    G = from_torch(module, (2, 6))
    nngraph.save(G, tmp_path / "imported.json")
    loaded = nngraph.load(tmp_path / "imported.json")
    x = RNG.normal(size=(3, 12))
    np.testing.assert_array_equal(compile_network(loaded)(x), compile_network(G)(x))
    assert nngraph.layer_records(loaded)[1].config == {"pool_size": [2], "strides": [2], "padding": [[1, 1]],
                                                       "count_include_pad": True}


def test_conv1d_batch_norm_and_adaptive_average_pooling() -> None:
    torch.manual_seed(6)
    module = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(2),
                           nn.Conv1d(4, 5, 2, stride=2), nn.AvgPool1d(2, stride=1), nn.AdaptiveAvgPool1d(1),
                           nn.Flatten(), nn.Linear(5, 2))
    assert_imported(trained(module, (3, 12)), (3, 12))
    adaptive = nn.Sequential(nn.Conv2d(2, 3, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(3),
                             nn.Linear(3, 2), nn.Sigmoid())
    G = from_torch(adaptive, (2, 7, 7))
    assert [r.kind for r in nngraph.layer_records(G)][1] == "GlobalAveragePooling2D"
    assert_imported(adaptive, (2, 7, 7))
    assert_imported(nn.Sequential(nn.AdaptiveAvgPool2d((2, 3)), nn.Flatten()), (2, 4, 6))


def test_features_after_a_flatten_keep_pytorchs_order_through_batch_norm_and_layer_norm() -> None:
    torch.manual_seed(7)
    module = nn.Sequential(nn.Conv2d(2, 3, 2), nn.Flatten(), nn.BatchNorm1d(3 * 3 * 3), nn.LayerNorm(27),
                           nn.Softmax(dim=-1))
    assert_imported(trained(module, (2, 4, 4)), (2, 4, 4))
    assert_imported(nn.Sequential(nn.Conv2d(2, 3, 2), nn.Flatten()), (2, 4, 4))  # the output in PyTorch's order


class Recurrent(nn.Module):
    """A batch_first recurrent layer into a Linear, read as ``read`` says."""

    def __init__(self, kind: type, read: str, **settings: object) -> None:
        super().__init__()
        self.read = read
        self.rnn = kind(3, 4, batch_first=True, **settings)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.read == "last":
            out, _ = self.rnn(x)
            return self.fc(out[:, -1, :])
        if self.read == "h_n":
            _, h = self.rnn(x)
            return torch.tanh(self.fc(h[-1]))
        if self.read == "lstm h_n":
            _, (h, _) = self.rnn(x)
            return self.fc(h.squeeze(0))
        out = self.rnn(x)[0]  # every step, into a per-step Linear
        return torch.softmax(self.fc(out), dim=-1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("kind", "read", "settings"), [
    (nn.LSTM, "last", {}), (nn.LSTM, "lstm h_n", {}), (nn.LSTM, "sequence", {"num_layers": 2}),
    (nn.GRU, "last", {}), (nn.GRU, "h_n", {"num_layers": 2}), (nn.GRU, "sequence", {"bias": False}),
    (nn.RNN, "last", {"nonlinearity": "relu"}), (nn.RNN, "h_n", {}),
])
def test_recurrent_layers_batch_first_into_linear(kind: type, read: str, settings: dict, dtype: torch.dtype) -> None:
    torch.manual_seed(8)
    module = Recurrent(kind, read, **settings)
    assert_imported(module, (5, 3), dtype=dtype)
    if dtype == torch.float64:
        assert_imported(trained(module, (5, 3)), (5, 3), dtype=dtype)


def test_sequence_layers_layer_norm_over_features() -> None:
    torch.manual_seed(9)

    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.GRU(3, 4, batch_first=True)
            self.norm = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.rnn(x)
            return self.fc(self.norm(out))

    assert_imported(trained(Tagger(), (4, 3)), (4, 3))


def test_layers_keep_module_paths_as_names() -> None:
    torch.manual_seed(10)
    G = from_torch(lenet().eval(), (1, 12, 12))
    records = nngraph.layer_records(G)
    assert [(r.name, r.kind) for r in records][:3] == [("0", "Conv2D"), ("2", "MaxPooling2D"), ("3", "Conv2D")]
    assert records[0].config["padding"] == [[2, 2], [2, 2]] and records[0].config["activation"] == "relu"
    trace = compile_network(G).trace(RNG.normal(size=(2, 144)))
    assert trace.layer_values("12").shape == (2, 10)


def test_input_and_output_features_are_in_pytorchs_order() -> None:
    G = from_torch(nn.Sequential(nn.Conv2d(2, 3, 1)).eval(), (2, 1, 2))
    assert nngraph.inputs(G) == ["input/0,0,0", "input/0,1,0", "input/0,0,1", "input/0,1,1"]
    assert nngraph.outputs(G)[:3] == ["0/0,0,0", "0/0,1,0", "0/0,0,1"]


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc(x)


class Branches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a(x), self.b(x)


class Permuting(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 1).flatten(1)


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(x)
        F.relu(x, inplace=True)
        return x


class CellState(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (_, c) = self.rnn(x)
        return c[-1]


@pytest.mark.parametrize(("module", "shape", "message"), [
    (nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).train(), (3,),
     r"module '1' \(BatchNorm1d\) is in training mode: .* call module.eval\(\)"),
    (nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).train(), (3,), r"module '1' \(Dropout\): dropout in training"),
    (nn.Sequential(nn.Linear(3, 2), nn.Hardswish()), (3,),
     r"module '1' \(Hardswish\): from_torch does not import this kind of module; it imports .*Linear"),
    (Residual(), (3,), r"fx node 'add' \(function operator.add\) reads 'x', 'fc': .* residual connections"),
    (Branches(), (3,), r"returns tuple of several values"),
    (Permuting(), (2, 3), r"fx node 'permute': from_torch does not import method .permute\(\)"),
    (InPlace(), (3,), r"fx node 'relu' .* reads 'fc' but the output does not use what it computes"),
    (nn.LSTM(3, 4, batch_first=True, bidirectional=True), (5, 3),
     r"module 'lstm' \(LSTM\): bidirectional=True: nngraph's recurrent layers run one direction"),
    (nn.GRU(3, 4), (5, 3), r"module 'gru' \(GRU\): batch_first=False"),
    (nn.LSTM(3, 4, batch_first=True), (5, 3), r"module 'lstm' \(LSTM\): the forward returns its tuple of states"),
    (CellState(), (5, 3), r"module 'rnn' \(LSTM\): the forward reads its cell state c_n"),
    (nn.Sequential(nn.Linear(3, 2), nn.GELU(approximate="tanh")), (3,),
     r"GELU\(approximate='tanh'\): nngraph's gelu is the exact erf form"),
    (nn.Sequential(nn.Conv2d(2, 4, 3, groups=2)), (2, 5, 5), r"module '0' \(Conv2d\): groups=2"),
    (nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")), (1, 5, 5), r"padding_mode='circular'"),
    (nn.Sequential(nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)), (1, 6, 6),
     r"ceil_mode=True with count_include_pad=True and padding: PyTorch's partial border window"),
    (nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), (1, 4, 4), r"divisor_override=3"),
    (nn.Sequential(nn.AdaptiveAvgPool2d(2)), (1, 5, 5), r"output_size=2 does not divide the input \(5, 5\)"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softmax(dim=2)), (1, 5, 5), r"softmax over dim=2 .* works over the channels"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(3, 2)), (1, 5, 5), r"a Linear over the last axis of a channels-first"),
    (nn.Sequential(nn.Flatten(0)), (3,), r"flattens axes 0 to -1"),
    (nn.Sequential(nn.Dropout()).eval(), (3,), r"computes nothing nngraph holds as neurons"),
    (nn.Sequential(nn.Linear(4, 2)), (3,), r"does not run on inputs of shape \(batch, 3\): RuntimeError"),
    (nn.Sequential(nn.LayerNorm((2, 3))), (2, 3), r"normalized_shape=\(2, 3\)"),
])
def test_what_nngraph_cannot_express_is_refused_by_name(module: nn.Module, shape: tuple, message: str) -> None:
    with pytest.raises(InteropError, match=message):
        from_torch(module, shape)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(nngraph.ArgumentError, match="from_torch takes a torch.nn.Module, got str"):
        from_torch("model.pt", (3,))  # type: ignore[arg-type]
    with pytest.raises(nngraph.ArgumentError, match=r"input_shape must be a tuple of positive whole numbers"):
        from_torch(nn.Linear(3, 2), (0,))
    with pytest.raises(InteropError, match=r"torch.fx cannot trace the module \(TraceError"):
        from_torch(DataDependent(), (3,))


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x


def test_from_torch_without_pytorch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ExtraMissingError, match=r"pip install 'nngraph\[torch\]'"):
        from_torch(object(), (3,))
    assert nngraph.interop.from_torch is from_torch


def test_the_import_torch_example_agrees_with_pytorch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = runpy.run_path(str(Path(__file__).parents[1] / "examples" / "import_torch.py"))
    example["main"]([str(tmp_path), "--dot"])
    printed = capsys.readouterr().out
    assert " 0 (Conv2D)                     (None, 12, 12, 4)             40" in printed
    assert "Total params: 522" in printed and "Non-trainable params: 12" in printed
    assert "PyTorch's parameters: 510, plus BatchNorm's running mean and variance: 12" in printed
    difference = float(printed.split("largest difference from PyTorch over 5 images: ")[1].split()[0])
    assert difference < 1e-5
    assert (tmp_path / "torch_layers.dot").read_text().count("(Conv2D)") == 2
    assert (tmp_path / "torch_neurons.dot").exists()


def test_layer_values_are_channels_last_whatever_order_the_inputs_come_in() -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 2)).eval()
    G = from_torch(module, (3, 6, 6))
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 6))
    trace = nngraph.compile_network(G).trace(x.reshape(2, -1))
    np.testing.assert_array_equal(trace.layer_values("input"), x.transpose(0, 2, 3, 1))
    with torch.no_grad():
        feature_maps = module[1](module[0](torch.from_numpy(x).float())).numpy()
    [conv] = [record.name for record in nngraph.layer_records(G) if record.kind == "Conv2D"]
    np.testing.assert_allclose(trace.layer_values(conv), feature_maps.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-6)
