"""The lesson's import path for layers: ``from nngraph.layers import Dense`` (see ``nngraph.keras.layers``)."""

from nngraph.keras.layers import *  # noqa: F403 - the same layers, under the lesson's name
from nngraph.keras.layers import __all__ as _layers
from nngraph.keras.layers.base import MAX_CONNECTIONS

__all__ = ["MAX_CONNECTIONS", *_layers]
