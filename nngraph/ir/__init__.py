"""The IR, plain immutable data: plan.py (the fused ops, their kinds and formulas, the column layout)
and text.py (its table and explanations). It imports nothing from the compiler or the executors."""
