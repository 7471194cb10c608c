"""What each ``nngraph`` sub-command does, given its parsed arguments.

Each command reads and writes through a ``Console`` (standard streams plus
progress), raises ``UsageError`` for an argument that does not fit the model
or data (exit status 2) and any other ``NNGraphError`` for bad files (exit status 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import networkx as nx
import numpy as np

from nngraph.core.activations import resolve_activation
from nngraph.cli.datafiles import STDIN, listing, output_kind, read_inputs, to_json, write_outputs, writing
from nngraph.cli.execution import compile_model, forward, load_model, name_of, trace_sample
from nngraph.cli.progress import Progress
from nngraph.demo import run_demo
from nngraph.errors import ArgumentError, LayerError, RenderError, UnknownActivationError, UsageError
from nngraph.execute.trace import Trace
from nngraph.interop.keras_models import from_keras
from nngraph.interop.neat_json import from_neat_json
from nngraph.interop.onnx_export import DEFAULT_OPSET, to_onnx
from nngraph.interop.onnx_import import from_onnx
from nngraph.io import save
from nngraph.keras.layers.core import MAX_CONNECTIONS, Dense, check_size
from nngraph.keras.sequential import Sequential
from nngraph.core.network import inputs, outputs
from nngraph.core.params import count_params
from nngraph.render import render as write_diagram
from nngraph.render.output import format_of
from nngraph.keras.summary import describe


@dataclass(frozen=True)
class Console:
    """The streams a command talks to, and the progress shown on standard error."""

    stdin: TextIO
    stdout: TextIO
    progress: Progress

    def print(self, text: str) -> None:
        """Write ``text`` and a newline to standard output."""
        self.stdout.write(text + "\n")


def demo(args: argparse.Namespace, console: Console) -> None:
    """``nngraph demo``: the lesson's network, as ``make demo`` shows it, diagrams included."""
    with writing(args.diagrams):  # a folder that cannot be made fails before anything is printed
        Path(args.diagrams).mkdir(parents=True, exist_ok=True)
    with writing(args.diagrams):
        run_demo(console.print, diagram_folder=args.diagrams)


def new(args: argparse.Namespace, console: Console) -> None:
    """``nngraph new``: a model of Dense layers from sizes and activations, saved with ``nngraph.save``."""
    sizes: list[int] = args.layers
    names: list[str] = args.activations
    if len(names) != len(sizes) - 1:
        raise UsageError("--activations", f"--layers gives {len(sizes) - 1} layer(s) after the inputs, "
                         f"so give one activation each, {len(sizes) - 1} in all; got {len(names)}")
    for name in names:
        try:
            resolve_activation(name)
        except UnknownActivationError as error:
            raise UsageError("--activations", str(error)) from None
    try:
        check_size(neurons=sum(sizes), connections=sum(a * b for a, b in zip(sizes, sizes[1:])),
                   limit=MAX_CONNECTIONS, adding="these layers",
                   remedy="the library's Sequential(max_connections=...) builds larger models")
    except LayerError as error:
        raise UsageError("--layers", str(error)) from None
    layers = [Dense(units=sizes[1], input_shape=(sizes[0],), activation=names[0])]
    layers += [Dense(units=units, activation=name) for units, name in zip(sizes[2:], names[1:])]
    model = Sequential(layers, seed=args.seed)
    save(model.graph, args.output)
    stack = " -> ".join(f"{layer.name} ({layer.units}, {layer.activation})" for layer in model.layers)
    console.print(f"wrote {args.output}: {sizes[0]} inputs -> {stack}; "
                  f"{model.count_params():,} parameters, seed {args.seed}")


def summary(args: argparse.Namespace, console: Console) -> None:
    """``nngraph summary``: the layer table and the graph's facts."""
    G = load_model(args.model, console.progress)
    console.print(describe(G, title=Path(args.model).stem))


def _names(nodes: Sequence[Hashable]) -> list[str]:
    return [name_of(node) for node in nodes]


def run(args: argparse.Namespace, console: Console) -> None:
    """``nngraph run``: the outputs for every input sample, as CSV, .npy or .json."""
    output_kind(args.output)
    G = load_model(args.model, console.progress)
    batch = read_inputs(args.input, _names(inputs(G)), stdin=console.stdin, progress=console.progress)
    values = forward(compile_model(G, dtype=args.dtype, progress=console.progress), batch,
                     progress=console.progress)
    write_outputs(values, _names(outputs(G)), args.output, stdout=console.stdout)


