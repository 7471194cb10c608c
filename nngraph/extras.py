"""Optional libraries (the extras of ``pip install 'nngraph[...]'``), imported only when a function
that needs one is called, so that importing nngraph never imports them."""

from __future__ import annotations

import importlib
from types import ModuleType

from nngraph.errors import ExtraMissingError


def import_extra(module: str, *, extra: str, library: str) -> ModuleType:
    """The module ``module``, or ``ExtraMissingError`` naming the extra that installs ``library``.

    >>> import_extra("numpy", extra="none", library="NumPy").__name__
    'numpy'
    >>> import_extra("no_such_module_here", extra="onnx", library="ONNX")
    Traceback (most recent call last):
    ...
    nngraph.errors.ExtraMissingError: this needs ONNX; install it with: pip install 'nngraph[onnx]'
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExtraMissingError(f"this needs {library}; install it with: pip install 'nngraph[{extra}]'",
                                extra=extra) from None
