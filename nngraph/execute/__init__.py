"""Executors: the reference pass (the oracle) and the compiled plan's runner, sharing one ``Trace``."""
