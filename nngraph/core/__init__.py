"""The graph contract: network.py (keys, Neuron, Connection), activations.py, validate.py, structure.py.

The core imports nothing else from nngraph but ``nngraph.errors``.
"""
