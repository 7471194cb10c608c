"""neat-python genomes imported one by one: ``from_neat`` keeps what neat-python computes, and
neat-python's JSON export, read without neat-python, gives the same graph.

The genomes are real: a ``neat.Population`` of a config whose mutations use every activation and
aggregation, change responses, disable connections and add nodes, evolved a few generations.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import neat
import networkx as nx
import numpy as np
import pytest
from neat.export import export_network_json

import nngraph
from nngraph import CycleError, InteropError, ModelFileError
from nngraph.core.neat_activations import NEAT_ACTIVATIONS
from nngraph.interop import from_neat, from_neat_json
from test_neat import EVERYTHING, HERE, XOR, config_of  # the configs of the population tests


def evolved_genomes(seed: int, generations: int) -> tuple[list, neat.Config]:
    """Every genome of ``generations`` generations of the everything config (fitness: outputs near 0.5)."""
    config = config_of(EVERYTHING)
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, size=(5, 3))
    seen: list = []

    def eval_genomes(genomes: list, config: neat.Config) -> None:
        for _, genome in genomes:
            network = neat.nn.FeedForwardNetwork.create(genome, config)
            outputs = np.array([network.activate(sample) for sample in x.tolist()])
            genome.fitness = -float(np.nansum((outputs - 0.5) ** 2))
            seen.append(genome)

    with np.errstate(over="ignore", invalid="ignore"):
        neat.Population(config, seed=seed).run(eval_genomes, generations)
    return seen, config


def exported(genome: object, config: neat.Config) -> dict:
    return json.loads(export_network_json(neat.nn.FeedForwardNetwork.create(genome, config)))


def assert_same_graph(got: nx.DiGraph, expected: nx.DiGraph) -> None:
    """Equal neurons, connections and attributes, inputs and outputs in order, each neuron's terms in order."""
    assert (nngraph.inputs(got), nngraph.outputs(got)) == (nngraph.inputs(expected), nngraph.outputs(expected))
    assert dict(got.nodes(data=True)) == dict(expected.nodes(data=True))
    assert {(u, v): data for u, v, data in got.edges(data=True)} == \
        {(u, v): data for u, v, data in expected.edges(data=True)}
    assert all(list(got.predecessors(node)) == list(expected.predecessors(node)) for node in expected)


def assert_outputs_of_neat(G: nx.DiGraph, genome: object, config: neat.Config, x: np.ndarray) -> None:
    network = neat.nn.FeedForwardNetwork.create(genome, config)
    expected = np.array([network.activate(sample) for sample in x.tolist()])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # exp, cube and inv overflow
        got = nngraph.compile_network(G)(x)
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max()) if finite.size else 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * scale)


@pytest.fixture(scope="module")
def genomes() -> tuple[list, neat.Config]:
    return evolved_genomes(seed=7, generations=4)


def test_from_neat_keeps_neat_pythons_nodes_connections_and_ids(genomes: tuple[list, neat.Config]) -> None:
    population, config = genomes
    keys = config.genome_config
    responses, disabled, pruned = set(), 0, 0
    for genome in population:
        G = from_neat(genome, config)
        network = neat.nn.FeedForwardNetwork.create(genome, config)
        assert nngraph.inputs(G) == keys.input_keys and nngraph.outputs(G) == keys.output_keys
        assert set(G) == set(keys.input_keys) | {node for node, *_ in network.node_evals}
        assert set(G.edges) == {(source, node) for node, *_, links in network.node_evals for source, _ in links}
        for node, _, _, bias, response, _ in network.node_evals:
            gene = genome.nodes[node]
            assert G.nodes[node]["activation"] == NEAT_ACTIVATIONS[gene.activation]
            assert G.nodes[node].get("aggregation", "sum") == gene.aggregation or response < 0
            responses.add(response)
        disabled += sum(not gene.enabled for gene in genome.connections.values())
        pruned += len(genome.nodes) - (G.number_of_nodes() - len(keys.input_keys))
    assert len(responses) > 10 and disabled > 0 and pruned > 0  # the genomes exercise all three


def test_json_exports_read_back_as_the_genomes_graphs(genomes: tuple[list, neat.Config]) -> None:
    population, config = genomes
    x = np.random.default_rng(8).uniform(-2.0, 2.0, size=(6, 3))
    for genome in population:
        G = from_neat_json(exported(genome, config))
        assert_same_graph(G, from_neat(genome, config))
        assert_outputs_of_neat(G, genome, config, x)


