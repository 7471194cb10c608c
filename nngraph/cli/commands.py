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

from nngraph.activations import resolve_activation
from nngraph.cli.datafiles import STDIN, listing, output_kind, read_inputs, to_json, write_outputs
from nngraph.cli.errors import UsageError
from nngraph.cli.execution import forward, load_model, name_of, trace_sample
from nngraph.cli.progress import Progress
from nngraph.demo import run_demo
from nngraph.errors import UnknownActivationError
from nngraph.execute.trace import Trace
from nngraph.io import save
from nngraph.layers import Dense
from nngraph.models import Sequential
from nngraph.network import inputs, outputs
from nngraph.summary import describe


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
    """``nngraph demo``: the lesson's network, as ``make demo`` shows it."""
    run_demo(console.print)


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
    values = forward(G, batch, dtype=args.dtype, progress=console.progress)
    write_outputs(values, _names(outputs(G)), args.output, stdout=console.stdout)


def _unknown(argument: str, what: str, name: str, model: str, known: list[str]) -> UsageError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; its {what}s: {listing(known)}"
    return UsageError(argument, f"no {what} {name!r} in {model}{hint}")


def select(trace: Trace, *, neurons: Sequence[str] | None, layer: str | None, model: str) -> Trace:
    """``trace`` restricted to one layer and/or some neurons (named by their string form)."""
    groups = list(trace.groups)
    if layer is not None:
        chosen = [group for group in groups if group.name == layer]
        if not chosen:
            raise _unknown("--layer", "layer", layer, model, [group.name for group in groups])
        groups = chosen
    if neurons:
        layer_of = {name_of(node): group.name for group in trace.groups for node in group.nodes}
        for name in neurons:
            if name not in layer_of:
                raise _unknown("--neuron", "neuron", name, model, list(layer_of))
            if layer is not None and layer_of[name] != layer:
                raise UsageError("--neuron", f"neuron {name!r} is in layer {layer_of[name]!r}, not {layer!r}")
        wanted = set(neurons)
        groups = [dataclasses.replace(group, nodes=tuple(n for n in group.nodes if name_of(n) in wanted))
                  for group in groups]
        groups = [group for group in groups if group.nodes]
    return dataclasses.replace(trace, groups=tuple(groups))


def inspect(args: argparse.Namespace, console: Console) -> None:
    """``nngraph inspect``: every neuron's weighted sum and value for one sample, as a table or JSON."""
    G = load_model(args.model, console.progress)
    batch = read_inputs(args.input, _names(inputs(G)), stdin=console.stdin, progress=console.progress)
    if not -len(batch) <= args.sample < len(batch):
        where = "standard input" if args.input == STDIN else args.input
        raise UsageError("--sample", f"{args.sample} is out of range: {where} holds {len(batch)} "
                         f"sample{'s' if len(batch) != 1 else ''} (0 to {len(batch) - 1})")
    trace = select(trace_sample(G, batch[args.sample], dtype=args.dtype),
                   neurons=args.neuron, layer=args.layer, model=args.model)
    if not args.json:
        console.print(trace.table(0))
        return
    records = [{**record, "neuron": name_of(record["neuron"])} for record in trace.records(0)]
    console.print(to_json({"model": args.model, "input": args.input, "sample": args.sample,
                           "dtype": args.dtype, "neurons": records}))


COMMANDS = {"demo": demo, "new": new, "summary": summary, "run": run, "inspect": inspect}