def _unknown(argument: str, what: str, name: str, model: str, known: list[str]) -> UsageError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; its {what}s: {listing(known)}"
    return UsageError(argument, f"no {what} {name!r} in {model}{hint}")


def select(trace: Trace, *, neurons: Sequence[str] | None, layer: str | None,
           model: str) -> tuple[Trace, set[Hashable] | None]:
    """``trace`` restricted to one layer, and the neurons to show (named as ``name_of`` names them; None: all)."""
    groups = list(trace.groups)
    if layer is not None:
        chosen = [group for group in groups if name_of(group.name) == layer]
        if not chosen:
            raise _unknown("--layer", "layer", layer, model, [name_of(group.name) for group in groups])
        groups = chosen
    if neurons:
        layer_of = {name_of(node): name_of(group.name) for group in trace.groups for node in group.nodes}
        for name in neurons:
            if name not in layer_of:
                raise _unknown("--neuron", "neuron", name, model, list(layer_of))
            if layer is not None and layer_of[name] != layer:
                raise UsageError("--neuron", f"neuron {name!r} is in layer {layer_of[name]!r}, not {layer!r}")
    chosen_trace = dataclasses.replace(trace, groups=tuple(groups))
    if not neurons:
        return chosen_trace, None
    wanted = set(neurons)
    return chosen_trace, {node for group in groups for node in group.nodes if name_of(node) in wanted}


def _chosen_sample(G: nx.DiGraph, args: argparse.Namespace, console: Console) -> tuple[np.ndarray, int]:
    """The samples of ``--input``, and the index ``--sample`` picks (from 0; negatives count from the end)."""
    batch = read_inputs(args.input, _names(inputs(G)), stdin=console.stdin, progress=console.progress)
    sample = 0 if args.sample is None else args.sample
    if not -len(batch) <= sample < len(batch):
        where = "standard input" if args.input == STDIN else args.input
        raise UsageError("--sample", f"{sample} is out of range: {where} holds {len(batch)} "
                         f"sample{'s' if len(batch) != 1 else ''} (0 to {len(batch) - 1}, "
                         f"or -{len(batch)} to -1 from the end)")
    return batch, sample % len(batch)


def inspect(args: argparse.Namespace, console: Console) -> None:
    """``nngraph inspect``: every neuron's weighted sum and value for one sample, as a table or JSON."""
    G = load_model(args.model, console.progress)
    batch, sample = _chosen_sample(G, args, console)
    plan = compile_model(G, dtype=args.dtype, progress=console.progress)
    trace, shown = select(trace_sample(plan, batch[sample]), neurons=args.neuron, layer=args.layer,
                          model=args.model)
    if not args.json:
        console.print(trace.table(0, neurons=shown))
        return
    records = [{**record, "layer": name_of(record["layer"]), "neuron": name_of(record["neuron"])}
               for record in trace.records(0, neurons=shown)]
    console.print(to_json({"model": args.model, "input": args.input, "sample": sample,
                           "dtype": args.dtype, "neurons": records}))


def compile_(args: argparse.Namespace, console: Console) -> None:
    """``nngraph compile``: the plan's table of fused ops, or the numpy source it runs."""
    plan = compile_model(load_model(args.model, console.progress), dtype=args.dtype, progress=console.progress)
    console.print(plan.code.rstrip("\n") if args.code else str(plan))


_NEURON_OPTIONS = (("--input", "input"), ("--sample", "sample"), ("--max-per-column", "max_per_column"),
                   ("--output-labels", "output_labels"))


