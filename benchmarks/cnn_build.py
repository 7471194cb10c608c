"""How long convolutional networks take to build, validate and compile, and the memory they need:
python benchmarks/cnn_build.py.

For LeNet-5 (about 6,600 neurons and 286,000 connections) and the CIFAR-style network of
``benchmarks/cnn.py`` (about 50,000 neurons and 4.5 million connections), each in a fresh
process: the seconds to build the ``Sequential`` (the networkx graph), to ``validate`` it and to
``compile_network`` it (float32), and the process's peak resident memory after building and
after compiling (``ru_maxrss``, the interpreter with numpy, scipy and networkx included). The
compiled plan is checked against the PyTorch twin where torch is installed, else against the
reference pass. Prints one table.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("lenet5", "cifar_cnn")


def measure(name: str) -> dict[str, float]:
    """Build, validate and compile model ``name`` in this process; its figures."""
    sys.path[:0] = [str(HERE.parent), str(HERE.parent / "examples"), str(HERE)]
    import numpy as np
    import cnn

    import nngraph

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    base = peak_mb()
    start = time.perf_counter()
    model = getattr(cnn, name)()
    built = time.perf_counter()
    nngraph.validate(model.graph)
    validated = time.perf_counter()
    after_build = peak_mb()
    plan = nngraph.compile_network(model.graph, dtype=np.float32)
    compiled = time.perf_counter()
    after_compile = peak_mb()
    images = np.random.default_rng(0).uniform(size=(2, *model.input_shape[1:])).astype(np.float32)
    got = plan(images.reshape(2, -1))
    twin = cnn.torch_twin(model)
    expected = twin(images) if twin is not None else nngraph.run_reference(model.graph, images.reshape(2, -1),
                                                                          dtype=np.float32).outputs
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    G = model.graph
    return {"neurons": G.number_of_nodes() - len(nngraph.inputs(G)), "connections": G.number_of_edges(),
            "ops": len(plan.ops), "build": built - start, "validate": validated - built,
            "compile": compiled - validated, "base": base, "after_build": after_build,
            "after_compile": after_compile}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = "1"
        print(json.dumps(measure(sys.argv[2])))
        return
    header = (f"{'model':<10} {'neurons':>8} {'connections':>12} {'ops':>4} {'build s':>8} {'validate s':>11} "
              f"{'compile s':>10} {'peak MB built':>14} {'peak MB compiled':>17}")
    print("building, validating and compiling convolutional networks (float32), each in a fresh process;")
    print("peak memory: the process's peak resident set, the interpreter and its imports included")
    print(header)
    for name in MODELS:
        result = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True,
                                check=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{name:<10} {figures['neurons']:>8,} {figures['connections']:>12,} {figures['ops']:>4} "
              f"{figures['build']:>8.2f} {figures['validate']:>11.2f} {figures['compile']:>10.2f} "
              f"{figures['after_build']:>14,.0f} {figures['after_compile']:>17,.0f}   "
              f"(before building: {figures['base']:,.0f} MB)")


if __name__ == "__main__":
    main()
