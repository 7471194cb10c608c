"""The command line's grammar: one argparse sub-command per task, each with an example in its help.

Usage errors print one line, ``nngraph: error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from nngraph import __version__
from nngraph.interop.onnx_export import DEFAULT_OPSET, MIN_OPSET

DIAGRAMS = ("neurons", "layers", "plan")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on standard error (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"nngraph: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _whole_number(text: str, minimum: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} must be {minimum} or more")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, minimum=1)


def _layer_sizes(text: str) -> list[int]:
    sizes = [_positive_int(part.strip()) for part in text.split(",")]
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least the inputs and one layer, e.g. 8,6,6,4")
    return sizes


def _comma_list(text: str) -> list[str]:
    """Split on commas outside parentheses, so ``leaky_relu(alpha=0.1),relu`` is two names."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    if not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty item")
    return parts


def _command(commands: argparse._SubParsersAction, name: str, summary: str, example: str,
             common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=summary, description=summary, parents=[common],
                               epilog="example:\n" + example,
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def _model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by nngraph.save or 'nngraph new'")


def _input(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("-i", "--input", metavar="FILE", required=required,
                        help="samples: .npy, .csv (header of input names optional), .json, "
                             "or - for CSV on standard input")


def _dtype(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="the precision of the computation (default: float64)")


def build_parser() -> Parser:
    """The ``nngraph`` parser with every sub-command; ``args.command`` names the one chosen."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show a traceback when something goes wrong")
    parser = Parser(prog="nngraph", formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Neural networks as graphs of neurons: build, inspect, run, compile "
                                "and draw saved models.",
                    epilog="example:\n  nngraph new --layers 8,6,6,4 --activations relu,relu,softmax "
                           "-o model.json\n  nngraph summary model.json\n\n"
                           "Run 'nngraph COMMAND --help' for each command's options.")
    parser.add_argument("--version", action="version", version=f"nngraph {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback when something goes wrong")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=Parser)

    demo = _command(commands, "demo", "the lesson's 8-6-6-4 network: summary, one sample traced "
                    "neuron by neuron, probabilities, diagrams",
                    "  nngraph demo --diagrams lesson-diagrams", common)
    demo.add_argument("-o", "--diagrams", metavar="DIR", default="out/lesson",
                      help="folder for the diagrams: SVG, or DOT source without Graphviz (default: out/lesson)")

    new = _command(commands, "new", "create a model file of fully connected layers with seeded weights",
                   "  nngraph new --layers 8,6,6,4 --activations relu,relu,softmax --seed 7 -o model.json",
                   common)
    new.add_argument("--layers", type=_layer_sizes, required=True, metavar="N,N,...",
                     help="layer sizes, inputs first: 8,6,6,4 is 8 inputs, two layers of 6, and 4 outputs")
    new.add_argument("--activations", type=_comma_list, required=True, metavar="NAME,...",
                     help="one activation per layer after the inputs, e.g. relu,relu,softmax")
    new.add_argument("--seed", type=_whole_number, default=0,
                     help="seeds the initial weights: 0 or more (default: 0)")
    new.add_argument("-o", "--output", metavar="FILE", required=True, help="the model file to write (.json)")

    summary = _command(commands, "summary", "a Keras-like table of layers and parameters, and the "
                       "graph's facts", "  nngraph summary model.json", common)
    _model(summary)

    run = _command(commands, "run", "run samples through a model and write its outputs",
                   "  nngraph run model.json --input samples.csv -o outputs.npy\n"
                   "  printf '0,1,0,1,0,1,0,1\\n' | nngraph run model.json --input -", common)
    _model(run)
    _input(run, required=True)
    run.add_argument("-o", "--output", metavar="FILE",
                     help="where to write the outputs: .csv, .npy or .json (default: CSV on standard output)")
    _dtype(run)

    inspect = _command(commands, "inspect", "every neuron's weighted sum and value for one sample",
                       "  nngraph inspect model.json --input samples.csv --sample 2 --layer dense_1\n"
                       "  nngraph inspect model.json --input samples.csv --neuron dense/0 dense/3 --json",
                       common)
    _model(inspect)
    _input(inspect, required=True)
    inspect.add_argument("--sample", type=int, default=0, metavar="I",
                         help="which sample (row) of the input, from 0; negative counts from the end, "
                              "-1 is the last (default: 0)")
    inspect.add_argument("--neuron", action="extend", nargs="+", metavar="NAME",
                         help="only these neurons (names as in the table, e.g. dense/0)")
    inspect.add_argument("--layer", metavar="NAME", help="only this layer (e.g. input, dense_1, 'level 2')")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _dtype(inspect)

    compile_ = _command(commands, "compile", "show the compiled plan: its fused ops, or the numpy source "
                        "it runs", "  nngraph compile model.json\n  nngraph compile model.json --code > plan.py",
                        common)
    _model(compile_)
    compile_.add_argument("--code", action="store_true", help="print the generated numpy source instead")
    _dtype(compile_)

    render = _command(commands, "render", "draw a model as a diagram of neurons, layers or plan ops",
                      "  nngraph render model.json -o model.svg\n"
                      "  nngraph render model.json -o traced.png --input samples.csv --sample 0 "
                      "--output-labels cat,dog,llama,lizard\n"
                      "  nngraph render model.json -o layers.pdf --diagram layers\n"
                      "  nngraph render model.json -o model.html --input samples.csv", common)
    _model(render)
    render.add_argument("-o", "--output", metavar="FILE", required=True,
                        help="the diagram file: .svg, .png, .pdf (these need Graphviz's dot) or .dot; "
                             ".html for an interactive page of the neurons diagram (point at a neuron to "
                             "read its weighted sum; with --input, a slider steps through every sample)")
    render.add_argument("--diagram", choices=DIAGRAMS, default="neurons",
                        help="what to draw (default: neurons)")
    _input(render, required=False)
    render.add_argument("--sample", type=int, default=None, metavar="I",
                        help="with --input: which sample's values to show (.html: the one shown first), "
                             "from 0; negative counts from the end (default: 0)")
    render.add_argument("--max-per-column", type=_positive_int, metavar="N",
                        help="neurons diagram: collapse wider columns to their first and last few")
    render.add_argument("--output-labels", type=_comma_list, metavar="NAME,...",
                        help="neurons diagram: class names for the outputs, in output order")

    export = _command(commands, "export", "write a model as ONNX, for onnxruntime and other ONNX tools",
                      "  nngraph export model.json -o model.onnx\n"
                      "  nngraph export model.json -o model64.onnx --dtype float64", common)
    _model(export)
    export.add_argument("-o", "--output", metavar="FILE", required=True, help="the ONNX file to write (.onnx)")
    export.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="the model's element type (default: float32)")
    export.add_argument("--opset", type=_positive_int, default=None, metavar="N",
                        help=f"the ONNX operator set, {MIN_OPSET} or later (default: {DEFAULT_OPSET})")

    import_ = _command(commands, "import", "read another library's model file into an nngraph model file",
                       "  nngraph import model.onnx -o model.json\n"
                       "  nngraph import classifier.keras -o classifier.json\n"
                       "  nngraph import winner.json -o winner-network.json   # neat-python's JSON export",
                       common)
    import_.add_argument("file", metavar="FILE",
                         help="an ONNX model (.onnx), a Keras 3 model (.keras), or a network exported by "
                              "neat-python's export_network_json (.json); read as untrusted data, never run")
    import_.add_argument("-o", "--output", metavar="FILE", required=True,
                         help="the nngraph model file to write (.json)")
    return parser
