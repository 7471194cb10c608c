"""scikit-learn's multi-layer perceptrons as nngraph networks (the ``sklearn`` extra).

A fitted ``MLPClassifier`` or ``MLPRegressor`` is a stack of dense layers: ``coefs_[i]`` is layer
``i``'s kernel in Keras' layout ``(inputs, units)`` and ``intercepts_[i]`` its bias, every hidden
layer has the estimator's ``activation`` and the last layer its ``out_activation_``. It is built
with ``nngraph.models.Sequential`` and ``nngraph.layers.Dense``, so the graph keeps its layer records.
scikit-learn computes in float64 (or float32, when fitted on float32 data); nngraph reads the
numbers exactly. scikit-learn is imported only when ``from_sklearn`` is called.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from nngraph.core.network import LABEL, outputs
from nngraph.errors import InteropError
from nngraph.extras import import_extra
from nngraph.keras.layers.core import Dense
from nngraph.keras.sequential import Sequential

# scikit-learn's activation names (``activation`` and ``out_activation_``) -> nngraph's.
ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
               "softmax": "softmax", "exp": "exponential"}


def _estimator_classes() -> tuple[type, type]:
    import_extra("sklearn", extra="sklearn", library="scikit-learn")
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    return MLPClassifier, MLPRegressor


def from_sklearn(estimator: Any) -> nx.DiGraph:
    """A fitted ``MLPClassifier`` or ``MLPRegressor`` as an nngraph network (see the module doc).

    The network's outputs are the estimator's output layer: a regressor's ``predict``, and a
    classifier's ``predict_proba`` (softmax for several classes, one logistic output per label for
    multilabel, and for two classes the one logistic output ``p`` of ``classes_[1]``, whose two
    columns ``[1 - p, p]`` ``predict_proba`` turns it into). A classifier's output neurons carry
    their class as their ``label`` (``str`` of ``classes_[k]``), which diagrams show.

    Raises ``InteropError`` for an estimator of another kind or one not fitted, and
    ``ExtraMissingError`` without scikit-learn (``pip install 'nngraph[sklearn]'``).

    Examples
    --------
    >>> import numpy as np, nngraph
    >>> from sklearn.neural_network import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 4))
    >>> clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2000, random_state=0)
    >>> clf = clf.fit(x, np.array(["cat", "dog", "llama"])[np.arange(30) % 3])
    >>> G = from_sklearn(clf)
    >>> [G.nodes[node]["label"] for node in nngraph.outputs(G)]
    ['cat', 'dog', 'llama']
    >>> bool(np.allclose(nngraph.compile_network(G)(x), clf.predict_proba(x), rtol=1e-10, atol=0))
    True
    """
    classifier, regressor = _estimator_classes()
    kind = type(estimator).__name__
    if not isinstance(estimator, (classifier, regressor)):
        raise InteropError(f"from_sklearn: {kind} is not an MLPClassifier or MLPRegressor, the estimators "
                           "nngraph imports (for a Pipeline, import its final MLP and apply the steps "
                           "before it to the data)", part=kind)
    if not hasattr(estimator, "coefs_"):
        raise InteropError(f"from_sklearn: this {kind} is not fitted; call fit(X, y) first", part=kind)
    hidden = _activation(estimator.activation, "activation", kind)
    output = _activation(estimator.out_activation_, "out_activation_", kind)
    kernels = [np.asarray(kernel, dtype=np.float64) for kernel in estimator.coefs_]
    biases = [np.asarray(bias, dtype=np.float64) for bias in estimator.intercepts_]
    last = len(kernels) - 1
    layers = [Dense(kernel.shape[1], activation=output if i == last else hidden,
                    input_shape=(kernel.shape[0],) if i == 0 else None) for i, kernel in enumerate(kernels)]
    model = Sequential(layers, name=kind)
    for layer, kernel, bias in zip(model.layers, kernels, biases):
        layer.set_weights([kernel, bias])
    if isinstance(estimator, classifier):
        classes = list(estimator.classes_)
        labels = classes[1:] if len(classes) == 2 and kernels[-1].shape[1] == 1 else classes
        for node, label in zip(outputs(model.graph), labels):
            model.graph.nodes[node][LABEL] = str(label)
    return model.graph


def _activation(name: Any, attribute: str, kind: str) -> str:
    """nngraph's name for scikit-learn's activation ``name``, or ``InteropError`` naming it."""
    if name not in ACTIVATIONS:
        raise InteropError(f"from_sklearn: {kind}.{attribute} is {name!r}, which nngraph does not import "
                           f"(known: {', '.join(ACTIVATIONS)})", part=attribute)
    return ACTIVATIONS[name]


def proba_columns(outputs: ArrayLike) -> np.ndarray:
    """``MLPClassifier.predict_proba``'s columns from the outputs of its imported network.

    A classifier of two classes has one logistic output ``p``, the probability of ``classes_[1]``;
    ``predict_proba`` gives the two columns ``[1 - p, p]``, and so does this. Outputs of several
    columns (several classes, several labels) are returned as they are.

    Examples
    --------
    >>> proba_columns([[0.25], [0.9]])
    array([[0.75, 0.25],
           [0.1 , 0.9 ]])
    >>> proba_columns([[0.2, 0.3, 0.5]])
    array([[0.2, 0.3, 0.5]])
    """
    values = np.asarray(outputs)
    if values.ndim == 0 or values.shape[-1] != 1:
        return values
    return np.concatenate([1 - values, values], axis=-1)
