"""Benchmark: whole-network inference speed.

1. Golden model (bit-packed numpy: XOR + ``np.bitwise_count``) against torch float32 eval of the
   same network, images/s, measured in this same process on the same images (the MNIST test set
   when found, else the shipped 1000-image slice); the two must predict the same classes.
2. RTL: inferences/s of the generated network on Verilator (batch harness, run phase only, every
   result checked against the golden model), against the golden model's images/s.

    python bench/bench_network.py [--model models/mnist_bnn.npz] [--rtl-images 200] [--no-rtl]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_fixture, load_split
from hwgen.golden import network_forward
from hwgen.ir import Network
from hwgen.train.export import load_checkpoint
from hwgen.train.loop import predict


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODELS_DIR / "mnist_bnn.npz")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rtl-images", type=int, default=200)
    ap.add_argument("--no-rtl", action="store_true")
    args = ap.parse_args(argv)

    net = Network.load(args.model)
    model = load_checkpoint(args.model.with_suffix(".pt"))
    data_dir = default_data_dir("mnist")
    split = load_split("test", data_dir) if data_dir else load_fixture()
    bits = binarize(split.images, net.metadata["input_threshold"])
    torch.set_num_threads(2)
    print(f"{len(bits)} images, network {'-'.join(str(l.n_inputs) for l in net.layers)}-{net.layers[-1].n_outputs}")
    t_torch, (torch_pred, _) = best_of(lambda: predict(model, bits), args.repeats)
    t_golden, (golden_pred, _, _) = best_of(lambda: network_forward(net, bits), args.repeats)
    assert np.array_equal(torch_pred, golden_pred), "golden and torch disagree"
    rate_torch, rate_golden = len(bits) / t_torch, len(bits) / t_golden
    print(f"torch float32 eval : {rate_torch:10.0f} images/s (baseline)")
    print(f"golden bit-packed  : {rate_golden:10.0f} images/s  ratio {rate_golden / rate_torch:.2f}x torch")
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
