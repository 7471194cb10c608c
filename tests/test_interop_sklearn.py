"""scikit-learn's MLPs imported: the network's outputs equal ``predict_proba`` / ``predict`` in float64.

The estimators are real: fitted by scikit-learn on small random data (a few iterations: the point is
real fitted attributes, not accuracy), and again with random weights of larger magnitude written
into their ``coefs_`` and ``intercepts_``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nngraph
from nngraph import InteropError
from nngraph.interop import from_sklearn
from nngraph.interop.sklearn_mlp import proba_columns

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
HIDDEN = {"identity": (5,), "logistic": (5,), "tanh": (6, 4), "relu": (7, 5, 3)}  # several depths
N_FEATURES = 4
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def samples(seed: int, n: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, N_FEATURES))


def assert_equal_outputs(G: object, x: np.ndarray, expected: np.ndarray) -> None:
    """The compiled plan and the reference pass both give ``expected`` (float64, within 1e-10)."""
    expected = expected.reshape(len(x), -1)
    np.testing.assert_allclose(nngraph.compile_network(G)(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nngraph.run_reference(G, x).outputs, expected, rtol=1e-10, atol=1e-12)


def assert_params_counted(G: object, estimator: object) -> None:
    sizes = [array.size for array in estimator.coefs_ + estimator.intercepts_]
    assert nngraph.count_params(G) == sum(sizes)
    assert G.number_of_edges() == sum(kernel.size for kernel in estimator.coefs_)


def randomised(estimator: object, seed: int) -> object:
    """The estimator with random weights, a few times larger than fitted ones."""
    rng = np.random.default_rng(seed)
    estimator.coefs_ = [rng.normal(scale=1.5, size=kernel.shape) for kernel in estimator.coefs_]
    estimator.intercepts_ = [rng.normal(size=bias.shape) for bias in estimator.intercepts_]
    return estimator


def classifier(activation: str, x: np.ndarray, y: np.ndarray) -> MLPClassifier:
    return MLPClassifier(hidden_layer_sizes=HIDDEN[activation], activation=activation, solver="lbfgs",
                         max_iter=30, random_state=0).fit(x, y)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_multiclass_classifier_gives_predict_proba_and_its_classes(activation: str) -> None:
    x = samples(1)
    y = np.array(["cat", "dog", "llama", "lizard"])[np.arange(len(x)) % 4]
    clf = classifier(activation, x, y)
    assert clf.out_activation_ == "softmax"
    G = from_sklearn(clf)
    test = samples(2, 9)
    assert_equal_outputs(G, test, clf.predict_proba(test))
    assert [G.nodes[node]["label"] for node in nngraph.outputs(G)] == ["cat", "dog", "lizard", "llama"]  # classes_
    assert {G.nodes[node]["activation"] for node in G if G.nodes[node]["role"] == "hidden"} <= \
        {nngraph.resolve_activation(activation).name}
    assert_params_counted(G, clf)
    randomised(clf, 3)
    assert_equal_outputs(from_sklearn(clf), test, clf.predict_proba(test))
    predicted = np.array(clf.classes_)[np.argmax(nngraph.compile_network(from_sklearn(clf))(test), axis=1)]
    np.testing.assert_array_equal(predicted, clf.predict(test))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_binary_classifier_has_one_logistic_output_for_the_second_class(activation: str) -> None:
    x = samples(4)
    y = np.where(x[:, 0] + x[:, 1] > 0, 7, -3)
    clf = classifier(activation, x, y)
    assert clf.out_activation_ == "logistic"
    G = from_sklearn(clf)
    (output,) = nngraph.outputs(G)
    assert G.nodes[output]["activation"] == "sigmoid" and G.nodes[output]["label"] == "7"
    test = samples(5, 9)
    outputs = nngraph.compile_network(G)(test)
    assert_equal_outputs(G, test, clf.predict_proba(test)[:, 1])
    np.testing.assert_allclose(proba_columns(outputs), clf.predict_proba(test), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(proba_columns(outputs[0]), clf.predict_proba(test[:1])[0], rtol=1e-10, atol=1e-12)
    assert_params_counted(G, clf)


def test_a_multilabel_classifier_has_one_logistic_output_per_label() -> None:
    x = samples(6)
    y = (x[:, :3] > 0).astype(int)  # three labels, each 0 or 1
    clf = classifier("tanh", x, y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    G = from_sklearn(clf)
    test = samples(7, 9)
    assert_equal_outputs(G, test, clf.predict_proba(test))
    np.testing.assert_array_equal(proba_columns(clf.predict_proba(test)), clf.predict_proba(test))
    assert [G.nodes[node]["label"] for node in nngraph.outputs(G)] == ["0", "1", "2"]
    randomised(clf, 8)
    assert_equal_outputs(from_sklearn(clf), test, clf.predict_proba(test))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_a_regressor_gives_predict(activation: str, n_outputs: int) -> None:
    x = samples(9)
    y = x[:, :n_outputs] * 2.0 - x[:, 1:n_outputs + 1] if n_outputs > 1 else x[:, 0] - 2.0 * x[:, 1]
    reg = MLPRegressor(hidden_layer_sizes=HIDDEN[activation], activation=activation, solver="lbfgs",
                       max_iter=30, random_state=0).fit(x, y)
    G = from_sklearn(reg)
    test = samples(10, 9)
    assert len(nngraph.outputs(G)) == n_outputs
    assert all("label" not in G.nodes[node] for node in nngraph.outputs(G))
    assert_equal_outputs(G, test, reg.predict(test))
    assert_params_counted(G, reg)
    randomised(reg, 11)
    assert_equal_outputs(from_sklearn(reg), test, reg.predict(test))


def test_a_poisson_regressor_ends_in_the_exponential() -> None:
    x = samples(12)
    y = np.random.default_rng(12).poisson(np.exp(0.5 * x[:, 0]), size=len(x)).astype(float)
    reg = MLPRegressor(hidden_layer_sizes=(5,), loss="poisson", solver="lbfgs", max_iter=30, random_state=0)
    reg.fit(x, y)
    assert reg.out_activation_ == "exp"
    G = from_sklearn(reg)
    assert G.nodes[nngraph.outputs(G)[0]]["activation"] == "exponential"
    test = samples(13, 9)
    assert_equal_outputs(G, test, reg.predict(test))
    randomised(reg, 14)
    assert_equal_outputs(from_sklearn(reg), test, reg.predict(test))


def test_an_estimator_without_hidden_layers_is_one_dense_layer() -> None:
    x = samples(24)
    clf = MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", max_iter=30, random_state=0)
    clf.fit(x, np.arange(len(x)) % 3)
    G = from_sklearn(clf)
    assert len(nngraph.layer_records(G)) == 1 and G.number_of_nodes() == N_FEATURES + 3
    test = samples(25, 9)
    assert_equal_outputs(G, test, clf.predict_proba(test))


def test_the_graph_has_the_layers_of_the_estimator() -> None:
    reg = MLPRegressor(hidden_layer_sizes=(6, 3), solver="lbfgs", max_iter=5, random_state=0)
    reg.fit(samples(15), samples(16)[:, :2])
    G = from_sklearn(reg)
    records = nngraph.layer_records(G)
    assert [(record.kind, record.output_shape) for record in records] == [("Dense", (None, 6)), ("Dense", (None, 3)),
                                                                           ("Dense", (None, 2))]
    assert [record.config["activation"] for record in records] == ["relu", "relu", "linear"]


def test_class_labels_reach_the_neuron_diagram_and_model_files(tmp_path: Path) -> None:
    x = samples(17)
    clf = classifier("relu", x, np.array(["cat", "dog", "llama"])[np.arange(len(x)) % 3])
    G = from_sklearn(clf)
    source = nngraph.render_neurons(G).source  # the labels the neurons carry, without output_labels
    assert all(name in source for name in ("cat", "dog", "llama"))
    assert "cat" not in nngraph.render_neurons(G, output_labels=["a", "b", "c"]).source  # passed ones win
    assert "cat" in nngraph.render_html(G)
    nngraph.save(G, tmp_path / "mlp.json")
    loaded = nngraph.load(tmp_path / "mlp.json")
    assert [loaded.nodes[node]["label"] for node in nngraph.outputs(loaded)] == ["cat", "dog", "llama"]


def test_other_estimators_and_unfitted_ones_are_refused_by_name() -> None:
    x, y = samples(18), samples(19)[:, 0]
    with pytest.raises(InteropError, match="LinearRegression is not an MLPClassifier or MLPRegressor") as info:
        from_sklearn(LinearRegression().fit(x, y))
    assert info.value.part == "LinearRegression"
    with pytest.raises(InteropError, match="Pipeline is not an MLPClassifier.*import its final MLP"):
        from_sklearn(make_pipeline(StandardScaler(), MLPRegressor(max_iter=5)).fit(x, y))
    with pytest.raises(InteropError, match="this MLPClassifier is not fitted; call fit"):
        from_sklearn(MLPClassifier())


def test_an_activation_nngraph_does_not_import_is_named() -> None:
    reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0)
    reg.fit(samples(20), samples(21)[:, 0])
    reg.out_activation_ = "softsign"
    with pytest.raises(InteropError, match=r"MLPRegressor.out_activation_ is 'softsign'.*known: identity"):
        from_sklearn(reg)



def test_the_sklearn_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from import_sklearn import main
    finally:
        sys.path.remove(str(EXAMPLES))
    main(str(tmp_path))
    text = capsys.readouterr().out
    assert "Total params: 124" in text and "connections:       108" in text
    assert float(text.split("largest difference from predict_proba on 200 samples: ")[1].split()[0]) < 1e-10
    assert all(f" {animal} " in text for animal in ("cat", "dog", "llama", "lizard"))
    (diagram,) = tmp_path.glob("sklearn_neurons.*")
    assert "llama" in diagram.read_text()
