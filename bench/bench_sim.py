"""Benchmark: simulated cycles/s and layer passes/s of the array regression on Icarus and
Verilator, in stream mode (cocotb drives and samples every cycle) and batch mode (harness view:
a preloaded batch runs with no Python in the per-cycle path), for the paper's N=M=3, n=32
array in both configurations.

Every pass is checked against the golden model in both modes. Ratios are against Icarus in
stream mode measured in this same run. cycles/s: simulated cycles over the wall time of the
compute phase (batch mode: from start to finished, nothing touched in between; stream mode:
the whole streaming loop). passes/s: over the whole run phase, loading and read-back included.

    python bench/bench_sim.py [--passes 128] [--configs par2seq,seq2par]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tqdm import tqdm

from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig
from hwgen.verify import build_view, run_array_regression
from hwgen.manifest import Manifest
from hwgen.verify.regression import view_for


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passes", type=int, default=128)
    ap.add_argument("--configs", default="par2seq,seq2par")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    configs = args.configs.split(",")
    jobs = [(c, s, m) for c in configs for s in ("icarus", "verilator") for m in ("stream", "batch")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwgen_bench_") as tmp:
        for config in configs:
            generate_array(HwConfig(n=32, N=3, M=3, config=config), Path(tmp) / config, views=("sim", "harness"))
        base = {}
        for config, sim, mode in tqdm(jobs, desc="bench", unit="run"):
            design = Manifest.load(Path(tmp) / config)
            built = build_view(design, view_for(mode), sim, Path(tmp) / f"build_{config}_{sim}_{mode}")
            r = run_array_regression(design, sim, ber=1e-3, seed=args.seed, passes=args.passes, mode=mode,
                                     build=built, log=lambda *_: None)
            base.setdefault(config, r)
            rows.append((config, sim, mode, built.build_s, r["simulated_cycles"], r["sim_cycles_per_s"],
                         r["passes_per_s"], r["sim_cycles_per_s"] / base[config]["sim_cycles_per_s"]))
    print(f"\n{'config':8s} {'simulator':9s} {'mode':6s} {'build s':>8s} {'cycles':>7s} {'cycles/s':>10s} "
          f"{'passes/s':>9s} {'vs icarus stream':>16s}")
    for config, sim, mode, build_s, cycles, cps, pps, ratio in rows:
        print(f"{config:8s} {sim:9s} {mode:6s} {build_s:8.1f} {cycles:7d} {cps:10.0f} {pps:9.1f} {ratio:15.1f}x")
    print(f"\n{args.passes} passes per run, BER 1e-3, seed {args.seed}; every output checked against the golden model.")
    return rows


if __name__ == "__main__":
    main()
