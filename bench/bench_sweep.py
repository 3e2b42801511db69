"""Benchmark: the Fig. 9 sweep (accuracy vs weight BER) on the bit-packed golden model, against
torch float32 eval of the same network (``torch.set_num_threads(2)``), all measured in this
process.

Full size by default: 10k MNIST test images x 11 BER points x 5 repeats (BER 0 once: 51 points).
Prints torch's images/s, the old numpy golden path's and the numba golden model's on one error
point (best of ``--timing-repeats``), their ratios, the whole sweep's seconds and where they went
(inference, error-map sampling, packing the maps). Torch and the golden model must predict the
same classes (error-free), the numpy and numba paths the same popcounts (with errors).
``--numpy-sweep`` also runs the whole sweep on the old numpy path.

    python bench/bench_sweep.py [--model models/mnist_bnn.npz] [--repeats 5] [--numpy-sweep]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import hwgen.study.sweep as sweep
from bench_network import best_of, first_call_seconds, load_benchmark, numpy_network_forward
from hwgen.data import MODELS_DIR
from hwgen.device import network_error_maps
from hwgen.golden import network_forward
from hwgen.ir import pack_bits
from hwgen.study.sweep import PAPER_BERS, point_seed, run_sweep
from hwgen.train.loop import predict


@contextlib.contextmanager
def timed(module, names, totals: dict):
    """Wrap ``module.<name>`` for each name with a timer adding up into ``totals[name]``."""
    saved = {name: getattr(module, name) for name in names if hasattr(module, name)}

    def wrap(name, fn):
        def timed_fn(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - t
        return timed_fn

    for name, fn in saved.items():
        setattr(module, name, wrap(name, fn))
    try:
        yield totals
    finally:
        for name, fn in saved.items():
            setattr(module, name, fn)


def timed_sweep(net, bits, labels, repeats, forward=None):
    """run_sweep with timers on its parts; ``forward`` replaces the golden network_forward."""
    totals = {}
    kernel = sweep.network_forward
    if forward is not None:
        sweep.network_forward = forward
    try:
        with tempfile.TemporaryDirectory() as tmp, timed(sweep, ["network_forward", "network_error_maps", "pack_bits"],
                                                         totals):
            r = run_sweep({"standard": net}, bits, labels, tmp, PAPER_BERS, repeats, seed=0, progress=False,
                          log=lambda *_: None)
    finally:
        sweep.network_forward = kernel
    return r, totals


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODELS_DIR / "mnist_bnn.npz")
    ap.add_argument("--repeats", type=int, default=5, help="sweep repeats per BER point")
    ap.add_argument("--timing-repeats", type=int, default=5, help="rounds of the one-point speed comparison")
    ap.add_argument("--numpy-sweep", action="store_true", help="also run the whole sweep on the old numpy path")
    args = ap.parse_args(argv)
    net, model, bits, split = load_benchmark(args.model)
    torch.set_num_threads(2)
    print(f"numba golden first call: {first_call_seconds(net, bits):.2f} s (JIT compile, or load from numba's cache)")

    # one error point of the sweep (BER 1e-2, repeat 0), every path on the same maps
    b = PAPER_BERS.index(1e-2)
    maps = [pack_bits(m) for m in network_error_maps(net, PAPER_BERS[b], point_seed(0, b, 0))]
    runs = best_of({"torch": lambda: predict(model, bits)[0],
                    "numpy": lambda: numpy_network_forward(net, bits, maps)[1],
                    "numba": lambda: network_forward(net, bits, maps)[1]}, args.timing_repeats)
    assert np.array_equal(runs["numpy"][1], runs["numba"][1]), "numpy and numba golden disagree"
    assert np.array_equal(runs["torch"][1], network_forward(net, bits)[0]), "golden and torch disagree"
    rate = {k: len(bits) / runs[k][0] for k in runs}
    print(f"torch float32 eval (no errors)     : {rate['torch']:9.0f} images/s (baseline, 2 threads)")
    for name, label in (("numpy", "golden numpy (old), one error point"),
                        ("numba", "golden numba,       one error point")):
        print(f"{label}: {rate[name]:9.0f} images/s  ratio {rate[name] / rate['torch']:6.2f}x torch")
    print(f"numba / numpy: {rate['numba'] / rate['numpy']:.1f}x")

    for name, forward in [("numba", None)] + ([("numpy (old)", numpy_network_forward)] if args.numpy_sweep else []):
        r, parts = timed_sweep(net, bits, split.labels, args.repeats, forward)
        sweep_rate = r["images"] / r["seconds"]
        rest = r["seconds"] - sum(parts.values())
        print(f"full sweep on golden {name}: {len(bits)} images x {len(PAPER_BERS)} BERs x {args.repeats} repeats "
              f"= {r['images']} inferences in {r['seconds']:.2f} s ({sweep_rate:.0f} images/s, "
              f"{sweep_rate / rate['torch']:.2f}x torch)")
        print(f"  inference {parts.get('network_forward', 0):.2f} s, error-map sampling "
              f"{parts.get('network_error_maps', 0):.2f} s, packing the maps {parts.get('pack_bits', 0):.2f} s, "
              f"rest {rest:.2f} s")


if __name__ == "__main__":
    main()