def _diagram_options(G: nx.DiGraph, args: argparse.Namespace, console: Console, *,
                     page: bool) -> dict[str, object]:
    """The options of ``render`` that the arguments ask for, each checked against the model.

    A ``page`` (an ``.html`` file) holds every sample of ``--input``, ``--sample`` shown first;
    a diagram shows the one sample ``--sample`` picks.
    """
    if page and args.diagram != "neurons":
        raise UsageError("--diagram", f"an .html file is the interactive neurons diagram; draw the "
                         f"{args.diagram} diagram as .svg, .png, .pdf or .dot")
    if args.diagram != "neurons":
        for flag, key in _NEURON_OPTIONS:
            if getattr(args, key) is not None:
                raise UsageError(flag, f"only the neurons diagram takes it, not --diagram {args.diagram}")
        return {}
    options: dict[str, object] = {}
    if args.max_per_column is not None:
        if args.max_per_column < 3:
            raise UsageError("--max-per-column", f"{args.max_per_column} is too few: a folded column shows "
                             "its first and last neurons and a '+N more' node, so give 3 or more")
        options["collapse_above"] = args.max_per_column
    if args.output_labels is not None:
        n_outputs = len(outputs(G))
        if len(args.output_labels) != n_outputs:
            raise UsageError("--output-labels", f"{len(args.output_labels)} names for the {n_outputs} "
                             f"outputs of {args.model}")
        options["output_labels"] = args.output_labels
    if args.sample is not None and args.input is None:
        raise UsageError("--sample", "needs --input FILE, the samples to show")
    if args.input is not None:
        batch, sample = _chosen_sample(G, args, console)
        plan = compile_model(G, dtype="float64", progress=console.progress)
        if page:
            options["trace"], options["sample"] = plan.trace(batch), sample
        else:
            options["trace"] = trace_sample(plan, batch[sample])
            options["sample_label"] = f"sample {sample}"
    return options


def render(args: argparse.Namespace, console: Console) -> None:
    """``nngraph render``: a neuron, layer or plan diagram written to .svg, .png, .pdf or .dot, or the
    interactive neuron diagram to .html."""
    try:
        page = format_of(args.output) == "html"
    except RenderError as error:
        raise UsageError("-o/--output", str(error).removeprefix("render: ")) from None
    G = load_model(args.model, console.progress)
    options = _diagram_options(G, args, console, page=page)
    drawn: object = G
    if args.diagram == "plan":
        drawn = compile_model(G, dtype="float64", progress=console.progress)
    with writing(args.output), console.progress.task(f"drawing {args.output}"):
        write_diagram(drawn, args.output, kind=args.diagram, **options)
    what = "the interactive neurons diagram" if page else f"the {args.diagram} diagram"
    console.print(f"wrote {args.output}: {what} of {args.model}")


def export(args: argparse.Namespace, console: Console) -> None:
    """``nngraph export``: the model as an ONNX file (``nngraph.to_onnx``), written atomically."""
    if Path(args.output).suffix.lower() != ".onnx":
        raise UsageError("-o/--output", f"{args.output!r}: an ONNX file's name ends in .onnx")
    G = load_model(args.model, console.progress)
    opset = DEFAULT_OPSET if args.opset is None else args.opset
    with writing(args.output), console.progress.task(f"exporting {args.output}"):
        try:
            to_onnx(G, args.output, dtype=args.dtype, opset=opset)
        except ArgumentError as error:
            raise UsageError("--opset", str(error).removeprefix("to_onnx: ")) from None
    console.print(f"wrote {args.output}: {args.model} as ONNX (opset {opset}, {args.dtype}), "
                  f"{len(inputs(G))} inputs -> {len(outputs(G))} outputs")


# A foreign file's suffix -> what it holds and the importer that reads it (never running its code).
IMPORTERS = {".onnx": ("ONNX", from_onnx), ".keras": ("Keras", from_keras),
             ".json": ("neat-python's JSON export", from_neat_json)}


def import_(args: argparse.Namespace, console: Console) -> None:
    """``nngraph import``: an ONNX, Keras or neat-python file as an nngraph model file, written atomically."""
    suffix = Path(args.file).suffix.lower()
    if suffix not in IMPORTERS:
        raise UsageError("FILE", f"{args.file!r}: nngraph imports .onnx (ONNX), .keras (Keras 3) and .json "
                         "(neat-python's export_network_json) files; a PyTorch or scikit-learn model is "
                         "code, so import it in Python: nngraph.from_torch, nngraph.from_sklearn")
    if Path(args.output).suffix.lower() != ".json":
        raise UsageError("-o/--output", f"{args.output!r}: an nngraph model file's name ends in .json")
    library, importer = IMPORTERS[suffix]
    with console.progress.task(f"importing {args.file}"):
        G = importer(args.file)
    with writing(args.output):
        save(G, args.output)
    console.print(f"wrote {args.output}: {args.file} ({library}), {G.number_of_nodes()} neurons ("
                  f"{len(inputs(G))} inputs, {len(outputs(G))} outputs), {G.number_of_edges()} connections, "
                  f"{count_params(G)} parameters")


COMMANDS = {"demo": demo, "new": new, "summary": summary, "run": run, "inspect": inspect,
            "compile": compile_, "render": render, "export": export, "import": import_}
