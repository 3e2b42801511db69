"""Benchmark: what the activity order of the hidden neurons (``hwgen rtl --neuron-order activity``,
:mod:`hwgen.reorder`) saves, against the trained order (``model``) of the same network, on the same
netlist (the macro view's netlist does not hold the weights, so one synthesis serves both):

- the fraction of a lane's bits that differ between consecutive rows, per reordered layer;
- the sensed-bit toggles per image, counted (:mod:`hwgen.flow.toggles`) and, with ``--flat``, seen
  in the gate-level VCD;
- CMOS energy per image: block-scaled always, and with ``--flat`` (networks up to ~20k cells) the
  flat gate-level figure of the same run, which checks the block-scaled model's price per toggle.

Each figure is printed for both orders with the activity order's ratio to the trained one.

    hwgen train mnist --hidden 64 --epochs 3 -o m64.npz      # a small trained network (~20 s)
    python bench/bench_reorder.py m64.npz --flat              # about 3 min the first time (characterisation)
    python bench/bench_reorder.py models/mnist_bnn.npz        # the shipped network, block-scaled (~6 min)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from hwgen.flow.energy import run_energy
from hwgen.flow.platform import get_platform
from hwgen.flow.steps import flow_folder
from hwgen.flow.synth import synthesize
from hwgen.generate import generate_model
from hwgen.ir import Network
from hwgen.reorder import consecutive_difference


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="a network IR file (.npz)")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--platform", default="sky130hd", choices=("sky130hd", "nangate45"))
    ap.add_argument("--period", type=float, default=10.0, help="clock (ns)")
    ap.add_argument("--flat", action="store_true", help="also the flat gate-level energy of the same run")
    args = ap.parse_args(argv)
    plat = get_platform(args.platform)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="hwgen_bench_reorder_") as tmp:
        synth_folder = None
        for order in ("model", "activity"):
            manifest = generate_model(args.model, n=args.n, out_dir=Path(tmp) / order, views=("macro",),
                                      neuron_order=order, log=print)
            target = flow_folder(manifest, plat.name, "macro") / "synth"
            if synth_folder is None:
                synth_folder = Path(synthesize(manifest, plat, "macro", args.period, log=lambda *a: None)["folder"])
            else:
                shutil.copytree(synth_folder, target)      # the same netlist: the weights are in the macros
            e = run_energy(manifest, plat, flat=args.flat, log=lambda *a: None)
            net = Network.load(manifest.path(manifest.ir_file))
            diff = [consecutive_difference(layer, p.hw.M) for layer, p in zip(net.layers, manifest.layers)
                    if p.hw.config == "par2seq" and layer.output == "sign"]
            row = {"differ": diff, "toggles": e["sensed_toggles_per_item"], "scaled_cmos": e["scaled"]["cmos_j"],
                   "scaled_cells": e["scaled"]["block_kinds_j"]["cells"]["data"]}
            if "same_run" in e:
                same = e["same_run"]
                row.update(flat_cmos=same["flat"]["cmos_j"], flat_cells=same["flat"]["block_kinds_j"]["cells"]["data"],
                           vcd_toggles=same["sensed_toggles"]["vcd"], same_scaled_cmos=same["scaled"]["cmos_j"])
            rows[order] = row
    m, a = rows["model"], rows["activity"]
    print(f"\n{args.model.name} at n={args.n} on {plat.name}, {args.period:g} ns (activity order / trained order):")
    print("  consecutive rows differ: " + ", ".join(f"{x:.1%} -> {y:.1%}" for x, y in zip(m["differ"], a["differ"])))
    lines = [("sensed-bit toggles per image (counted)", "toggles", 1, ""),
             ("sensed-bit toggles per image (VCD)", "vcd_toggles", 1, ""),
             ("cells' data energy, block-scaled", "scaled_cells", 1e9, " nJ"),
             ("cells' data energy, flat gate level", "flat_cells", 1e9, " nJ"),
             ("CMOS energy per image, block-scaled", "scaled_cmos", 1e9, " nJ"),
             ("CMOS energy per image, flat gate level", "flat_cmos", 1e9, " nJ"),
             ("CMOS energy, block-scaled on the flat run", "same_scaled_cmos", 1e9, " nJ")]
    for label, key, scale, unit in lines:
        if key in m:
            print(f"  {label:44s} {m[key] * scale:12.4g}{unit} -> {a[key] * scale:12.4g}{unit}  "
                  f"(x{a[key] / m[key]:.3f})")


if __name__ == "__main__":
    main()
