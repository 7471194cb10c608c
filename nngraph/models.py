"""The lesson's import path for models: ``from nngraph.models import Sequential`` (see ``nngraph.keras``)."""

from nngraph.keras.sequential import Sequential

__all__ = ["Sequential"]
