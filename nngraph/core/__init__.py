"""The graph contract: network.py (keys, Neuron, Connection, LayerRecord), activations.py, aggregations.py,
params.py (tied numbers), validate.py, structure.py, dtypes.py (the float types nngraph computes in).

The core imports nothing else from nngraph but ``nngraph.errors``.
"""
