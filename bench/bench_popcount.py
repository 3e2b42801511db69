"""Benchmark: what counting the sensed bits costs on a platform's standard cells, and whether the
column's counting could be cheaper in another shape. Measures, at gate level, one column group of
``G`` cells of n = 32 sensed bits each feeding one registered group sum (what a par2seq column
feeds its popcount tree, :mod:`hwgen.rtl.tree`), in two shapes:

- ``split`` (what hwgen generates): each cell's popcount in the column module (a carry-save tree
  of the platform's full adders, :mod:`hwgen.flow.synth`), then the tree's adders (ABC) and the
  group register (:class:`hwgen.rtl.tree.PopcountTree`);
- ``merged``: the G x 32 bits summed in the column as one carry-save tree and one final adder, then
  the register: no per-cell final adders, no tree adders.

Each shape is synthesized with the flow's own script (:func:`hwgen.flow.synth._script`), timed with
OpenSTA (sensed bits arriving at the clock edge) and replayed at gate level with random sensed rows
whose bits each toggle with probability ``p`` per cycle (MNIST in activity order: p = 0.34). Prints
fJ per sensed bit per cycle (the Liberty's energies, :func:`hwgen.flow.flatenergy.flat_energy`),
the area and the register-to-register delay, and the merged shape's ratios to the split one.

The energy is far from proportional to p: a node deep in the tree depends on hundreds of sensed
bits and toggles about every other cycle whatever p is.

    python bench/bench_popcount.py                          # sky130hd, G = 16, p = 0.1 0.2 0.34 0.5 (~3 min)
    python bench/bench_popcount.py --platform nangate45 --groups 8 16
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.flow.flatenergy import Netlist, flat_energy
from hwgen.flow.gatesim import cell_models
from hwgen.flow.platform import get_platform
from hwgen.flow.steps import link
from hwgen.flow.synth import ABC_DRIVER, ABC_LOAD_F, _script, adder_map
from hwgen.flow.tools import YOSYS, run_tool
from hwgen.flow.vcd import vcd_toggles
from hwgen.hwconfig import bits_for
from hwgen.rtl.adders import balanced_sum
from hwgen.rtl.tree import PopcountTree

N_BITS = 32
CYCLES = 1500
PERIOD_NS = 10.0
STA_TCL = """read_liberty cells.lib
read_verilog netlist.v
link_design top
create_clock -name clk -period 10 [get_ports clk]
set_input_delay 0 -clock clk [get_ports rows*]
puts "HWGEN arrival [sta::worst_slack -max]"
"""


class _Counts(wiring.Component):
    """The column: G cells' popcounts (split), or the whole group's sum (merged)."""

    def __init__(self, G: int, merged: bool):
        self._G, self._merged = G, merged
        out = bits_for(G * N_BITS) if merged else G * bits_for(N_BITS)
        super().__init__({"rows": In(G * N_BITS), "counts": Out(out)})

    def elaborate(self, platform):
        m = Module()
        bits = [self.rows[k] for k in range(len(self.rows))]
        if self._merged:
            total, _ = balanced_sum(m, bits, name="grp", max_values=[1] * len(bits))
            m.d.comb += self.counts.eq(total)
        else:
            w = bits_for(N_BITS)
            for i in range(self._G):
                pc, _ = balanced_sum(m, bits[i * N_BITS:(i + 1) * N_BITS], name=f"pc{i}", max_values=[1] * N_BITS)
                m.d.comb += self.counts.word_select(i, w).eq(pc)
        return m


class _Group(wiring.Component):
    def __init__(self, G: int, merged: bool):
        self._G, self._merged = G, merged
        super().__init__({"rows": In(G * N_BITS), "valid": In(1), "total": Out(bits_for(G * N_BITS))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.col_0 = col = _Counts(self._G, self._merged)
        m.d.comb += col.rows.eq(self.rows)
        if self._merged:
            q = Signal(len(self.total), reset_less=True)
            with m.If(self.valid):
                m.d.sync += q.eq(col.counts)
            m.d.comb += self.total.eq(q)
        else:
            m.submodules.tree_0 = tree = PopcountTree(N=self._G, max_partial=N_BITS)
            m.d.comb += [tree.partials.eq(col.counts), tree.valid.eq(self.valid), tree.hold.eq(0),
                         self.total.eq(tree.total)]
        return m


def measure(work: Path, G: int, merged: bool, platform, rates, seed: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    top = _Group(G, merged)
    (work / "sources.v").write_text(verilog.convert(top, name="top", emit_src=False))
    link(work, "cells.lib", platform.prepared_liberty())
    (work / "abc.constr").write_text(f"set_driving_cell {ABC_DRIVER[platform.name]}\n"
                                     f"set_load {ABC_LOAD_F[platform.name] * 1e15:g}\n")
    (work / "adders.v").write_text(adder_map(platform.full_adder, platform.half_adder))
    run_tool([YOSYS, "-q", "-l", "yosys.log", "-p", _script("top", int(PERIOD_NS * 1000), platform, False)],
             "yosys", cwd=work)
    area = float(re.search(r"Chip area for (?:top )?module '[^']*':\s+([0-9.eE+-]+)",
                           (work / "stat_flat.txt").read_text()).group(1))
    (work / "sta.tcl").write_text(STA_TCL)
    slack = float(re.search(r"HWGEN arrival (\S+)", run_tool(["sta", "-no_init", "-exit", "sta.tcl"], "sta",
                                                               cwd=work)).group(1))
    library = platform.library()
    net = Netlist(json.loads((work / "netlist.json").read_text()), "top", library)
    cell_models(work, "top", (), library)
    width = G * N_BITS
    result = {"area_um2": area, "delay_ns": PERIOD_NS - slack, "fj_per_bit": {}}
    for p in rates:
        rng = random.Random(seed)
        rows = rng.getrandbits(width)
        lines = []
        for _ in range(CYCLES):
            rows ^= sum(1 << b for b in range(width) if rng.random() < p)
            lines.append(f"{rows:0{(width + 3) // 4}x}\n")
        (work / "rows.hex").write_text("".join(lines))
        (work / "bench.v").write_text(
            f"`timescale 1ns/1ps\nmodule bench; reg clk = 0; reg [{width - 1}:0] rows; wire [{bits_for(width) - 1}:0] total;\n"
            f"reg [{width - 1}:0] mem [0:{CYCLES - 1}]; integer i;\n"
            f"top dut(.clk(clk), .rst(1'b0), .rows(rows), .valid(1'b1), .total(total));\n"
            f"initial begin $readmemh(\"rows.hex\", mem); $dumpfile(\"activity.vcd\"); $dumpvars(1, dut);\n"
            f" for (i = 0; i < {CYCLES}; i = i + 1) begin rows = mem[i]; #5 clk = 1; #5 clk = 0; end\n"
            f" $finish; end\nendmodule\n")
        run_tool(["iverilog", "-g2012", "-o", "bench.vvp", "-s", "bench", "bench.v", "netlist.v", "models.v"],
                 "iverilog", cwd=work)
        run_tool(["vvp", "-n", "bench.vvp"], "vvp", cwd=work)
        activity = vcd_toggles(work / "activity.vcd", net.names)
        energy, _ = flat_energy(net, activity.toggles, CYCLES, PERIOD_NS * 1e-9)
        joules = sum(v for kinds in energy.values() for k, v in kinds.items() if k != "leakage")
        result["fj_per_bit"][p] = joules / CYCLES / width * 1e15
    return result


def _groups(text: str) -> int:
    try:
        g = int(text)
    except ValueError:
        g = 0
    if not 1 <= g <= 64:
        raise argparse.ArgumentTypeError(f"cells per group must be an integer from 1 to 64, not {text!r}")
    return g


def _rate(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        p = -1.0
    if not 0.0 <= p <= 1.0:         # NaN fails this too
        raise argparse.ArgumentTypeError(f"a toggle rate must be a probability from 0 to 1, not {text!r}")
    return p


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", default="sky130hd", choices=("sky130hd", "nangate45"))
    ap.add_argument("--groups", type=_groups, nargs="+", default=[16], help="cells per group sum (G, 1 to 64)")
    ap.add_argument("--rates", type=_rate, nargs="+", default=[0.1, 0.2, 0.34, 0.5],
                    help="probability that a sensed bit toggles in a cycle")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    platform = get_platform(args.platform)
    print(f"seed {args.seed}; {platform.name}; {N_BITS} sensed bits a cell; {CYCLES} cycles; energy without leakage")
    with tempfile.TemporaryDirectory(prefix="hwgen-bench-popcount-") as tmp:
        for G in args.groups:
            res = {shape: measure(Path(tmp) / f"{shape}{G}", G, shape == "merged", platform, args.rates, args.seed)
                   for shape in ("split", "merged")}
            for shape, r in res.items():
                per = "  ".join(f"p={p:g}: {e:6.2f}" for p, e in r["fj_per_bit"].items())
                print(f"G={G:3d} {shape:6s}  area {r['area_um2']:9.0f} um2  delay {r['delay_ns']:5.2f} ns  "
                      f"fJ per sensed bit  {per}")
            s, mg = res["split"], res["merged"]
            ratios = "  ".join(f"p={p:g}: x{mg['fj_per_bit'][p] / s['fj_per_bit'][p]:.3f}" for p in args.rates)
            print(f"G={G:3d} merged/split  area x{mg['area_um2'] / s['area_um2']:.3f}  "
                  f"delay x{mg['delay_ns'] / s['delay_ns']:.3f}  energy {ratios}")


if __name__ == "__main__":
    main()
