"""Front ends for other libraries' networks; each imports its library only when called.

    neat.py          neat-python genomes: a whole generation compiled into one plan, or one genome
                     as a network (``from_neat``; the ``neat`` extra)
    sklearn_mlp.py   scikit-learn's fitted MLPClassifier and MLPRegressor (``from_sklearn``; the
                     ``sklearn`` extra)
"""

from nngraph.interop.neat import from_neat
from nngraph.interop.sklearn_mlp import from_sklearn

__all__ = ["from_neat", "from_sklearn"]
