"""Keras-style layers, one file per layer family: ``core`` (Input, Dense)."""

from nngraph.keras.layers.core import Dense, Input

__all__ = ["Dense", "Input"]
