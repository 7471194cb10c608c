"""LSTM(32) over 20 steps of 8 features, float32, batch 1 and 256 (``make bench``).

``plan(x)`` of the unrolled network against a hand-written numpy loop over time (the floor) and
against PyTorch's ``torch.nn.LSTM`` in eager mode with the same weights (when torch is installed),
all pinned to ``--threads`` threads; also ``plan.trace(x)`` against ``plan(x)``. Every competitor's
outputs are checked against the others before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS, FEATURES, UNITS = 20, 8, 32


def numpy_loop(kernel, recurrent, bias):  # noqa: ANN001, ANN201 - float32 arrays in, a function out
    """The LSTM as one would write it by hand: one matrix product per step for all four gates."""
    import numpy as np

    def run(x):  # noqa: ANN001, ANN202
        h = np.zeros((x.shape[0], UNITS), dtype=np.float32)
        c = np.zeros_like(h)
        for t in range(x.shape[1]):
            z = x[:, t] @ kernel + h @ recurrent + bias
            i, f, g, o = np.split(z, 4, axis=1)
            i, f, o = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o))
            c = f * c + i * np.tanh(g)
            h = o * np.tanh(c)
        return h
    return run


def torch_lstm(kernel, recurrent, bias, threads: int):  # noqa: ANN001, ANN201
    """``torch.nn.LSTM`` in eager mode with Keras' weights (PyTorch's gate order is Keras' i, f, g, o);
    None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    module = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        module.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        module.bias_ih_l0.copy_(torch.from_numpy(bias))
        module.bias_hh_l0.zero_()

    def run(x):  # noqa: ANN001, ANN202
        with torch.inference_mode():
            return module(torch.from_numpy(x))[0][:, -1].numpy()
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    sys.path[:0] = [str(ROOT), str(HERE)]
    import numpy as np
    from timing import compare

    import nngraph
    from nngraph.layers import LSTM, Input
    from nngraph.models import Sequential

    start = time.perf_counter()
    layer = LSTM(UNITS)
    model = Sequential([Input(shape=(STEPS, FEATURES)), layer], seed=0)
    built = time.perf_counter() - start
    start = time.perf_counter()
    plan = nngraph.compile_network(model.graph, dtype=np.float32)
    compiled = time.perf_counter() - start
    kernel, recurrent, bias = (weight.astype(np.float32) for weight in layer.get_weights())
    print(f"LSTM({UNITS}) over {STEPS} steps of {FEATURES} features: {model.graph.number_of_nodes():,} neurons, "
          f"{model.graph.number_of_edges():,} connections, {len(plan.ops)} ops; built in {built:.2f} s, "
          f"compiled in {compiled:.2f} s; threads {args.threads}")
    for line in str(plan).splitlines()[-2:]:  # the numbers stored once, and which runner runs which batch
        print(line)
    loop = numpy_loop(kernel, recurrent, bias)
    peer = torch_lstm(kernel, recurrent, bias, args.threads)
    print(f"{'batch':>6} {'plan(x) ms':>11} {'numpy loop':>11} {'torch':>9} {'plan/numpy':>11} "
          f"{'plan/torch':>11} {'trace/plan':>11}")
    rng = np.random.default_rng(0)
    for batch in (1, 256):
        x = rng.normal(size=(batch, STEPS, FEATURES)).astype(np.float32)
        flat = x.reshape(batch, -1)
        expected = loop(x)
        np.testing.assert_allclose(plan(flat), expected, rtol=1e-4, atol=1e-5)
        competitors = {"plan": lambda: plan(flat), "numpy": lambda: loop(x), "trace": lambda: plan.trace(flat)}
        if peer is not None:
            np.testing.assert_allclose(peer(x), expected, rtol=1e-4, atol=1e-5)
            competitors["torch"] = lambda: peer(x)
        timings = compare(competitors, rounds=args.rounds)
        torch_ms = f"{timings.seconds('torch') * 1e3:9.3f}" if peer else f"{'-':>9}"
        versus = f"{timings.ratio('plan', 'torch'):10.2f}x" if peer else f"{'-':>11}"
        print(f"{batch:>6} {timings.seconds('plan') * 1e3:11.3f} {timings.seconds('numpy') * 1e3:11.3f} {torch_ms} "
              f"{timings.ratio('plan', 'numpy'):10.2f}x {versus} {timings.ratio('trace', 'plan'):10.2f}x")


if __name__ == "__main__":
    main()
