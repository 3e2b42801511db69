"""Benchmark: the Fig. 9 sweep (accuracy vs weight BER) on the bit-packed golden model, against
torch float32 eval of the same network, images/s, both measured in this process.

Full size by default: 10k MNIST test images x 11 BER points x 5 repeats (BER 0 once).

    python bench/bench_sweep.py [--model models/mnist_bnn.npz] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_fixture, load_split
from hwgen.ir import Network
from hwgen.study.sweep import PAPER_BERS, run_sweep
from hwgen.train.export import load_checkpoint
from hwgen.train.loop import predict


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(MODELS_DIR / "mnist_bnn.npz"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    net = Network.load(args.model)
    data_dir = default_data_dir("mnist")
    split = load_split("test", data_dir) if data_dir else load_fixture()
    bits = binarize(split.images, net.metadata["input_threshold"])
    torch.set_num_threads(2)
    model = load_checkpoint(args.model.replace(".npz", ".pt"))
    t = time.perf_counter()
    predict(model, bits)
    torch_rate = len(bits) / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        r = run_sweep({"standard": net}, bits, split.labels, tmp, PAPER_BERS, args.repeats, seed=0, log=lambda *_: None)
    rate = r["images"] / r["seconds"]
    print(f"torch float32 eval (no errors) : {torch_rate:9.0f} images/s (baseline)")
    print(f"golden sweep (errors XOR-ed)    : {rate:9.0f} images/s  ratio {rate / torch_rate:.2f}x torch")
    print(f"full sweep: {len(bits)} images x {len(PAPER_BERS)} BERs x {args.repeats} repeats "
          f"= {r['images']} inferences in {r['seconds']:.1f} s")


if __name__ == "__main__":
    main()
