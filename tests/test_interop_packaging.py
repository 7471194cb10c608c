"""Packaging of the foreign libraries: each is an optional extra, imported only when a function needs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import nngraph
from nngraph import ExtraMissingError

FOREIGN = ("torch", "keras", "sklearn", "onnx", "onnxruntime", "neat", "h5py", "tensorflow", "jax", "dask")

# Imports every module of nngraph, then lists the foreign libraries that came with them.
PROBE = f"""
import json, pkgutil, sys
import nngraph, nngraph.interop
for module in pkgutil.walk_packages(nngraph.__path__, "nngraph."):
    if module.name != "nngraph.__main__":
        __import__(module.name)
print(json.dumps(sorted(name for name in {FOREIGN!r} if name in sys.modules)))
"""


def test_importing_nngraph_and_every_module_imports_no_foreign_library() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(result.stdout) == []


def test_the_probe_sees_a_foreign_library_that_is_imported() -> None:
    probe = PROBE.replace("import nngraph, nngraph.interop", "import nngraph, nngraph.interop, neat")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(result.stdout) == ["neat"]


def test_from_sklearn_without_scikit_learn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    expected = r"needs scikit-learn; install it with: pip install 'nngraph\[sklearn\]'"
    with pytest.raises(ExtraMissingError, match=expected) as info:
        nngraph.from_sklearn(object())
    assert info.value.extra == "sklearn"
