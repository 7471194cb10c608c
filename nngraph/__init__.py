"""nngraph: neural networks as networkx graphs of neurons, compiled to fused numpy, traced and drawn.

The data path::

    declare   a networkx.DiGraph of neurons and weighted connections
              (add_neuron / connect, plain networkx calls, or models.Sequential of layers.Dense);
              optional keys: a neuron's aggregation, numbers tied by name (param, bias_param:
              set_param writes every copy, count_params counts each once), the graph's layers
    import    from_keras, from_torch, from_sklearn, from_onnx, from_neat, from_neat_json: another library's
              network as the same nngraph network (nngraph.interop; each library an extra)
    validate  validate(G): one boundary check; errors name the neuron or connection at fault
    compile   compile_network(G) -> CompiledPlan: levels -> fully connected groups -> fused ops ->
              passes (each checked by check_plan) -> Plan (the IR, data) -> generated code
              (CodegenOptions switch its choices off); print(plan), plan.explain(node), pickle
    execute   plan(x): batched, fused numpy;   run_reference(G, x): node by node, the oracle
    populate  compile_population(networks): many networks (a generation of genomes) in one plan;
              nngraph.interop.neat evaluates neat-python genomes, nngraph.dask runs plans on Dask
    trace     plan.trace(x) or run_reference: every neuron's weighted sum and value, by name
    files     save(G, path) / load(path): versioned JSON, never pickle
    render    render_neurons(G, trace=...), render_layers(G), render_plan(plan) -> graphviz.Digraph;
              render(obj, "diagram.svg"): .svg, .png, .pdf (Graphviz's dot) or .dot;
              render_html(G, trace=...) or render(obj, "net.html"): the interactive view
"""

from nngraph.compiler import CodegenOptions, check_plan
from nngraph.core.activations import Activation, known_activations, resolve_activation
from nngraph.core.aggregations import Aggregation, known_aggregations, resolve_aggregation
from nngraph.errors import (
    ArgumentError,
    CompileError,
    CycleError,
    DataFileError,
    ExtraMissingError,
    GraphvizMissingError,
    InputError,
    InteropError,
    JSONRuleError,
    LayerError,
    ModelFileError,
    NetworkError,
    NeuronNotFoundError,
    NNGraphError,
    PopulationError,
    RenderError,
    UnknownActivationError,
    UnknownAggregationError,
    UsageError,
    VerificationError,
)
from nngraph.execute.compiled import CompiledPlan, compile_network
from nngraph.execute.reference import run_reference
from nngraph.execute.trace import Trace
from nngraph.interop import from_keras, from_neat, from_neat_json, from_onnx, from_sklearn, from_torch, to_onnx
from nngraph.io import load, save
from nngraph.core.network import (
    Connection,
    LayerRecord,
    Neuron,
    add_input,
    add_layer,
    add_neuron,
    computed,
    connect,
    connections,
    inputs,
    layer_records,
    neurons,
    new_network,
    outputs,
    read_neuron,
)
from nngraph.core.params import count_params, set_param
from nngraph.ir.plan import AggregateOp, FusedOp, Plan
from nngraph.population import PopulationPlan, compile_population, population_graph
from nngraph.render import render, render_html, render_layers, render_neurons, render_plan
from nngraph.core.structure import Column, columns, levels
from nngraph.core.validate import validate


from nngraph import layers, models  # the lesson's import paths, as attributes too

__version__ = "0.1.0"

__all__ = [
    "Activation", "ArgumentError", "CodegenOptions", "Column", "CompileError", "CompiledPlan",
    "Connection", "CycleError", "DataFileError", "ExtraMissingError", "FusedOp", "GraphvizMissingError",
    "InputError", "InteropError", "JSONRuleError", "LayerError", "ModelFileError", "NNGraphError", "NetworkError",
    "Neuron", "NeuronNotFoundError", "Plan", "PopulationError", "PopulationPlan", "RenderError",
    "Trace", "UnknownActivationError", "UsageError", "VerificationError", "add_input", "add_neuron",
    "check_plan", "columns", "compile_network", "compile_population", "computed", "connect",
    "connections", "inputs", "known_activations", "levels", "load", "save", "neurons", "new_network",
    "outputs", "population_graph", "read_neuron", "resolve_activation", "run_reference", "validate",
]
__all__ += ["render", "render_html", "render_layers", "render_neurons", "render_plan"]
__all__ += ["Aggregation", "AggregateOp", "LayerRecord", "UnknownAggregationError", "add_layer", "count_params",
            "known_aggregations", "layer_records", "resolve_aggregation", "set_param"]
__all__ += ["from_keras", "from_neat", "from_neat_json", "from_onnx", "from_sklearn", "from_torch", "to_onnx"]
