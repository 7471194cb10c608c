"""The lesson's import path for layers: ``from nngraph.layers import Dense`` (see ``nngraph.keras.layers``)."""

from nngraph.keras.layers import Dense, Input

__all__ = ["Dense", "Input"]
