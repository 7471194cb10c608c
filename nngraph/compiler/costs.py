"""The cost model: every choice the compiler makes for speed, from one set of measured figures.

The choices that depend on what work costs are each taken here, from the same figures:

- **sparse or dense** (the ``choose_kinds`` pass): per sample, the dense product costs
  ``MULTIPLY_ADD_NS`` per entry of its weight matrix, plus, when its sources are not contiguous
  columns, ``GATHER_NS`` per source copied out (and the row of ones for the bias); the sparse
  kernel costs ``CONNECTION_NS`` per connection. Each also writes its bias, ``TARGET_NS`` per
  target. Both make two numpy calls, so below batches of about 64, where the calls dominate, the
  choice hardly matters. Not modelled: on ops with tens of thousands of connections and batches of
  thousands, the kernel's cost per connection about doubles (the rows it reads leave the cache).
  So a fully connected block stays dense, a block read as one slice turns sparse below about a
  sixth nonzero, and one that gathers scattered sources for few targets (a merged NEAT-style
  level) turns sparse at higher densities, since the kernel reads the buffer in place. The
  ``merge_levels`` pass leaves fully connected ops of at least ``KEEP_APART`` weights apart:
  padding them with zeros would only add multiply-adds.
- **shared weights** (the ``share_weights`` pass): a block of ops that apply one kernel at many
  positions (a convolution lowered one op per position) becomes one shared-weights op when that
  is expected to cost less than the sparse product over their connections (``CONNECTION_NS``
  each) or the dense product over all their sources and targets. Per sample it gathers each
  position's window, ``GATHER_NS`` per entry, and makes ``MULTIPLY_ADD_NS`` per entry, filter and
  position; an op of its own also costs ``OP_CALLS`` numpy calls per batch, which the work it
  saves must repay at a batch of ``REFERENCE_BATCH`` samples. So a convolution, whose kernel is
  used at every position, shares its weights; a per-channel scale (BatchNormalization), whose one
  weight a gather would only copy, stays in the sparse product.
- **shared products** (codegen): gathering ops of one level can share one gather and one product
  instead of one each. That saves two numpy calls (``NUMPY_CALL_NS`` each) per op, a fixed cost,
  and multiplies more zeros, ``MULTIPLY_ADD_NS`` each per sample; so it pays up to a batch size,
  which the generated code tests (at most ``MAX_SHARED_BATCH``).
- **scalar code** (codegen): a float64 plan of at most ``SCALAR_MAX_CONNECTIONS`` connections also
  gets straight-line Python float code for one sample, which costs per sample ``SAMPLE_NS``, plus
  ``SCALAR_CONNECTION_NS`` per connection and ``NEURON_NS`` per neuron by how its activation is
  written (an expression, a function call, softmax). It runs batches up to the size where the
  fused numpy pass, about ``NUMPY_CALL_NS`` per numpy call, gets cheaper (at most
  ``SCALAR_MAX_BATCH``). For one sample or a few, it is about as fast as the native kernel on a
  plan of a hundred connections, so it keeps those batches where both exist; beside the kernel, a
  plan of more than ``SCALAR_BESIDE_NATIVE_CONNECTIONS`` connections gets none
  (``scalar_code_pays``): the kernel runs its one sample faster (measured on the benchmarks' DAGs
  of 300 to 1,000 connections: 8 to 17 us against 11 to 58 us), and writing the scalar code, built
  on the first call of one sample, costs about 15 us per connection (16 ms for the DAG of 958
  connections; mostly Python's ``compile``): more than compiling the rest of the plan.
- **native kernel** (codegen, with numba installed; ``nngraph.compiler.native``): one compiled
  call for the whole plan costs ``NATIVE_CALL_NS``, plus ``NATIVE_CONNECTION_NS`` per connection
  (its loop set-up) and ``NATIVE_SAMPLE_NS`` per connection and sample (``NATIVE_BLOCK_SAMPLE_NS``
  for a connection of a dense op, whose rows stay in cache), each by the plan's precision (its
  sums run in it); for one sample, a
  connection of a block (a dense op without padding, which the kernel then adds source by source
  to all targets at once, vectorised) costs ``NATIVE_BLOCK_NS`` instead. So a plan of hundreds of
  numpy calls (an unrolled LSTM: a few per op and time step) runs one sample in one call, even
  with 100,000 connections. The fused numpy pass costs ``NUMPY_PASS_NS`` (its ``np.errstate``
  and the Python around it) and ``NUMPY_CALL_NS`` per numpy call (a reduction
  or gather nested in a line counts as a call of its own, and an activation's function as the
  calls it makes, ``ACTIVATION_CALLS``: neat-python's clamp and scale their argument, six calls
  for ``neat_sigmoid``), plus per sample its products (``dense_cost``, ``sparse_cost``) and
  ``ACTIVATION_NS`` per neuron. The activations' own cost per value is left out of both: the
  kernel's is no higher than numpy's (measured per value: exp-based ones 4 to 7 ns in the kernel
  against numpy's exp alone at 5 to 10, neat's sin 3 to 4 against numpy's 14 to 21, log 6 to 8 in
  both). The kernel's fixed cost is
  far lower and its cost per sample higher (it multiplies one connection at a time, where BLAS
  blocks), so it runs batches up to where the two
  meet (at most ``NATIVE_MAX_BATCH``), above those of the scalar code: the lesson's network up to
  about 1700 samples (measured, wall time: the kernel 0.74x the numpy pass at 1024 samples, 0.86x
  at 1536; the two meet at about 2500 in float32, 1800 in float64), a
  NEAT-style DAG of 6,000 connections and 166 numpy calls up to about 400 in float32 (measured:
  they meet at 512) and 200 in float64 (measured: the kernel ahead to 4096), a 784-512-512-10
  network never; the plan of a generation of 150 neat-python genomes (7,900 connections, 14 ops
  of 80 activation runs of neat's functions, about 300 numpy calls) up to ``NATIVE_MAX_BATCH``
  (measured, wall time: the numpy pass takes 10 to 12x the kernel's time at one sample, 3 to 3.5x
  at 100, 1.8 to 2.3x at 1000, 1.75 to 2x at 4096 and 16384; the first call, which builds the
  kernel's arrays instead of compiling the numpy pass, about 3 ms against 4.5 to 5.5 at 100).
- **level loop** (codegen; ``nngraph.compiler.loop``): a plan of at least ``LEVEL_LOOP_OPS``
  activations to apply (an op's, or each run's of a mixed op), its ops sparse, or dense ones small enough to join their level's sparse product (``joins_level_loop``:
  the kernel over their connections costs no more than their product plus the two numpy calls
  they save, at ``REFERENCE_BATCH``), runs as one loop over its levels instead of straight-line
  code. It makes the same
  numpy calls, and its Python loop adds well under a numpy call per op, while writing and
  compiling an op's straight-line code costs about 50 to 100 us, tens of runs of it at small
  batches: a plan built for one generation of genomes runs once.
- **packed-weight products** (codegen, with numba installed; ``nngraph.compiler.gemm``): BLAS
  copies a product's weights into blocks of its own on every call from 2 samples on,
  ``BLAS_COPY_NS`` per weight, then makes ``BLAS_MULTIPLY_ADD_NS`` per multiply-add, and the bias
  is a numpy pass of its own (``TARGET_NS`` per target and sample); the packed-weight product has
  its weights copied once, by its first call, and costs ``PACKED_CALL_NS`` per call plus
  ``PACKED_MULTIPLY_ADD_NS`` per multiply-add, its targets rounded up to a panel of two vectors
  (this CPU's, ``gemm.VECTOR_BYTES``) and its samples to a tile of ``gemm.COLUMNS``, and adds the
  bias as it writes its sums out (not counted: for a relu op it applies relu there too, a second
  pass saved). For one sample neither copies: both stream the weights, ``STREAM_NS`` each (the
  packed product its padded panels), so the packed product saves the bias pass and a numpy call.
  A dense op that reads one slice of columns uses it for the batches where it is expected to cost
  less (``packed_batches``), which the generated code tests: 784 x 512 weights from 1 sample on
  in float32 (its multiply-adds cost what OpenBLAS's do: up to ``PACKED_MAX_BATCH``), 512 x 512
  in float64 to about 100; an op of fewer targets than a panel holds (with AVX-512, 32 in float32
  and 16 in float64; half that with AVX2) never. Measured on AVX-512 (thread time, 784 x 512 and
  512 x 512 with relu): in float32 even with OpenBLAS's product alone at 256 to 4096 samples, 0.72
  to 0.8x it at 32; in float64 0.9x at 256, 1.03x at 1024, 1.5x at 4096 (its blocks of samples
  overflow the second-level cache). On AVX2 (an EPYC, 784-512-512-10's two relu layers with their
  bias and relu passes, thread time): OpenBLAS takes 3.9x (float32) and 5.7x (float64) as long
  for 2 samples as for 1, where it starts copying, and the packed product 0.3 to 0.4x OpenBLAS's
  time at 2 to 4 samples.
- **compiled softmax** (codegen, with numba installed; ``nngraph.compiler.activation_kernels``):
  numpy's in-place softmax makes ``SOFTMAX_CALLS`` calls, a few microseconds on a small block
  (at one sample of 784-512-512-10, more than its last product); one compiled pass costs
  ``SOFTMAX_CALL_NS`` plus ``SOFTMAX_KERNEL_NS`` per value, against numpy's ``SOFTMAX_NUMPY_NS``
  (its exp vectorised, so in float32 the pass costs more per value), so it runs batches up to where
  the two meet (``softmax_kernel_batch_limit``; at most ``SOFTMAX_MAX_BATCH``), which the generated
  code tests: 10 neurons up to 80 samples in float32, ``SOFTMAX_MAX_BATCH`` in float64.
- **lowering** (``nngraph.compiler.build_plan``): the graph path (schedule -> groups -> lower)
  costs a Python step per group, and a group per neuron where predecessor sets differ (a sparse
  DAG with skip connections, a NEAT-style genome): 12 to 41 us per connection, six to twenty times
  the time to build the graph. The array path (``graph_arrays`` -> ``lower_arrays``) reads each
  connection once and lowers in numpy calls per level, 0.5 to 1 us per connection whatever the
  shape. It makes what ``merge_levels`` makes of the groups (one op per level, a run per activation), each
  op sparse or dense, so it is taken when the passes ask for ``merge_levels`` and ``choose_kinds``
  (which then picks each op's kind as on the graph path), the graph has fewer than
  ``ARRAY_LOWERING_FAN_IN`` connections per neuron on average (the graph path's cost is per
  group, tens of microseconds, at worst one per neuron: from that fan-in on it is within the
  target, and its ``keeps_apart`` keeps large fully connected blocks of one level apart, which the
  array path merges) and it carries no layer records: a graph
  built layer by layer compiles fast on the graph path (a few large groups), and its convolutions
  and large fully connected layers need ``share_weights`` and ``keeps_apart``, which look at the
  graph path's groups; so do graphs whose weights repeat (``repeats_weights``: a convolution built
  neuron by neuron), found once the array path has read them. Small graphs take it too: a
  300-connection NEAT-style genome costs the graph path about 30 ms (a group per neuron, merged
  again by ``merge_levels``), the array path 2 to 3 ms; a small fully connected graph without
  layer records costs about a third more from arrays (1.45 against 1.12 ms at 300 connections).

The figures were measured on the project's 2-core machine (Python 3.11, numpy 2.4, OpenBLAS pinned
to one thread, float64): those of the products hold from batches of about 64 up, those of the
scalar code for one sample; those of the native kernel by timing it on the lesson's network, the
NEAT-style DAG of the benchmarks and 784-512-512-10 at batches 1 to 4096 (its figures per sample
retimed on the lesson's network and the NEAT-style DAG with its exp of its own and its sums in the
plan's precision: 0.43 ns per connection of the DAG in float32, 0.53 in float64; those of the
lesson's dense ops set where the kernel and the numpy pass meet, since from about 2000 samples the
kernel's rows leave the first-level cache; the numpy pass took 33 ns (lesson) and 2.6 us (DAG) per
sample in float32 there; on an AVX2 EPYC with a 512 KB second-level cache, between 1024 and 4096
samples, 37 and 64 ns (lesson, float32 and float64) and 3.3 and 7.1 us (DAG), against the kernel's
34 and 50 ns and 1.0 and 3.0 us, so the kernel is faster up to ``NATIVE_MAX_BATCH`` on both:
``ACTIVATION_NS`` is 4 ns, what makes the model say so), and its figure for a block at one sample on
128-256-256-10 and an
unrolled LSTM(32) of 20 steps (0.22 to 0.3 ns per connection). A recheck with ``timeit`` found a
numpy call on a small array at 0.4 to 1.8 us (900 ns is typical; the fused passes of the lesson's
network and the NEAT-style DAG at 8 samples take 1.0 to 1.1 us per call, with numpy 2.4) and a
multiply-add of a product at 0.03 (512 x 512) to 0.045 ns (40 x 20). The figures only rank choices, so being off by tens of per
cent moves a threshold, never a result: every choice computes the same numbers.

Each choice of codegen can be switched off by name with ``CodegenOptions``, to compare it or to
test the code without it: ``compile_network(G, options=CodegenOptions(scalar_code=False))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from nngraph.compiler.gemm import COLUMNS, VECTOR_BYTES
from nngraph.core.activations import resolve_activation
from nngraph.errors import CompileError
from nngraph.ir.plan import DENSE, SPARSE, FusedOp, Plan

# Fixed costs and costs per sample, in nanoseconds.
NUMPY_CALL_NS = 1000.0         # one numpy call on a small array (its fixed overhead)
MULTIPLY_ADD_NS = 0.04         # one multiply-add of a dense product (BLAS)
GATHER_NS = 0.18               # one source row copied out by a gather
CONNECTION_NS = 0.25           # one connection of the sparse kernel
TARGET_NS = 0.2                # one target's bias written
ACTIVATION_NS = 4.0            # one neuron's bias and activation in the fused numpy pass, per sample
SAMPLE_NS = 400.0              # calling the scalar code for one sample
SCALAR_CONNECTION_NS = 15.0    # one connection in scalar Python code
NEURON_NS = {"inline": 40.0, "call": 120.0, "softmax": 150.0}  # one neuron's activation, scalar
NATIVE_CALL_NS = 2000.0        # one call of the native kernel
NATIVE_CONNECTION_NS = 4.0     # one connection of the native kernel, per call (LSTM(32) at 2 samples: 4.2)
# One connection of the native kernel per sample, and one of a block (a dense op), by precision.
NATIVE_SAMPLE_NS = {np.dtype(np.float32): 0.5, np.dtype(np.float64): 0.55}
NATIVE_BLOCK_SAMPLE_NS = {np.dtype(np.float32): 0.43, np.dtype(np.float64): 0.43}
# The fused numpy pass's call beyond its numpy calls: its np.errstate (numpy 2's decorator, 0.6 to
# 0.9 us) and the Python around the pass (0.1 to 0.2 us); measured 0.9 to 1.2 us in all (best of
# 21 repeats, around a pass of no numpy calls, on a loaded machine). The native kernel needs none.
NUMPY_PASS_NS = 1000.0
NATIVE_BLOCK_NS = 0.3          # one connection of a block in the native kernel, one sample
# The numpy calls an activation's function makes, where more than one (counted from their code):
# the code calls it once, which is what ``numpy_calls`` counts.
ACTIVATION_CALLS = {"neat_sigmoid": 6, "neat_tanh": 4, "neat_sin": 4, "neat_gauss": 5, "neat_softplus": 7,
                    "neat_clamped": 2, "neat_inv": 5, "neat_log": 2, "neat_exp": 3, "neat_hat": 3,
                    "elu": 5, "selu": 6, "leaky_relu": 3, "exponential": 2}

OP_CALLS = 3                   # numpy calls of an op of its own: product, bias, activation
# By the size of a number (4: float32, 8: float64); BLAS is OpenBLAS, one thread.
BLAS_COPY_NS = {4: 0.24, 8: 0.5}               # BLAS's copy of a product's weights, per weight
BLAS_MULTIPLY_ADD_NS = {4: 0.014, 8: 0.03}     # one multiply-add of a BLAS product, weights copied
PACKED_MULTIPLY_ADD_NS = {4: 0.014, 8: 0.029}  # one multiply-add of the packed-weight product
# (float64: with AVX2 and one block of sources in ``_rows``, 784 x 512 and 512 x 512 took 0.90 to
# 0.97x BLAS's product with its bias and relu passes at 128 to 4096 samples; at 0.035 the model
# had kept BLAS from 106 samples on)
PACKED_CALL_NS = 1500.0        # one call of the packed-weight product (numba's dispatch, the samples' copy)
# One weight of a product of one sample, streamed from L3 (BLAS's matrix-vector product and the
# packed-weight product's alike: measured on 784 x 512 and 512 x 512, 0.067 to 0.076 ns in float32,
# 0.17 to 0.18 in float64, either way; since the packed product streams four panels at a time, it
# takes 0.84 to 0.90x that time with AVX2 over groups of four panels, which the model leaves out:
# it only weighs the padding streamed, and so errs towards BLAS).
STREAM_NS = {4: 0.07, 8: 0.17}
# Fewest weights of an op with fewer targets than a panel (but at least half) for the packed
# product: measured on 784-512-512-10's 512 x 10 softmax op (see ``packed_batches``); tiny ops (the
# lesson's 8-6-6-4) run in the native kernel or the scalar code at those batches anyway.
NARROW_MIN_WEIGHTS = 4096

# The in-place softmax: its numpy calls (a maximum, a subtraction, exp, a sum, a division), and
# by the size of a number its cost per value, numpy's and the compiled pass's (a scalar exp each),
# which costs ``SOFTMAX_CALL_NS`` per call (measured: 10 neurons x 1 to 4096 samples; numpy's
# calls took 7.7 to 8.7 us there, on a loaded machine).
SOFTMAX_CALLS = 5
SOFTMAX_NUMPY_NS = {4: 3.6, 8: 12.2}
SOFTMAX_KERNEL_NS = {4: 8.8, 8: 11.6}
SOFTMAX_CALL_NS = 800.0

# Limits.
REFERENCE_BATCH = 32           # the batch at which an op's fixed cost is weighed against its work
KEEP_APART = 4096              # fully connected ops this large are never merged
MAX_SHARED_BATCH = 1024        # shared products run batches up to this size at most
SCALAR_MAX_CONNECTIONS = 2048  # larger plans get no scalar code (its source would be long)
SCALAR_MAX_BATCH = 64          # scalar code runs batches up to this size at most
SCALAR_BESIDE_NATIVE_CONNECTIONS = 256  # beside the native kernel, larger plans get no scalar code
NATIVE_MAX_BATCH = 4096        # the native kernel runs batches up to this size at most
PACKED_MAX_BATCH = 4096        # the packed-weight product runs batches up to this size at most
SOFTMAX_MAX_BATCH = 4096       # the compiled softmax runs batches up to this size at most
LEVEL_LOOP_OPS = 32            # sparse plans applying this many activations run as the level loop
ARRAY_LOWERING_FAN_IN = 64  # graphs without layer records lower from arrays when their neurons have
                           # fewer connections than this on average


@dataclass(frozen=True)
class CodegenOptions:
    """The choices of codegen that can be switched off, each by its name (all on by default).

    Fields
    ------
    scalar_code : straight-line float code for small batches of a tiny float64 plan.
    shared_products : one gather and product for the gathering ops of a level, for small batches.
    in_place_activations : numpy's in-place forms for relu, tanh, sigmoid and softmax (otherwise
        each op calls the activation registry's function).
    native_kernel : the native kernel for small batches, where numba is installed.
    level_loop : a plan of many sparse ops as one loop over its levels (``nngraph.compiler.loop``).
    packed_products : the packed-weight product for wide dense ops, where numba is installed
        (``nngraph.compiler.gemm``).
    compiled_softmax : softmax in one compiled pass for small batches, where numba is installed
        and ``in_place_activations`` is on (``nngraph.compiler.activation_kernels``).

    Examples
    --------
    >>> import nngraph
    >>> from nngraph.demo import lesson_model
    >>> plan = nngraph.compile_network(lesson_model().graph,
    ...                                options=CodegenOptions(scalar_code=False, native_kernel=False))
    >>> plan.runner, plan.options.shared_products
    ('fused numpy', True)
    """

    scalar_code: bool = True
    shared_products: bool = True
    in_place_activations: bool = True
    native_kernel: bool = True
    level_loop: bool = True
    packed_products: bool = True
    compiled_softmax: bool = True

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            if not isinstance(value, bool):
                raise CompileError(f"codegen option {option.name} must be True or False, got {value!r}")


DEFAULT_OPTIONS = CodegenOptions()


def dense_cost(op: FusedOp, *, reads_slice: bool) -> float:
    """The dense product's expected nanoseconds per sample (see the module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import fused_op
    >>> op = fused_op(index=0, targets=["y0", "y1"], sources=["x0", "x1", "x2"], activation="linear",
    ...               weights=np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), bias=np.zeros(2), level=1)
    >>> round(dense_cost(op, reads_slice=False), 2), round(sparse_cost(op), 2)  # gathers 3 sources
    (1.04, 0.9)
    """
    return _dense_ns(*op.shape, reads_slice=reads_slice)


def _dense_ns(sources: int, targets: int, *, reads_slice: bool) -> float:
    if reads_slice:
        return MULTIPLY_ADD_NS * sources * targets + TARGET_NS * targets
    return GATHER_NS * (sources + 1) + MULTIPLY_ADD_NS * (sources + 1) * targets


def sparse_cost(op: FusedOp) -> float:
    """The sparse kernel's expected nanoseconds per sample (see the module doc; example at
    ``dense_cost``)."""
    return _sparse_ns(op.connections, len(op.targets))


def _sparse_ns(connections: int, targets: int) -> float:
    return CONNECTION_NS * connections + TARGET_NS * targets


def cheaper_kind(op: FusedOp, *, reads_slice: bool) -> str:
    """``"sparse"`` when the sparse kernel is expected to cost less per sample than the dense
    product, else ``"dense"`` (the rule of the ``choose_kinds`` pass; example at ``dense_cost``)."""
    return cheaper_kind_of(*op.shape, connections=op.connections, reads_slice=reads_slice)


def cheaper_kind_of(sources: int, targets: int, *, connections: int, reads_slice: bool) -> str:
    """``cheaper_kind`` of an op of ``sources`` x ``targets`` weights and ``connections``
    connections, told before the op is made (the array lowering makes each op once, of its kind).

    Examples
    --------
    >>> cheaper_kind_of(3, 2, connections=2, reads_slice=False)
    'sparse'
    >>> cheaper_kind_of(3, 2, connections=6, reads_slice=True)
    'dense'
    """
    sparse_ns = _sparse_ns(connections, targets)
    return SPARSE if sparse_ns < _dense_ns(sources, targets, reads_slice=reads_slice) else DENSE


def joins_level_loop(op: FusedOp, *, reads_slice: bool) -> bool:
    """Whether a dense op joins its level's sparse product in the level loop: when the sparse
    kernel over its connections is expected to cost at most the dense product plus the two numpy
    calls of its own it saves, weighed at ``REFERENCE_BATCH`` samples.

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import fused_op
    >>> def dense(n_sources, n_targets):
    ...     return fused_op(index=0, targets=range(n_targets), sources=range(n_sources),
    ...                     weights=np.ones((n_sources, n_targets)), bias=np.zeros(n_targets),
    ...                     activation="tanh", level=1)
    >>> joins_level_loop(dense(3, 2), reads_slice=True), joins_level_loop(dense(32, 32), reads_slice=True)
    (True, False)
    """
    saved = 2 * NUMPY_CALL_NS / REFERENCE_BATCH
    return sparse_cost(op) <= dense_cost(op, reads_slice=reads_slice) + saved


def shared_cost(*, positions: int, entries: int, filters: int) -> float:
    """The shared-weights op's expected nanoseconds per sample: gather every window, one product.

    Examples
    --------
    >>> shared_cost(positions=576, entries=25, filters=6)  # LeNet-5's first convolution
    6739.2
    """
    return (GATHER_NS * positions * entries + MULTIPLY_ADD_NS * positions * entries * filters
            + TARGET_NS * positions * filters)


def sharing_pays(*, positions: int, entries: int, filters: int, connections: int, sources: int) -> bool:
    """Whether one shared-weights op beats computing the same connections by a sparse or dense
    product, its numpy calls included (see the module doc).

    Examples
    --------
    >>> sharing_pays(positions=576, entries=25, filters=6, connections=86_400, sources=784)
    True
    >>> sharing_pays(positions=100, entries=1, filters=1, connections=100, sources=100)  # a scale
    False
    """
    targets = positions * filters
    apart = min(CONNECTION_NS * connections + TARGET_NS * targets,
                MULTIPLY_ADD_NS * sources * targets + TARGET_NS * targets)
    saved = apart - shared_cost(positions=positions, entries=entries, filters=filters)
    return saved * REFERENCE_BATCH > OP_CALLS * NUMPY_CALL_NS


def lowers_from_arrays(*, connections: int, neurons: int, layered: bool, passes: Sequence[str]) -> bool:
    """Whether ``build_plan`` lowers a graph of ``connections`` and ``neurons`` (computed ones) from
    arrays (see the module doc): ``layered`` says whether it carries layer records, ``passes`` are the passes asked for.

    Examples
    --------
    >>> both = ("merge_levels", "choose_kinds")
    >>> lowers_from_arrays(connections=100_000, neurons=30_000, layered=False, passes=both)
    True
    >>> lowers_from_arrays(connections=100_000, neurons=30_000, layered=True, passes=both)
    False
    >>> lowers_from_arrays(connections=100_000, neurons=1_000, layered=False, passes=both)  # fan-in 100
    False
    """
    return (connections < ARRAY_LOWERING_FAN_IN * neurons
            and not layered and "merge_levels" in passes and "choose_kinds" in passes)


def repeats_weights(weights: np.ndarray) -> bool:
    """Whether a graph's connection ``weights`` repeat enough that ``share_weights`` may find a
    kernel applied at many positions (a convolution built neuron by neuron, tied numbers): fewer
    distinct values than half the connections. The array path then gives way to the graph path.
    Counted over one sort (``np.unique`` without its fixed cost: about two thirds of it at 1e3
    connections); NaN never appears here (validation refused it).

    Examples
    --------
    >>> repeats_weights(np.tile([0.5, -1.0, 2.0], 100)), repeats_weights(np.arange(300.0))
    (True, False)
    """
    if len(weights) < 3:  # half of two connections or fewer is below one distinct value
        return False
    ordered = np.sort(weights)
    return (int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1) * 2 < len(weights)


def keeps_apart(op: FusedOp) -> bool:
    """Whether ``merge_levels`` leaves a fully connected op alone: it is large, and merging would
    only pad it with zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import fused_op
    >>> def square(n):
    ...     return fused_op(index=0, targets=range(n), sources=range(n), weights=np.ones((n, n)),
    ...                     bias=np.zeros(n), activation="relu", level=1)
    >>> keeps_apart(square(64)), keeps_apart(square(8))
    (True, False)
    """
    return op.density == 1.0 and op.shape[0] * op.shape[1] >= KEEP_APART


def shared_product_batch_limit(ops: Sequence[FusedOp], *, options: CodegenOptions) -> int:
    """Up to which batch size one shared product beats a product per op (0: never; see the
    module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import fused_op
    >>> ops = [fused_op(index=i, targets=[f"y{i}"], sources=[f"x{i}"], weights=np.ones((1, 1)),
    ...                 bias=np.zeros(1), activation="tanh", level=1) for i in range(2)]
    >>> shared_product_batch_limit(ops, options=CodegenOptions()), shared_product_batch_limit(
    ...     ops, options=CodegenOptions(shared_products=False))
    (1024, 0)
    """
    if len(ops) < 2 or not options.shared_products:
        return 0
    joint = (len({node for op in ops for node in op.sources}) + 1) * sum(len(op.targets) for op in ops)
    apart = sum((len(op.sources) + 1) * len(op.targets) for op in ops)
    saved = 2 * (len(ops) - 1) * NUMPY_CALL_NS
    return min(MAX_SHARED_BATCH, int(saved / (max(joint - apart, 1) * MULTIPLY_ADD_NS)))


def scalar_code_allowed(plan: Plan, *, options: CodegenOptions) -> bool:
    """Whether ``plan`` may get scalar code: switched on, float64, and small enough.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> plan = build_plan(lesson_model().graph)
    >>> scalar_code_allowed(plan, options=DEFAULT_OPTIONS), scalar_batch_limit(plan, numpy_calls=14)
    (True, 4)
    >>> scalar_code_allowed(plan, options=CodegenOptions(scalar_code=False))
    False
    """
    connections = sum(op.connections for op in plan.ops)
    return options.scalar_code and plan.dtype == np.float64 and connections <= SCALAR_MAX_CONNECTIONS


def scalar_code_pays(plan: Plan, *, native_kernel: bool) -> bool:
    """Whether scalar code is worth writing for ``plan`` (one ``scalar_code_allowed`` allows) when
    the native kernel runs it too (``native_kernel``) or not: beside the kernel, only for plans of
    at most ``SCALAR_BESIDE_NATIVE_CONNECTIONS`` connections.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> plan = build_plan(lesson_model().graph)  # 108 connections
    >>> scalar_code_pays(plan, native_kernel=True), scalar_code_pays(plan, native_kernel=False)
    (True, True)
    """
    return not native_kernel or sum(op.connections for op in plan.ops) <= SCALAR_BESIDE_NATIVE_CONNECTIONS


def scalar_batch_limit(plan: Plan, *, numpy_calls: int) -> int:
    """Up to how many samples the scalar code is expected to beat ``numpy_calls`` numpy calls
    (example at ``scalar_code_allowed``)."""
    per_sample = SAMPLE_NS + SCALAR_CONNECTION_NS * sum(op.connections for op in plan.ops)
    for op in plan.ops:
        for name, start, stop in op.activation_runs():
            kind = resolve_activation(name).kind
            cost = "softmax" if kind == "softmax" else "call" if kind in ("tanh", "sigmoid") else "inline"
            per_sample += NEURON_NS[cost] * (stop - start)
    return min(SCALAR_MAX_BATCH, int(NUMPY_CALL_NS * numpy_calls // per_sample))


def native_batch_limit(plan: Plan, *, numpy_calls: int, options: CodegenOptions) -> int:
    """Up to how many samples the native kernel is expected to beat the fused numpy pass of
    ``numpy_calls`` calls (0: never, or switched off; whether the kernel exists at all is
    ``nngraph.compiler.native``'s to say).

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> plan = build_plan(lesson_model().graph)
    >>> native_batch_limit(plan, numpy_calls=14, options=DEFAULT_OPTIONS)
    4096
    >>> native_batch_limit(plan, numpy_calls=14, options=CodegenOptions(native_kernel=False))
    0
    """
    if not options.native_kernel:
        return 0
    connections = sum(op.connections for op in plan.ops)
    blocks = sum(op.connections for op in plan.ops if op.kind == DENSE and not op.padded)
    numpy_fixed = NUMPY_PASS_NS + NUMPY_CALL_NS * (numpy_calls + activation_calls(plan))
    numpy_per_sample = sum(dense_cost(op, reads_slice=plan.reads_slice(op)) if op.kind == DENSE else
                           sparse_cost(op) for op in plan.ops)
    numpy_per_sample += ACTIVATION_NS * sum(len(op.targets) for op in plan.ops)
    native_fixed = NATIVE_CALL_NS + NATIVE_CONNECTION_NS * connections
    native_per_sample = (NATIVE_SAMPLE_NS[plan.dtype] * (connections - blocks)
                         + NATIVE_BLOCK_SAMPLE_NS[plan.dtype] * blocks)
    one_sample = NATIVE_CALL_NS + NATIVE_CONNECTION_NS * (connections - blocks) + NATIVE_BLOCK_NS * blocks
    at_least = 1 if one_sample < numpy_fixed + numpy_per_sample else 0
    if native_fixed >= numpy_fixed:
        return at_least
    if native_per_sample <= numpy_per_sample:
        return NATIVE_MAX_BATCH
    return max(at_least, min(NATIVE_MAX_BATCH,
                             int((numpy_fixed - native_fixed) / (native_per_sample - numpy_per_sample))))


def activation_calls(plan: Plan) -> int:
    """The numpy calls ``plan``'s activation functions make beyond the one call of each that its
    code makes (``ACTIVATION_CALLS``): each run of an op's activation is one call in the code.

    Examples
    --------
    >>> from nngraph.compiler import build_plan
    >>> from nngraph.demo import lesson_model
    >>> activation_calls(build_plan(lesson_model().graph))  # relu and softmax: one call each
    0
    """
    return sum(ACTIVATION_CALLS.get(resolve_activation(name).kind, 1) - 1
               for op in plan.ops for name, _, _ in op.activation_runs())


def packed_batches(op: FusedOp, *, dtype: np.dtype, options: CodegenOptions) -> range:
    """The batch sizes for which the packed-weight product is expected to beat BLAS on ``op``, a
    dense op reading one slice of columns: a run from 1 (or from 2, where streaming the padding of
    its panels costs more than the numpy calls saved at one sample) up to a limit; empty for
    never (under half a panel of targets, or under a panel with fewer than ``NARROW_MIN_WEIGHTS``
    weights, or where even 2 samples would not pay), or when switched off (whether the product
    exists at all is ``nngraph.compiler.gemm``'s to say).

    Examples
    --------
    >>> import numpy as np
    >>> from nngraph.ir.plan import fused_op
    >>> def op(sources, targets):
    ...     return fused_op(index=0, targets=range(targets), sources=range(sources), activation="relu",
    ...                     weights=np.ones((sources, targets)), bias=np.zeros(targets), level=1)
    >>> float32, float64 = np.dtype(np.float32), np.dtype(np.float64)
    >>> packed_batches(op(784, 512), dtype=float32, options=DEFAULT_OPTIONS)
    range(1, 4097)
    >>> packed_batches(op(784, 512), dtype=float64, options=DEFAULT_OPTIONS)
    range(1, 4097)
    >>> panel = 2 * VECTOR_BYTES // 4  # float32 targets a panel: 16 with AVX2
    >>> narrow = panel * 5 // 8  # over half a panel (10 with AVX2: 784-512-512-10's last op)
    >>> packed_batches(op(512, narrow), dtype=float32, options=DEFAULT_OPTIONS).start
    1
    >>> packed_batches(op(24, narrow), dtype=float32, options=DEFAULT_OPTIONS)  # too few weights
    range(1, 1)
    >>> packed_batches(op(512, panel // 2 - 1), dtype=float32, options=DEFAULT_OPTIONS)  # mostly padding
    range(1, 1)
    >>> packed_batches(op(784, 512), dtype=float32, options=CodegenOptions(packed_products=False))
    range(1, 1)
    """
    size = np.dtype(dtype).itemsize
    if not options.packed_products or size not in PACKED_MULTIPLY_ADD_NS:
        return range(1, 1)
    sources, targets = op.shape
    panel = 2 * VECTOR_BYTES // size  # the packed-weight product's panel: two of this CPU's vectors
    if targets < panel // 2 or (targets < panel and sources * targets < NARROW_MIN_WEIGHTS):
        return range(1, 1)  # most of every panel would be padding, or a narrow op too small to pay
    weights, padded = sources * targets, sources * -(-targets // panel) * panel

    def saved(batch: int) -> float:  # BLAS and the bias pass's expected time minus the packed product's
        if batch == 1:  # both stream the weights once (BLAS multiplies a vector without a copy)
            return 2 * NUMPY_CALL_NS + TARGET_NS * targets + STREAM_NS[size] * (weights - padded) - PACKED_CALL_NS
        blas = (2 * NUMPY_CALL_NS + BLAS_COPY_NS[size] * weights
                + (BLAS_MULTIPLY_ADD_NS[size] * weights + TARGET_NS * targets) * batch)
        packed = PACKED_CALL_NS + PACKED_MULTIPLY_ADD_NS[size] * padded * -(-batch // COLUMNS) * COLUMNS
        return blas - packed

    # A narrow op (half a panel to one: 784-512-512-10's 512 x 10 softmax op) as any other: at one
    # sample the packed product took 0.77 to 0.82x the time of BLAS's product and the bias pass
    # (512 x 10 float32, 1024 x 5 float64), and at 4 to 40 float32 samples, inside the plan, it
    # made the whole call 0.79 to 0.94x as long.
    first = 1 if saved(1) > 0 else 2
    if saved(2) <= 0:
        return range(1, 2) if first == 1 else range(1, 1)
    # per sample, from 2 samples on
    extra = PACKED_MULTIPLY_ADD_NS[size] * padded - BLAS_MULTIPLY_ADD_NS[size] * weights - TARGET_NS * targets
    fixed = 2 * NUMPY_CALL_NS + BLAS_COPY_NS[size] * weights - PACKED_CALL_NS
    last = PACKED_MAX_BATCH if extra <= 0 else max(COLUMNS, min(PACKED_MAX_BATCH, int(fixed / extra)))
    return range(first, last + 1)


def softmax_kernel_batch_limit(neurons: int, *, dtype: np.dtype, options: CodegenOptions) -> int:
    """Up to how many samples the compiled softmax is expected to beat numpy's in-place form over
    ``neurons`` neurons (0: never, or switched off; whether numba is there is the caller's to say):
    it saves ``SOFTMAX_CALLS`` numpy calls for one of its own, and in float32 costs more per value
    (numpy's exp is vectorised).

    Examples
    --------
    >>> float32, float64 = np.dtype(np.float32), np.dtype(np.float64)
    >>> softmax_kernel_batch_limit(10, dtype=float32, options=DEFAULT_OPTIONS)
    80
    >>> softmax_kernel_batch_limit(10, dtype=float64, options=DEFAULT_OPTIONS)
    4096
    >>> softmax_kernel_batch_limit(10, dtype=float32, options=CodegenOptions(compiled_softmax=False))
    0
    """
    size = np.dtype(dtype).itemsize
    if not (options.compiled_softmax and options.in_place_activations) or size not in SOFTMAX_NUMPY_NS:
        return 0
    saved = SOFTMAX_CALLS * NUMPY_CALL_NS - SOFTMAX_CALL_NS
    extra = (SOFTMAX_KERNEL_NS[size] - SOFTMAX_NUMPY_NS[size]) * neurons
    return SOFTMAX_MAX_BATCH if extra <= 0 else min(SOFTMAX_MAX_BATCH, int(saved / extra))
