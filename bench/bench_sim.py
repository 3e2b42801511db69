"""Benchmark: simulated cycles/s and layer passes/s of the cocotb array regression on Icarus
(the baseline) and Verilator, for the paper's N=M=3, n=32 array in both configurations.

Every pass is still checked against the golden model; the numbers include cocotb's per-cycle
driving and sampling. Ratios are against Icarus measured in this same run.

    python bench/bench_sim.py [--passes 64] [--configs par2seq,seq2par]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig
from hwgen.verify import build_design, run_array_regression


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passes", type=int, default=64)
    ap.add_argument("--configs", default="par2seq,seq2par")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwgen_bench_") as tmp:
        for config in args.configs.split(","):
            hw = HwConfig(n=32, N=3, M=3, config=config)
            design = Path(tmp) / hw.tag()
            generate_array(hw, design, views=("sim",))
            base = None
            for sim in ("icarus", "verilator"):
                built = build_design(design, sim, Path(tmp) / f"build_{sim}_{config}")
                r = run_array_regression(design, sim, ber=1e-3, seed=args.seed, passes=args.passes,
                                         built=built, echo=lambda *_: None)
                base = base or r
                rows.append((config, sim, r["build_s"], r["stream_cycles"], r["sim_cycles_per_s"],
                             r["passes_per_s"], r["sim_cycles_per_s"] / base["sim_cycles_per_s"]))
    print(f"\n{'config':8s} {'simulator':9s} {'build s':>8s} {'cycles':>7s} {'cycles/s':>9s} "
          f"{'passes/s':>9s} {'vs icarus':>9s}")
    for config, sim, build_s, cycles, cps, pps, ratio in rows:
        print(f"{config:8s} {sim:9s} {build_s:8.1f} {cycles:7d} {cps:9.0f} {pps:9.1f} {ratio:8.2f}x")
    print(f"\n{args.passes} passes each, BER 1e-3, seed {args.seed}; every output checked against the golden model.")
    return rows


if __name__ == "__main__":
    main()