def test_a_json_file_reads_without_neat_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_of(XOR)
    genome = list(neat.Population(config, seed=3).population.values())[2]
    path = tmp_path / "network.json"
    export_network_json(neat.nn.FeedForwardNetwork.create(genome, config), filepath=str(path),
                        metadata={"fitness": 1.5, "genome_id": 3})
    expected = from_neat(genome, config)
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert_outputs_of_neat(from_neat_json(path), genome, config, x)
    monkeypatch.setitem(sys.modules, "neat", None)  # import neat now raises ImportError
    for name in [name for name in sys.modules if name.startswith("neat.")]:
        monkeypatch.setitem(sys.modules, name, None)
    assert_same_graph(from_neat_json(path), expected)
    assert_same_graph(from_neat_json(str(path)), expected)


def document(**changes: object) -> dict:
    """A small valid export: inputs -1, -2; hidden 1 (tanh, product); output 0 (sigmoid)."""
    function = {"custom": False}
    base = {
        "format_version": "1.0", "network_type": "feedforward", "metadata": {"fitness": 1.0},
        "topology": {"num_inputs": 2, "num_outputs": 1, "input_keys": [-1, -2], "output_keys": [0]},
        "nodes": [
            {"id": 1, "type": "hidden", "activation": {"name": "tanh", **function},
             "aggregation": {"name": "product", **function}, "bias": 0.5, "response": 2.0},
            {"id": 0, "type": "output", "activation": {"name": "sigmoid", **function},
             "aggregation": {"name": "sum", **function}, "bias": -0.25, "response": 1.0},
            {"id": -1, "type": "input", "activation": {"name": "identity", **function},
             "aggregation": {"name": "none", **function}, "bias": 0.0, "response": 1.0},
        ],
        "connections": [{"from": -1, "to": 1, "weight": 0.5, "enabled": True},
                        {"from": -2, "to": 1, "weight": -1.5, "enabled": True},
                        {"from": 1, "to": 0, "weight": 2.0, "enabled": True},
                        {"from": -2, "to": 0, "weight": 3.0, "enabled": False}],
    }
    base.update(changes)
    return base


def test_a_small_document_computes_what_neat_python_would() -> None:
    G = from_neat_json(document())
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    hidden = np.tanh(2.5 * (0.5 + 2.0 * (0.5 * x[:, 0]) * (-1.5 * x[:, 1])))
    expected = 1 / (1 + np.exp(-5 * (-0.25 + 2.0 * hidden)))
    np.testing.assert_allclose(nngraph.compile_network(G)(x)[:, 0], expected, rtol=1e-12)
    assert list(G.edges) == [(-1, 1), (-2, 1), (1, 0)]  # the disabled connection is not there


def node_changed(index: int, **fields: object) -> list:
    nodes = [dict(node) for node in document()["nodes"]]
    nodes[index].update(fields)
    return nodes


def connections_plus(**connection: object) -> list:
    return document()["connections"] + [{"from": 1, "to": 0, "weight": 1.0, "enabled": True, **connection}]


