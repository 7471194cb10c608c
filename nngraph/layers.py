"""The lesson's import path for layers: ``from nngraph.layers import Dense`` (see ``nngraph.keras.layers``)."""

from nngraph.keras.layers.core import MAX_CONNECTIONS, Dense, Input

__all__ = ["MAX_CONNECTIONS", "Dense", "Input"]
