"""The lesson's import path for layers: ``from nngraph.layers import Dense`` (see ``nngraph.keras.layers``)."""

from nngraph.keras.layers import (GRU, LSTM, Activation, AveragePooling1D, AveragePooling2D, BatchNormalization,
                                  Conv1D, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling1D,
                                  GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, Input, Layer,
                                  LayerNormalization, MaxPooling1D, MaxPooling2D, Reshape, SimpleRNN)
from nngraph.keras.layers.base import MAX_CONNECTIONS

__all__ = ["MAX_CONNECTIONS", "GRU", "LSTM", "Activation", "AveragePooling1D", "AveragePooling2D",
           "BatchNormalization", "Conv1D", "Conv2D", "Dense", "Dropout", "Flatten", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Input", "Layer",
           "LayerNormalization", "MaxPooling1D", "MaxPooling2D", "Reshape", "SimpleRNN"]
