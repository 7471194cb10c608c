"""The plan: plan.py (the fused ops and their column layout) and text.py (its table and explanations)."""
