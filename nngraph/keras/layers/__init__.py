"""Keras-style layers, one file per layer family: ``core`` (Input, Dense, Activation, Flatten,
Reshape, Dropout), ``conv`` (Conv1D, Conv2D), ``pooling`` (max, average and global poolings),
``normalization`` (BatchNormalization, LayerNormalization) and ``recurrent`` (SimpleRNN, LSTM, GRU);
``base`` holds what they share."""

from nngraph.keras.layers.base import Layer
from nngraph.keras.layers.conv import Conv1D, Conv2D
from nngraph.keras.layers.core import Activation, Dense, Dropout, Flatten, Input, Reshape
from nngraph.keras.layers.normalization import BatchNormalization, LayerNormalization
from nngraph.keras.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                          GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                                          MaxPooling1D, MaxPooling2D)
from nngraph.keras.layers.recurrent import GRU, LSTM, SimpleRNN

LAYER_KINDS = {layer.kind: layer for layer in (
    Dense, Activation, Flatten, Reshape, Dropout, Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D,
    AveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    BatchNormalization, LayerNormalization, SimpleRNN, LSTM, GRU)}  # Keras' class name -> class, for records

__all__ = ["Activation", "AveragePooling1D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv2D",
           "Dense", "Dropout", "Flatten", "GRU", "LSTM", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Input", "Layer", "LayerNormalization",
           "MaxPooling1D", "MaxPooling2D", "Reshape", "SimpleRNN"]
