"""neat-python genomes: a whole generation equals ``FeedForwardNetwork.activate``, genome by genome.

The genomes are real: a ``neat.Population`` of a real config, evolved over several generations, whose
mutations use every activation and aggregation of neat-python and change responses, enable and
disable connections, add and delete nodes.
"""

from __future__ import annotations

import copy

import math
import sys
from dataclasses import replace
from pathlib import Path

import neat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nngraph
from nngraph import ExtraMissingError, PopulationError
from nngraph.core.neat_activations import NEAT_ACTIVATIONS, REGISTERED
from nngraph.interop import neat as neat_interop
from nngraph.interop.neat import compile_genomes, evaluate_genomes, from_neat, gene_arrays, make_eval_genomes
from nngraph.interop.neat_json import ConnectionGene, Genes, NodeGene

HERE = Path(__file__).resolve().parent
EVERYTHING = HERE / "data" / "neat_everything.cfg"
XOR = HERE.parent / "examples" / "neat_xor.cfg"


def config_of(path: Path) -> neat.Config:
    return neat.Config(neat.DefaultGenome, neat.DefaultReproduction, neat.DefaultSpeciesSet,
                       neat.DefaultStagnation, str(path))


def neat_outputs(genome: object, config: neat.Config, x: np.ndarray) -> np.ndarray:
    network = neat.nn.FeedForwardNetwork.create(genome, config)
    return np.array([network.activate(sample) for sample in x.tolist()])


def assert_close(got: np.ndarray, expected: np.ndarray, rtol: float = 1e-12) -> None:
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max()) if finite.size else 1.0)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generations_of_real_genomes_equal_neat_python(seed: int) -> None:
    config = config_of(EVERYTHING)
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, size=(7, 3))
    seen = {"genomes": 0, "hidden": 0, "aggregations": set(), "activations": set()}

    def eval_genomes(genomes: list, config: neat.Config) -> None:
        outputs = evaluate_genomes(genomes, config, x)
        assert list(outputs) == [key for key, _ in genomes]
        for key, genome in genomes:
            expected = neat_outputs(genome, config, x)
            assert_close(outputs[key], expected)
            assert_close(nngraph.run_reference(from_neat(genome, config), x).outputs, expected)
            genome.fitness = -float(np.nansum((outputs[key] - 0.5) ** 2))
            seen["genomes"] += 1
            seen["hidden"] += len(genome.nodes) - 2
            seen["aggregations"] |= {node.aggregation for node in genome.nodes.values()}
            seen["activations"] |= {node.activation for node in genome.nodes.values()}

    population = neat.Population(config, seed=seed)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # exp, cube and inv overflow
        population.run(eval_genomes, 6)
    assert seen["genomes"] == 6 * 30 and seen["hidden"] > 0
    assert len(seen["aggregations"]) == 7 and len(seen["activations"]) >= 12


def test_summing_genomes_of_every_activation_run_in_the_native_kernel_as_in_neat_python(tmp_path: Path) -> None:
    # Sums only (a generation with other aggregations has no native form): every neat-python
    # activation, and the generation's plan runs in the kernel (at 1 and at 50 samples). Float64:
    # these genomes' cubes and inverses make float32 differ from neat-python by more than 1e-5
    # (tests/test_native.py checks the kernel in float32 against the float32 reference).
    text = EVERYTHING.read_text().replace("aggregation_mutate_rate = 0.5", "aggregation_mutate_rate = 0.0")
    path = tmp_path / "sums.cfg"
    path.write_text(text.replace("aggregation_options     = sum product max min maxabs median mean",
                                 "aggregation_options     = sum"))
    config = config_of(path)
    rng = np.random.default_rng(7)
    seen: set[str] = set()

    def eval_genomes(genomes: list, config: neat.Config) -> None:
        pop = compile_genomes(genomes, config)
        assert pop.plan.program.native_batch_limit >= 50
        for x in (rng.uniform(-2.0, 2.0, size=(1, 3)), rng.uniform(-2.0, 2.0, size=(50, 3))):
            outputs = pop(x)
            for index, (_, genome) in enumerate(genomes):
                assert_close(outputs[:, index], neat_outputs(genome, config, x))
        for index, (_, genome) in enumerate(genomes):
            genome.fitness = -float(np.nansum((outputs[:, index] - 0.5) ** 2))
            seen.update(node.activation for node in genome.nodes.values())

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # exp, cube and inv overflow
        neat.Population(config, seed=8).run(eval_genomes, 4)
    assert len(seen) >= 12


