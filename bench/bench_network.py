"""Benchmark: whole-network inference speed.

1. Golden model against torch float32 eval of the same network (``torch.set_num_threads(2)``),
   images/s, measured in this same process on the same images (the MNIST test set when found,
   else the shipped 1000-image slice), best of ``--repeats`` interleaved rounds:
   - the numba golden model (:mod:`hwgen.golden`: fused XOR-popcount kernel, all dense layers of
     an image in one call);
   - the old numpy golden path, kept here only as the baseline (``np.bitwise_count`` per packed
     word on a thread pool, layer by layer: :func:`numpy_network_forward`).
   Torch and both golden paths must predict the same classes (the golden paths: same popcounts).
   A conv network (``--model models/mnist_conv.npz``) is also run with its conv layers pooled after
   their whole popcount array, as the golden model did before it pooled block by block: the ratio.
2. RTL: inferences/s of the generated network on Verilator (batch harness, run phase only, every
   result checked against the golden model), against the golden model's images/s.

    python bench/bench_network.py [--model models/mnist_bnn.npz] [--rtl-images 200] [--no-rtl]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from hwgen import golden
from hwgen.bitpack import words_for
from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_fixture, load_split
from hwgen.golden import network_forward
from hwgen.ir import Network
from hwgen.train.export import load_checkpoint
from hwgen.train.loop import predict

# -- the old numpy golden path: the baseline (hwgen.golden itself has only the numba kernel) -----

CHUNK = 128          # images per block: keeps the (chunk x outputs) temporaries in cache
_POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="numpy-golden")


def _mismatches(weights, x_packed, nonzero=None):
    acc = np.zeros((x_packed.shape[0], weights.shape[0]), dtype=np.uint16)
    for k in range(weights.shape[1]):   # one word at a time keeps memory at chunk x O
        diff = x_packed[:, k, None] ^ weights[None, :, k]
        acc += np.bitwise_count(diff if nonzero is None else diff & nonzero[None, :, k])
    return acc


def numpy_popcounts(weights, x_packed, n_inputs, nonzero=None):
    """golden.popcounts as it was before the numba kernel (same contract)."""
    weights = np.asarray(weights, dtype=np.uint64)
    x_packed = np.asarray(x_packed, dtype=np.uint64)
    if x_packed.ndim == 1:
        x_packed = x_packed[None, :]
    if weights.shape[1] != x_packed.shape[1] or weights.shape[1] != words_for(n_inputs):
        raise ValueError(f"packed widths differ: weights {weights.shape}, inputs {x_packed.shape}, {n_inputs} inputs")
    starts = range(0, x_packed.shape[0], CHUNK)
    if len(starts) <= 1:
        mismatches = _mismatches(weights, x_packed, nonzero)
    else:
        mismatches = np.concatenate(list(_POOL.map(lambda s: _mismatches(weights, x_packed[s:s + CHUNK], nonzero),
                                                   starts)))
    if nonzero is None:
        return n_inputs - mismatches.astype(np.int64)
    nonzeros = np.bitwise_count(np.asarray(nonzero, dtype=np.uint64)).sum(axis=1, dtype=np.int64)
    return nonzeros[None, :] - 2 * mismatches.astype(np.int64)


@contextlib.contextmanager
def numpy_popcounts_in_golden():
    """Swap the numpy popcounts into hwgen.golden (layer_forward and conv_popcounts look the
    name up at every call) for the duration of the block."""
    kernel = golden.popcounts
    golden.popcounts = numpy_popcounts
    try:
        yield
    finally:
        golden.popcounts = kernel


def numpy_network_forward(network, x_bits, error_maps=None):
    """network_forward as it was: layer_forward layer by layer on the numpy popcounts."""
    x = np.atleast_2d(np.asarray(x_bits))
    activations, pc = [], None
    with numpy_popcounts_in_golden():
        for k, layer in enumerate(network.layers):
            acts, pc = golden.layer_forward(layer, x, None if error_maps is None else error_maps[k])
            if layer.output == "sign":
                activations.append(acts)
            x = acts
    return pc.argmax(axis=1), pc, activations


def whole_array_conv_forward(layer, x_bits, error_map=None, form="max"):
    """golden.conv_forward as it was before it pooled block by block: the whole (B, positions,
    C_out) popcount array first, then the pooling (the baseline of a conv network's run)."""
    g = layer.geometry()
    pcs = golden.conv_popcounts(layer, x_bits, error_map).reshape(len(np.atleast_2d(x_bits)), g.pooled, g.window,
                                                                  g.C_out)
    pooled = pcs.max(axis=2)
    acts = pooled >= layer.thresholds
    return acts.reshape(len(acts), -1).astype(np.uint8), pooled.reshape(len(pooled), -1)


@contextlib.contextmanager
def whole_array_conv():
    saved = golden.conv_forward
    golden.conv_forward = whole_array_conv_forward
    try:
        yield
    finally:
        golden.conv_forward = saved


def whole_array_network_forward(network, x_bits):
    with whole_array_conv():
        return network_forward(network, x_bits)


# -- measuring ------------------------------------------------------------------------------------

def best_of(fns: dict, repeats: int) -> dict:
    """``{name: (best seconds, last result)}``; the functions run in interleaved rounds, so a
    change of machine load hits all of them alike."""
    best = {name: (float("inf"), None) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            out = fn()
            best[name] = (min(best[name][0], time.perf_counter() - t), out)
    return best


def first_call_seconds(net: Network, bits: np.ndarray) -> float:
    """The numba kernel's first call in this process: a JIT compile, or a load from numba's cache."""
    t = time.perf_counter()
    network_forward(net, bits[:4])
    return time.perf_counter() - t


def load_benchmark(model: Path):
    """``(network, torch model, input bits, split)``: the MNIST test set when found, else the
    shipped slice."""
    net = Network.load(model)
    data_dir = default_data_dir("mnist")
    split = load_split("test", data_dir) if data_dir else load_fixture()
    bits = binarize(split.images, net.metadata["input_threshold"])
    return net, load_checkpoint(Path(model).with_suffix(".pt")), bits, split


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODELS_DIR / "mnist_bnn.npz")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rtl-images", type=int, default=200)
    ap.add_argument("--no-rtl", action="store_true")
    args = ap.parse_args(argv)

    net, model, bits, _ = load_benchmark(args.model)
    torch.set_num_threads(2)
    print(f"{len(bits)} images, network {'-'.join(str(l.n_inputs) for l in net.layers)}-{net.layers[-1].n_outputs}")
    print(f"numba golden first call: {first_call_seconds(net, bits):.2f} s (JIT compile, or load from numba's cache)")
    fns = {"torch": lambda: predict(model, bits)[0],
           "numpy": lambda: numpy_network_forward(net, bits)[:2],
           "numba": lambda: network_forward(net, bits)[:2]}
    conv = any(layer.is_conv for layer in net.layers)
    if conv:
        fns["whole"] = lambda: whole_array_network_forward(net, bits)[:2]
    runs = best_of(fns, args.repeats)
    torch_pred, (numpy_pred, numpy_pc), (golden_pred, golden_pc) = (runs[k][1] for k in ("torch", "numpy", "numba"))
    assert np.array_equal(torch_pred, golden_pred), "golden and torch disagree"
    assert np.array_equal(numpy_pc, golden_pc) and np.array_equal(numpy_pred, golden_pred), "numpy and numba disagree"
    rate_torch, rate_numpy, rate_golden = (len(bits) / runs[k][0] for k in ("torch", "numpy", "numba"))
    print(f"torch float32 eval : {rate_torch:10.0f} images/s (baseline, 2 threads)")
    print(f"golden numpy (old) : {rate_numpy:10.0f} images/s  ratio {rate_numpy / rate_torch:6.2f}x torch")
    print(f"golden numba       : {rate_golden:10.0f} images/s  ratio {rate_golden / rate_torch:6.2f}x torch "
          f"({rate_golden / rate_numpy:.1f}x numpy); predictions equal torch's on all {len(bits)} images")
    if conv:
        whole_pred, whole_pc = runs["whole"][1]
        assert np.array_equal(whole_pc, golden_pc) and np.array_equal(whole_pred, golden_pred)
        rate_whole = len(bits) / runs["whole"][0]
        print(f"golden numba, conv pooled after the whole popcount array (before): {rate_whole:10.0f} images/s; "
              f"pooled block by block (now): {rate_golden / rate_whole:.2f}x")
    if args.no_rtl:
        return
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network
    from hwgen.verify import build_view, run_network_regression

    with tempfile.TemporaryDirectory(prefix="hwgen_bench_net_") as tmp:
        design = Path(tmp) / "rtl"
        t = time.perf_counter()
        manifest = generate_network(net, plan_network(net, 32), design, views=("harness",))
        t_gen = time.perf_counter() - t
        t = time.perf_counter()
        built = build_view(manifest, "harness", "verilator", Path(tmp) / "build")
        t_build = time.perf_counter() - t
        r = run_network_regression(manifest, "verilator", ber=0.0, seed=1, count=args.rtl_images, build=built,
                                   log=lambda *_: None)
    print(f"RTL on Verilator   : {r['inferences_per_s']:10.0f} inferences/s  ratio {r['inferences_per_s'] / rate_golden:.2e}x "
          f"golden ({r['sim_cycles_per_s']:.0f} simulated cycles/s; {r['cycles_per_inference']} cycles/inference, "
          f"one every {r['initiation_interval']}; generation {t_gen:.0f} s, build {t_build:.0f} s, "
          f"boot {r['boot_cycles']} cycles)")


if __name__ == "__main__":
    main()
