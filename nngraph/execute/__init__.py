"""Executors, sharing one ``Trace``: the reference pass (the oracle, reference.py), and the compiled
plan (compiled.py: ``compile_network`` and the ``CompiledPlan`` that runs a plan's program), checked
against the oracle on request (verify.py)."""