def test_a_population_trace_reaches_a_genomes_node() -> None:
    config = config_of(EVERYTHING)
    genomes = list(neat.Population(config, seed=4).population.items())
    x = np.random.default_rng(0).uniform(size=(3, 3))
    pop = compile_genomes(genomes, config)
    key, genome = genomes[5]
    G = from_neat(genome, config)
    reference = nngraph.run_reference(G, x)
    trace = pop.trace(x)
    for node in G:
        assert_close(trace.value(node if node in nngraph.inputs(G) else (key, node)), reference.value(node))
    assert pop(x).shape == (3, 30, 2)


def test_float32_genomes_agree_within_float32_tolerance() -> None:
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=5).population.items())
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    outputs = evaluate_genomes(genomes, config, x, dtype=np.float32)
    for key, genome in genomes:
        assert outputs[key].dtype == np.float32
        assert_close(outputs[key], neat_outputs(genome, config, x), rtol=1e-5)


def test_one_sample_gives_each_genome_its_outputs() -> None:
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=5).population.items())
    outputs = evaluate_genomes(genomes, config, [1.0, 0.0])
    key, genome = genomes[0]
    assert outputs[key].shape == (1,)
    assert_close(outputs[key], neat_outputs(genome, config, np.array([[1.0, 0.0]]))[0])


def test_make_eval_genomes_sets_every_fitness() -> None:
    config = config_of(XOR)
    population = neat.Population(config, seed=6)
    x, y = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [[0.0], [1.0], [1.0], [0.0]]
    eval_genomes = make_eval_genomes(x, y, lambda out, target: 4.0 - float(np.sum((out - target) ** 2)))
    genomes = list(population.population.items())
    eval_genomes(genomes, config)
    for _, genome in genomes:
        expected = neat_outputs(genome, config, np.array(x))
        assert math.isclose(genome.fitness, 4.0 - float(np.sum((expected - np.array(y)) ** 2)), rel_tol=1e-12)


def test_the_xor_example_reaches_the_fitness_threshold() -> None:
    sys.path.insert(0, str(HERE.parent / "examples"))
    try:
        from neat_xor import evolve
    finally:
        sys.path.pop(0)
    winner, generations, config = evolve()
    assert winner.fitness >= config.fitness_threshold and generations < 300


def test_every_neat_activation_maps_to_a_registered_function_equal_to_neat_pythons() -> None:
    z = np.concatenate([np.linspace(-15.0, 15.0, 601), [0.0, 1e-9, -1e-9, 70.0, -70.0]])
    for name, nngraph_name in NEAT_ACTIVATIONS.items():
        expected = np.array([getattr(neat.activations, f"{name}_activation")(value) for value in z.tolist()])
        with np.errstate(over="ignore", divide="ignore"):
            got = nngraph.resolve_activation(nngraph_name)(z)
        assert_close(got, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_neat_activations_compute_in_a_new_array_and_leave_their_argument_alone(dtype: type) -> None:
    # They compute in place in an array of their own: the weighted sums they read (a view of the
    # plan's buffer, which a trace returns) must not change, and a scalar still works.
    weighted_sums = np.linspace(-15.0, 15.0, 24, dtype=dtype).reshape(4, 6)
    view = weighted_sums[1:3, ::2]
    for function in REGISTERED.values():  # the functions of nngraph's own for neat-python's formulas
        before = weighted_sums.copy()
        with np.errstate(over="ignore", divide="ignore"):
            got = function(view)
            one = function(dtype(0.75))
        np.testing.assert_array_equal(weighted_sums, before)
        assert got.dtype == dtype and got.shape == view.shape and not np.shares_memory(got, weighted_sums)
        np.testing.assert_array_equal(np.asarray(one), function(np.array([0.75], dtype=dtype))[0])
    nan = nngraph.resolve_activation("neat_sigmoid")(np.array([np.nan, 70.0, -70.0]))
    assert np.isnan(nan[0]) and nan[1] == 1.0 and nan[2] == 1.0 / (1.0 + math.exp(60.0))  # 5 z clamped


def test_an_activation_that_is_not_neat_pythons_own_is_refused() -> None:
    config = config_of(XOR)
    config.genome_config.add_activation("twice", lambda z: 2 * z)
    genomes = list(neat.Population(config, seed=1).population.items())
    key, genome = genomes[3]
    node = genome.nodes[0]
    node.activation = "twice"
    expected = f"genome {key}, node 0: activation 'twice' is not one"
    with pytest.raises(nngraph.UnknownActivationError, match=expected):
        evaluate_genomes(genomes, config, [0.0, 1.0])
    config.genome_config.add_activation("sigmoid", lambda z: z)  # redefined: no longer neat's
    node.activation = "sigmoid"
    with pytest.raises(nngraph.UnknownActivationError, match="'sigmoid' is redefined in this config"):
        evaluate_genomes(genomes, config, [0.0, 1.0])


def test_an_aggregation_that_is_not_neat_pythons_own_is_refused() -> None:
    config = config_of(XOR)
    config.genome_config.add_aggregation("second", lambda terms: terms[1])
    genomes = list(neat.Population(config, seed=1).population.items())
    genomes[2][1].nodes[0].aggregation = "second"
    with pytest.raises(nngraph.NetworkError, match=f"genome {genomes[2][0]}, node 0: aggregation 'second'"):
        evaluate_genomes(genomes, config, [0.0, 1.0])


def test_a_genome_whose_connections_form_a_cycle_is_named() -> None:
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=1).population.items())
    key, genome = genomes[4]
    genome.nodes[7] = genome.create_node(config.genome_config, 7)
    genome.add_connection(config.genome_config, 0, 7, 1.0, True, innovation=10_001)
    genome.add_connection(config.genome_config, 7, 0, 1.0, True, innovation=10_002)
    expected = f"genome {key}: its enabled connections form a cycle: 0 -> 7 -> 0"
    with pytest.raises(nngraph.CycleError, match=expected) as info:
        evaluate_genomes(genomes, config, [0.0, 1.0])
    assert info.value.cycle in ([(0, 7), (7, 0)], [(7, 0), (0, 7)])


