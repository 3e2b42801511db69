"""Benchmark: synthesis that keeps the hierarchy (what ``hwgen synth`` does) against one that
flattens the design before Yosys's fine steps and ABC (``synthesize(..., flatten=True)``), on the
same macro view, platform and clock: area (Yosys ``stat -liberty``, without the weight macros),
flip-flops, clock gates, fmax (OpenSTA) and synthesis time, each as a ratio against the
hierarchical run of this process; on the characterisation networks also the flat gate-level energy
per image (the same real-image trace replayed into each netlist; the MNIST network is too big for a
flat replay).

    python bench/bench_flatten.py                       # 121-64-10 and 784-64-10, n=32 (about 5 min)
    python bench/bench_flatten.py --mnist               # the shipped MNIST network (area, fmax: about 20 min)
    python bench/bench_flatten.py --platform nangate45
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hwgen.flow.tally import summarize
from hwgen.flow.flatenergy import gate_level_run
from hwgen.flow.platform import get_platform
from hwgen.flow.sta import run_sta
from hwgen.flow.synth import synthesize
from hwgen.generate import generate_network
from hwgen.netplan import plan_network


def measure(net, label, plat, period, count, energy, tmp: Path):
    manifest = generate_network(net, plan_network(net, n=32), tmp / label / "design", views=("macro",))
    rows = []
    for flatten in (False, True):
        tag = "flat" if flatten else "hier"
        t0 = time.perf_counter()
        r = synthesize(manifest, plat, "macro", period, out_dir=tmp / label / tag / "synth", flatten=flatten,
                       log=lambda *a: None)
        seconds = time.perf_counter() - t0
        sta = run_sta(tmp / label / tag / "synth", plat, period, log=lambda *a: None)
        row = {"design": label, "synthesis": "flattened" if flatten else "hierarchical", "seconds": seconds,
               "area_um2": r["area_um2"] - r["blocks"]["memory"]["area_um2"], "cells": r["cells"],
               "flops": r["flops"], "clock_gates": r["clock_gates"], "fmax_mhz": sta["fmax_mhz"]}
        if energy:
            work = tmp / label / tag / "energy"
            work.mkdir(parents=True)
            run = gate_level_run(manifest, tmp / label / tag / "synth", plat, count, work, log=lambda *a: None)
            row["cmos_nj"] = summarize(run["energy"], run["items"])["cmos_j"] * 1e9
        rows.append(row)
        print(f"[bench] {label} {row['synthesis']}: {seconds:.0f} s", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", action="store_true", help="the shipped 784-1024-1024-10 network (no energy)")
    ap.add_argument("--platform", default="sky130hd", choices=("sky130hd", "nangate45"))
    ap.add_argument("--period", type=float, default=10.0, help="clock (ns)")
    ap.add_argument("--count", type=int, default=16, help="test images in the gate-level replay")
    args = ap.parse_args(argv)
    plat = get_platform(args.platform)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwgen_bench_flatten_") as tmp:
        if args.mnist:
            from hwgen.data import shipped
            from hwgen.ir import Network

            rows += measure(Network.load(shipped("mnist_bnn.npz")), "784-1024-1024-10", plat, args.period,
                            args.count, False, Path(tmp))
        else:
            from hwgen.flow.blockscaled import characterisation_network

            for wide in (False, True):
                net = characterisation_network(32, wide=wide)
                label = "-".join(str(s) for s in [net.layers[0].n_inputs] + [layer.n_outputs for layer in net.layers])
                rows += measure(net, label, plat, args.period, args.count, True, Path(tmp))
    print(f"\n{'design':18s} {'synthesis':13s} {'seconds':>8s} {'area um2':>11s} {'cells':>8s} {'flip-flops':>10s} "
          f"{'gates':>6s} {'fmax MHz':>9s} {'CMOS nJ/image':>14s}")
    for row in rows:
        base = next(r for r in rows if r["design"] == row["design"] and r["synthesis"] == "hierarchical")
        energy = (f"{row['cmos_nj']:7.2f} {row['cmos_nj'] / base['cmos_nj']:5.2f}x" if "cmos_nj" in row else "")
        print(f"{row['design']:18s} {row['synthesis']:13s} {row['seconds']:8.0f} "
              f"{row['area_um2']:11,.0f} {row['cells']:8,d} {row['flops']:10,d} {row['clock_gates']:6,d} "
              f"{row['fmax_mhz']:9.1f} {energy:>14s}")
        if row is not base:
            print(f"{'':18s} {'  vs hier.':13s} {row['seconds'] / base['seconds']:7.2f}x "
                  f"{row['area_um2'] / base['area_um2']:10.3f}x {row['cells'] / base['cells']:7.3f}x "
                  f"{row['flops'] / base['flops']:9.3f}x {'':6s} {row['fmax_mhz'] / base['fmax_mhz']:8.3f}x")
    print(f"\nn=32, macro view, {args.platform}, {args.period:g} ns; area without the weight macros; "
          f"energy: flat gate-level, {args.count} images, RRAM reads left out (the same in both).")
    return rows


if __name__ == "__main__":
    main()
