"""Front ends for other libraries' networks; each imports its library only when called.

    neat.py          neat-python genomes: a whole generation compiled into one plan (the ``neat`` extra)
    onnx_export.py   to_onnx: any network or plan as an ONNX model for onnxruntime (the ``onnx`` extra),
                     with onnx_nodes.py (activations, aggregations) and onnx_conv.py (Conv)
"""

from nngraph.interop.onnx_export import to_onnx

__all__ = ["to_onnx"]