def test_a_connection_to_a_node_without_a_gene_is_named() -> None:
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=1).population.items())
    key, genome = genomes[0]
    genome.add_connection(config.genome_config, 99, 0, 1.0, True, innovation=10_003)
    with pytest.raises(nngraph.NetworkError, match=f"genome {key}: a connection or output names node 99"):
        evaluate_genomes(genomes, config, [0.0, 1.0])


@pytest.mark.parametrize("with_table", [True, False])
def test_a_connection_into_an_input_is_named(with_table: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.interop import neat as reading

    if not with_table:  # the same error through the dict of keys
        monkeypatch.setattr(reading, "_numbered_by_table", lambda *args: None)
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=1).population.items())
    key, genome = genomes[3]
    gene = copy.deepcopy(next(iter(genome.connections.values())))  # neat-python's add_connection refuses it
    gene.key, gene.enabled = (0, -2), True
    genome.connections[(0, -2)] = gene
    with pytest.raises(nngraph.NetworkError, match=rf"genome {key}: connection \(0, -2\) ends at input -2") as info:
        evaluate_genomes(genomes, config, [0.0, 1.0])
    assert info.value.edge == ((key, 0), (key, -2))
    genome.connections[(0, -2)].enabled = False
    assert len(evaluate_genomes(genomes, config, [0.0, 1.0])) == len(genomes)


@pytest.mark.parametrize("field", ["weight", "bias", "response"])
def test_a_gene_number_that_is_not_a_real_number_is_named(field: str) -> None:
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=1).population.items())
    key, genome = genomes[2]
    if field == "weight":
        gene = next(iter(genome.connections.values()))
        gene.enabled, gene.weight = True, "heavy"
        expected = rf"genome {key}: the weight of connection \({gene.key[0]}, {gene.key[1]}\) is 'heavy'"
    else:
        setattr(genome.nodes[0], field, None)
        expected = f"genome {key}, node 0: its {field} is None, which is not a real number"
    with pytest.raises(nngraph.NetworkError, match=expected):
        evaluate_genomes(genomes, config, [0.0, 1.0])


def test_no_genomes_and_one_id_twice_are_refused() -> None:
    config = config_of(XOR)
    genomes = list(neat.Population(config, seed=1).population.items())
    with pytest.raises(PopulationError, match="no members"):
        evaluate_genomes([], config, [0.0, 1.0])
    with pytest.raises(PopulationError, match=f"key {genomes[0][0]} names two members"):
        evaluate_genomes(genomes + genomes[:1], config, [0.0, 1.0])


def test_without_neat_python_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_of(XOR)
    monkeypatch.setitem(sys.modules, "neat", None)  # import neat now raises ImportError
    with pytest.raises(ExtraMissingError, match=r"pip install 'nngraph\[neat\]'") as info:
        evaluate_genomes([], config, [0.0, 1.0])
    assert info.value.extra == "neat" and isinstance(info.value, ImportError)


