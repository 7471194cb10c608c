"""Front ends for other libraries' networks; each imports its library only when called.

    neat.py          neat-python genomes: a whole generation compiled into one plan (the ``neat`` extra)
    keras_models.py  Keras 3 models and ``.keras`` files (the ``keras`` extra); keras_layers.py maps
                     each Keras layer's configuration onto nngraph's layer of the same name
"""

from nngraph.interop.keras_models import from_keras

__all__ = ["from_keras"]