@pytest.mark.parametrize("changes, message", [
    ({"format_version": "2.0"}, "format_version '2.0' is not one nngraph reads"),
    ({"network_type": "cnn"}, "network_type 'cnn' is not one of neat-python's"),
    ({"nodes": {"id": 0}}, "nodes must be a list"),
    ({"metadata": None}, "metadata must be an object"),
    ({"topology": {"num_inputs": 2, "num_outputs": 1, "input_keys": [-1, -1], "output_keys": [0]}},
     "topology.input_keys must list num_inputs"),
    ({"topology": {"num_inputs": 2, "num_outputs": 1, "input_keys": [-1, -2], "output_keys": [True]}},
     r"topology.output_keys\[0\] must be a whole number, got True"),
    ({"nodes": node_changed(0, bias="0.5")}, "node 1: bias must be a finite number, got '0.5'"),
    ({"nodes": node_changed(1, response=None)}, "node 0: response must be a finite number, got None"),
    ({"nodes": node_changed(0, id=1.0)}, r"nodes\[0\].id must be a whole number, got 1.0"),
    ({"nodes": node_changed(0, type="bias")}, "node 1: type must be one of input, hidden, output"),
    ({"nodes": node_changed(0, type="output")}, "node 1: type 'output', but topology.output_keys"),
    ({"nodes": node_changed(0, id=0, type="output")}, "node 0 is listed twice"),
    ({"nodes": node_changed(0, activation={"name": 3, "custom": False})}, "node 1: activation name must be"),
    ({"nodes": node_changed(0, aggregation={"name": "sum", "custom": 0})}, "aggregation custom must be true or false"),
    ({"nodes": node_changed(0, colour="red")}, r"nodes\[0\] has the key 'colour', which the format does not"),
    ({"nodes": document()["nodes"][:1]}, "output node 0 of topology.output_keys is not in nodes"),
    ({"connections": connections_plus()}, "connection 1 -> 0 is listed twice"),
    ({"connections": connections_plus(**{"to": -1})}, "connection 1 -> -1: node -1 is an input"),
    ({"connections": connections_plus(**{"from": 9})}, "connection 9 -> 0: node 9 is not in nodes"),
    ({"connections": connections_plus(**{"to": 9})}, "connection 1 -> 9: node 9 is not in nodes"),
    ({"connections": connections_plus(**{"from": -1, "weight": [1]})}, "connection -1 -> 0: weight must be"),
    ({"connections": connections_plus(**{"from": -1, "enabled": "yes"})}, "enabled must be true or false"),
    ({"connections": [{"from": -1, "to": 0, "weight": 1.0}]}, r"connections\[0\] has no 'enabled'"),
])
def test_a_malformed_document_is_refused_naming_the_part(changes: dict, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        from_neat_json(document(**changes))


def test_what_nngraph_does_not_compute_is_refused_by_name() -> None:
    with pytest.raises(InteropError, match="network_type 'recurrent': nngraph imports neat-python's feed-forward"):
        from_neat_json(document(network_type="recurrent"))
    custom = node_changed(0, activation={"name": "twice", "custom": True})
    expected = r"node 1: activation 'twice' is custom .*neat-python's own: sigmoid"
    with pytest.raises(InteropError, match=expected) as info:
        from_neat_json(document(nodes=custom))
    assert info.value.part == 1
    with pytest.raises(InteropError, match="node 0: aggregation 'first' is not one of neat-python's"):
        from_neat_json(document(nodes=node_changed(1, aggregation={"name": "first", "custom": False})))
    cyclic = document()["connections"] + [{"from": 0, "to": 1, "weight": 1.0, "enabled": True}]
    with pytest.raises(CycleError, match="its enabled connections form a cycle: (1 -> 0 -> 1|0 -> 1 -> 0)"):
        from_neat_json(document(connections=cyclic))
    cyclic[-1]["enabled"] = False
    from_neat_json(document(connections=cyclic))  # a disabled connection closes no cycle


def test_a_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "network.json"
    path.write_text('{"format_version": "1.0", "format_version": "1.0"}')
    with pytest.raises(ModelFileError, match=f"{path}: an object repeats the key 'format_version'"):
        from_neat_json(path)
    path.write_text(json.dumps(document(network_type="iznn")))
    with pytest.raises(InteropError, match=f"{path}: network_type 'iznn'"):
        from_neat_json(path)
    with pytest.raises(nngraph.ArgumentError, match="from_neat_json takes a path or a parsed JSON document"):
        from_neat_json(42)  # type: ignore[arg-type]


def test_the_importers_are_reachable_from_nngraph() -> None:
    assert nngraph.from_neat is from_neat and nngraph.from_neat_json is from_neat_json
    assert nngraph.interop.from_neat is from_neat and nngraph.interop.from_neat_json is from_neat_json


def test_the_neat_import_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples = str(HERE.parent / "examples")
    sys.path.insert(0, examples)
    try:
        from import_neat import main
    finally:
        sys.path.remove(examples)
    main(str(tmp_path))
    text = capsys.readouterr().out
    assert "the graph of from_neat(winner, config): True" in text
    assert float(text.split("largest difference from neat-python's activate: ")[1].split()[0]) < 1e-12
    assert json.loads((tmp_path / "xor_winner.json").read_text())["network_type"] == "feedforward"
    (diagram,) = tmp_path.glob("xor_neurons.*")
    assert "xor" in diagram.read_text()