# Genes read with no neat-python, for the two ways of numbering the connection ends: int keys by the
# compiled table (``_ends_by_table``), any keys by a dict per genome (``_ends_by_dict``).
@st.composite
def gene_pairs(draw: st.DrawFn) -> tuple[list, list[int], list[int]]:
    """Genomes of int keys from a small range, so that a node may share an input's key, a connection
    or output may name no node, and a connection may be disabled (cycles too: both ways refuse them).
    As in neat-python, no connection ends at an input."""
    n_inputs, n_outputs = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    input_keys, output_keys = list(range(-1, -n_inputs - 1, -1)), list(range(n_outputs))
    pairs = []
    for member in range(draw(st.integers(1, 4))):
        keys = draw(st.lists(st.integers(-n_inputs - 1, 8), max_size=6, unique=True))
        if draw(st.integers(0, 9)):  # mostly every output
            keys = list(dict.fromkeys(output_keys + keys))
        nodes = {key: NodeGene(key=key, bias=draw(st.floats(-2, 2)), response=draw(st.floats(-2, 2)),
                               activation=draw(st.sampled_from(["sigmoid", "tanh", "relu"])),
                               aggregation=draw(st.sampled_from(["sum", "max", "product"]))) for key in keys}
        stray = [draw(st.integers(-9, 12))] if not draw(st.integers(0, 9)) else []  # maybe no node's key
        targets = [key for key in keys + stray if key not in input_keys] or output_keys
        connections = {}
        for source, target in draw(st.lists(st.tuples(st.sampled_from(input_keys + keys + stray),
                                                      st.sampled_from(targets)), max_size=12)):
            connections[source, target] = ConnectionGene(key=(source, target), weight=draw(st.floats(-2, 2)),
                                                         enabled=draw(st.booleans()))
        pairs.append((f"g{member}", Genes(nodes=nodes, connections=connections, input_keys=tuple(input_keys),
                                          output_keys=tuple(output_keys))))
    return pairs, input_keys, output_keys


def read_genes(pairs: list, input_keys: list, output_keys: list) -> tuple | Exception:
    """``gene_arrays``' arrays (names and all) and levels, or the exception it raised."""
    try:
        network, keys, level = gene_arrays(pairs, input_keys=input_keys, output_keys=output_keys,
                                           problem=lambda kind, name: None)
    except nngraph.NNGraphError as error:
        return error
    fields = {name: getattr(network, name) for name in network.__dataclass_fields__}
    fields["nodes"] = network.nodes.tolist()
    return {name: value.tolist() if isinstance(value, np.ndarray) else value for name, value in fields.items()}, \
        keys, level.tolist()


def same_reading(a: tuple | Exception, b: tuple | Exception) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    return a == b


@settings(max_examples=150, deadline=None)
@given(gene_pairs())
def test_int_keys_numbered_by_the_table_read_as_by_the_dict(case: tuple) -> None:
    pairs, input_keys, output_keys = case
    by_table = read_genes(pairs, input_keys, output_keys)  # the table where it can, else the dict
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(neat_interop, "_numbered_by_table", lambda *args: None)
        assert same_reading(read_genes(pairs, input_keys, output_keys), by_table)
    # The same genes of str keys go by the dict: the same arrays, the names apart.
    named = [(key, Genes(nodes={str(k): replace(gene, key=str(k)) for k, gene in genes.nodes.items()},
                         connections={(str(u), str(v)): replace(gene, key=(str(u), str(v)))
                                      for (u, v), gene in genes.connections.items()},
                         input_keys=genes.input_keys, output_keys=genes.output_keys)) for key, genes in pairs]
    by_name = read_genes(named, list(map(str, input_keys)), list(map(str, output_keys)))
    if isinstance(by_table, Exception):
        assert type(by_name) is type(by_table)
    else:
        assert by_name[0]["nodes"] == [str(node) if i < len(input_keys) else (node[0], str(node[1]))
                                       for i, node in enumerate(by_table[0]["nodes"])]
        assert {**by_name[0], "nodes": None} == {**by_table[0], "nodes": None} and by_name[1:] == by_table[1:]


def test_the_table_numbers_real_genomes_and_gives_way_to_the_dict_without_numba_or_far_apart_keys(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from nngraph.compiler import walks

    config = config_of(EVERYTHING)
    pairs = list(neat.Population(config, seed=1).population.items())
    input_keys, output_keys = list(config.genome_config.input_keys), list(config.genome_config.output_keys)
    table = neat_interop._numbered_by_table
    taken: list[bool] = []
    monkeypatch.setattr(neat_interop, "_numbered_by_table", lambda *args: taken.append(table(*args) is not None)
                        or table(*args))
    expected = read_genes(pairs, input_keys, output_keys)
    assert taken == [True] and not isinstance(expected, Exception)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(neat_interop, "TABLE_LIMIT", 1)
        assert same_reading(read_genes(pairs, input_keys, output_keys), expected) and taken[-1] is False
    monkeypatch.setattr(walks, "NATIVE_AVAILABLE", False)
    assert same_reading(read_genes(pairs, input_keys, output_keys), expected) and taken[-1] is False
