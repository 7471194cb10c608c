"""Front ends for other libraries' networks; each imports its library only when called.

    neat.py          neat-python genomes: a whole generation compiled into one plan (the ``neat`` extra)
    onnx_import.py   from_onnx: an ONNX model (a chain of ops) as a network of layers (the ``onnx`` extra);
                     onnx_ops.py says which op becomes which layer
"""

from nngraph.interop.onnx_import import from_onnx

__all__ = ["from_onnx"]
