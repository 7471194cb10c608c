"""``nngraph export``: a saved model as an ONNX file that onnxruntime runs as ``nngraph run`` computes.

Its usage and file errors sit with every command's in ``tests/test_cli.py`` and ``tests/test_cli_files.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from test_cli_files import cli

import nngraph
from nngraph.demo import lesson_model
from nngraph.interop.onnx_export import DEFAULT_OPSET


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-export") / "lesson.json"
    nngraph.save(lesson_model(seed=3).graph, path)
    return path


@pytest.mark.parametrize(("options", "dtype", "opset", "rtol"), [
    ((), np.float32, DEFAULT_OPSET, 1e-5),
    (("--dtype", "float64", "--opset", "18"), np.float64, 18, 1e-10),
])
def test_export_writes_what_run_computes(capsys, tmp_path: Path, model: Path, options: tuple[str, ...],
                                         dtype: type, opset: int, rtol: float) -> None:
    target = tmp_path / "lesson.onnx"
    status, out, err = cli(capsys, "export", model, "-o", target, *options)
    assert (status, err) == (0, "")
    assert out == (f"wrote {target}: {model} as ONNX (opset {opset}, {np.dtype(dtype).name}), "
                   "8 inputs -> 4 outputs\n")
    exported = onnx.load(str(target))
    assert exported.opset_import[0].version == opset
    session = onnxruntime.InferenceSession(target.read_bytes(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(size=(4, 8)).astype(dtype)
    expected = nngraph.compile_network(nngraph.load(model), dtype=dtype)(x)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=rtol, atol=rtol)


def test_export_without_onnx_names_the_extra(capsys, tmp_path: Path, model: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    status, out, err = cli(capsys, "export", model, "-o", tmp_path / "m.onnx")
    assert (status, out) == (1, "")
    assert err == "nngraph: error: this needs ONNX; install it with: pip install 'nngraph[onnx]'\n"
    assert not (tmp_path / "m.onnx").exists()
