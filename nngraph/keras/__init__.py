"""The Keras-style front end: ``Sequential`` of layers writes neurons and connections into a graph.

sequential.py (the model), layers/ (one file per layer family), initializers.py, summary.py.
It is a convenience: every graph it writes could be built neuron by neuron. Its models also run
themselves (``predict``, ``trace``), so it comes after the executors in the import order.
"""
