"""The lesson's network trained by scikit-learn, imported into nngraph, checked, traced and drawn.

Usage: python examples/import_sklearn.py [diagram folder, default out/import_sklearn]

An ``MLPClassifier`` with two hidden layers of 6 relu neurons learns which of four animals (cat,
dog, llama, lizard) eight made-up features describe; ``nngraph.from_sklearn`` turns it into the
lesson's network of 8 inputs, 6 + 6 relu neurons and 4 softmax outputs, whose class labels the
neuron diagram shows. The compiled plan gives ``predict_proba`` to within rounding.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import nngraph
from nngraph.keras.summary import describe

ANIMALS = np.array(["cat", "dog", "llama", "lizard"])


def trained_classifier(seed: int = 0) -> tuple[MLPClassifier, np.ndarray]:
    """An MLP fitted on 200 random samples whose animal is their largest of the first four features."""
    x = np.random.default_rng(seed).normal(size=(200, 8))
    clf = MLPClassifier(hidden_layer_sizes=(6, 6), solver="lbfgs", max_iter=300, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few hundred steps are plenty here
        clf.fit(x, ANIMALS[np.argmax(x[:, :4], axis=1)])
    return clf, x


def main(folder: str = "out/import_sklearn") -> None:
    clf, x = trained_classifier()
    G = nngraph.from_sklearn(clf)
    print(describe(G, title="from_sklearn(MLPClassifier)"))

    plan = nngraph.compile_network(G)
    difference = np.abs(plan(x) - clf.predict_proba(x)).max()
    print(f"\nlargest difference from predict_proba on {len(x)} samples: {difference:.1e}")

    labels = [G.nodes[node]["label"] for node in nngraph.outputs(G)]  # clf.classes_, as text
    sample = x[:1]
    trace = plan.trace(sample)
    print(f"\nsample 0 is a {clf.predict(sample)[0]}; its output neurons:")
    for node, label in zip(nngraph.outputs(G), labels):
        print(f"  {node:10} {label:7} weighted sum {trace.weighted_sum(node)[0]:8.3f}   "
              f"probability {trace.value(node)[0]:.3f}")

    suffix = ".svg" if shutil.which("dot") else ".dot"
    path = nngraph.render(G, Path(folder) / f"sklearn_neurons{suffix}", trace=trace)  # labelled by class
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "out/import_sklearn")
