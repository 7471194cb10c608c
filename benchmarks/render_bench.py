"""How long drawing takes, and how big the files get: python benchmarks/render_bench.py [--repeat N].

Times building each diagram (``render_*``, which validates the network, lays
it out and bundles the folded connections) and Graphviz drawing it to SVG, for
the lesson's 8-6-6-4 network, for a 784-512-512-10 network (669,706
connections, folded to 4 + "+N more" + 4 neurons per wide column), and for two
deep NEAT-style genomes (``examples/neat_network.py``'s ``deep_genome``): a
chain of 300 neurons over 291 levels and 1,000 neurons over 300 levels, both
with long skip connections, whose middle levels and boxes fold. Their layer
diagram compiles the genome to find its groups; their plan diagram is timed
with the compile too. Prints one table; the best of ``--repeat`` runs
(default 1) counts. Needs Graphviz's dot.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import graphviz
import networkx as nx

import nngraph
from nngraph.demo import CLASS_NAMES, SAMPLE, lesson_model
from nngraph.layers import Dense
from nngraph.models import Sequential

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from neat_network import deep_genome  # noqa: E402


def best_time(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The fastest of ``repeat`` runs of ``work``, in seconds, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def wide_model() -> Sequential:
    return Sequential([Dense(units=512, input_shape=(784,), activation="relu"),
                       Dense(units=512, activation="relu"), Dense(units=10, activation="softmax")], seed=0)


def cases() -> list[tuple[str, Callable[[], graphviz.Digraph]]]:
    lesson = lesson_model()
    lesson_trace = lesson.trace(SAMPLE)
    lesson_plan = nngraph.compile_network(lesson.graph)
    wide = wide_model()
    wide_plan = nngraph.compile_network(wide.graph)
    wide_trace = wide_plan.trace([0.5] * 784)
    return [
        ("lesson neurons", lambda: nngraph.render_neurons(lesson, output_labels=CLASS_NAMES)),
        ("lesson neurons + values", lambda: nngraph.render_neurons(lesson, trace=lesson_trace,
                                                                   output_labels=CLASS_NAMES)),
        ("lesson layers", lambda: nngraph.render_layers(lesson)),
        ("lesson plan", lambda: nngraph.render_plan(lesson_plan)),
        ("784-512-512-10 neurons", lambda: nngraph.render_neurons(wide)),
        ("784-512-512-10 neurons + values", lambda: nngraph.render_neurons(wide, trace=wide_trace)),
        ("784-512-512-10 layers", lambda: nngraph.render_layers(wide)),
        ("784-512-512-10 plan", lambda: nngraph.render_plan(wide_plan)),
        *deep_cases("chain 300/291", deep_genome()),
        *deep_cases("1000/300", deep_genome(n_neurons=1000, n_levels=300, n_inputs=16, n_outputs=8)),
    ]


def deep_cases(name: str, G: nx.DiGraph) -> list[tuple[str, Callable[[], graphviz.Digraph]]]:
    """The three diagrams of a deep genome, each timed from the graph (compiling where it needs a plan)."""
    return [(f"{name} neurons", lambda: nngraph.render_neurons(G)),
            (f"{name} layers", lambda: nngraph.render_layers(G)),
            (f"{name} plan + compile", lambda: nngraph.render_plan(nngraph.compile_network(G)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest counts")
    repeat = parser.parse_args().repeat
    rows = []
    for name, build in cases():
        build_seconds, diagram = best_time(build, repeat)
        draw_seconds, svg = best_time(lambda: diagram.pipe(format="svg"), repeat)
        rows.append((name, build_seconds, draw_seconds, len(diagram.source), len(svg)))
    print(f"{'diagram':<34}{'build (s)':>10}{'dot->svg (s)':>14}{'total (s)':>11}{'DOT (KB)':>10}{'SVG (KB)':>10}")
    for name, build_seconds, draw_seconds, dot_size, svg_size in rows:
        print(f"{name:<34}{build_seconds:>10.3f}{draw_seconds:>14.3f}{build_seconds + draw_seconds:>11.3f}"
              f"{dot_size / 1024:>10.1f}{svg_size / 1024:>10.1f}")
    wide = wide_model().graph
    seconds, _ = best_time(lambda: nngraph.validate(wide), repeat)
    print(f"(each 784-512-512-10 network diagram first validates it: nngraph.validate takes {seconds:.3f} s of "
          "its build time)")


if __name__ == "__main__":
    main()
