"""Benchmark: the shipped MNIST network through its generated RTL, bit-exact against the golden
model, on Verilator with 1 and 2 worker processes sharing one build, and on Icarus.

1. Verilator: generate the harness view (``--level-bits``, default 1: a binary pair's read only
   depends on which device is more resistive, so 1-bit device codes behave as 4-bit ones), build it
   once (timed), then run ``--count`` images with ``--workers 1`` and with 2 workers (dask
   LocalCluster; each batch boots the chip from the same programming image). Every class and
   popcount is checked against the golden model in every batch. Prints images/s over the whole
   run phase (boots and read-back included) and the 2-worker speed-up against 1 worker measured
   in this same run; with ``--count 10000`` (the whole MNIST test set, from ``--images`` or
   ``hwgen images``) also the end-to-end time, build included.
2. Icarus: the same network, ``--icarus-count`` images: compile, boot and run times, images/s.

    python bench/bench_rtl.py [--count 2000] [--images mnist_test.npz] [--icarus-count 4] [--no-icarus]

The machine's load changes every number here: run it on a quiet machine (``uptime`` is printed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hwgen.data import MODELS_DIR, default_data_dir, load_fixture, load_images, load_split, write_images
from hwgen.farm import Farm
from hwgen.generate import generate_network
from hwgen.ir import Network
from hwgen.netplan import plan_network
from hwgen.verify import build_view, run_network_regression
from hwgen.verify.regression import run_network_regression_farm


def quiet(*_):
    pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODELS_DIR / "mnist_bnn.npz")
    ap.add_argument("--count", type=int, default=10000, help="images per Verilator run (at most the image set's)")
    ap.add_argument("--images", type=Path, default=None,
                    help="image set .npz (default: the MNIST test set when found, else the shipped 1000-image slice)")
    ap.add_argument("--level-bits", type=int, default=1)
    ap.add_argument("--ber", type=float, default=1e-2)
    ap.add_argument("--icarus-count", type=int, default=4)
    ap.add_argument("--no-icarus", action="store_true")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (the first is the baseline)")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    net = Network.load(args.model)
    with tempfile.TemporaryDirectory(prefix="hwgen_bench_rtl_") as tmp:
        if args.images is None:
            data_dir = default_data_dir("mnist")
            split = load_split("test", data_dir) if data_dir else load_fixture()
            args.images = write_images(split, Path(tmp) / "images.npz")
            print(f"images: {len(split.labels)} from {data_dir or 'the shipped slice'}")
        args.count = min(args.count, len(load_images(args.images).labels))
        t = time.perf_counter()
        manifest = generate_network(net, plan_network(net, 32, level_bits=args.level_bits), Path(tmp) / "rtl",
                                    views=("harness",))
        t_gen = time.perf_counter() - t
        print(f"generated {args.model.name} harness (n=32, level_bits={args.level_bits}) in {t_gen:.1f} s; "
              f"{manifest.timing['cycles_per_inference']} cycles per inference, one every "
              f"{manifest.timing['initiation_interval']}; boot {manifest.program['layout']['depth'] - 1} records")
        t = time.perf_counter()
        built = build_view(manifest, "harness", "verilator", Path(tmp) / "build_verilator")
        t_build = time.perf_counter() - t
        print(f"Verilator build: {t_build:.1f} s")
        rows = []
        for workers in [int(w) for w in args.workers.split(",")]:
            t = time.perf_counter()
            if workers == 1:
                r = run_network_regression(manifest, "verilator", ber=args.ber, seed=1, count=args.count,
                                           images=args.images, build=built, log=quiet)
            else:
                with Farm(None, workers) as farm:
                    r = run_network_regression_farm(manifest, "verilator", farm, ber=args.ber, seed=1,
                                                    count=args.count, images=args.images, build=built, log=quiet)
            wall = time.perf_counter() - t
            rows.append((workers, wall, args.count / wall, r["accuracy"]))
            base = rows[0][2]
            print(f"Verilator, {workers} worker(s): {args.count} images in {wall:.1f} s = {args.count / wall:.1f} "
                  f"images/s (x{args.count / wall / base:.2f} vs {rows[0][0]} worker), RTL accuracy "
                  f"{100 * r['accuracy']:.2f}%, bit-exact; {r['injected_errors']} device errors at BER {args.ber:g}")
        best = min(rows, key=lambda row: row[1])
        print(f"end to end ({best[0]} workers): generate {t_gen:.1f} s + build {t_build:.1f} s + {args.count} images "
              f"{best[1]:.1f} s = {t_gen + t_build + best[1]:.1f} s")
        if args.no_icarus:
            return
        t = time.perf_counter()
        built = build_view(manifest, "harness", "icarus", Path(tmp) / "build_icarus")
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        r = run_network_regression(manifest, "icarus", ber=args.ber, seed=1, count=args.icarus_count, build=built,
                                   log=quiet)
        wall = time.perf_counter() - t
        print(f"Icarus: compile {t_build:.1f} s; {args.icarus_count} images in {wall:.1f} s "
              f"(boot {r['boot_cycles']} cycles included) = {args.icarus_count / wall:.3f} images/s; images alone "
              f"{r['inferences_per_s']:.2f} images/s ({r['sim_cycles_per_s']:.0f} cycles/s); bit-exact")


if __name__ == "__main__":
    main()
