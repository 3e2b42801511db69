"""Gate-level simulation of a mapped netlist, replaying a port trace (:mod:`hwgen.flow.activity`)
in Icarus Verilog and writing a VCD of every net over the compute window.

The netlist's cells are simulated with models Yosys builds from the Liberty functions
(``read_liberty`` without ``-lib``); the 2T2R macro, a black box for synthesis, is simulated by
a behavioural model of the same ports and timing as the RTL's bit-storage block (a read issued
in cycle c gives ``xnor_row`` in c+1, a read with ``re`` low holds). Every output is compared with
the RTL's value in every cycle of the compute window (after programming: before it, outputs that depend on
not-yet-written memories are X at gate level, as in hardware, and 0 in the RTL simulation): a
mismatch fails the run, so energy is only ever measured on a netlist that behaves as the RTL
does.

The replay bench is generated from the trace's port names (identifiers validated by the
manifest's rules) and widths; the trace files and the VCD path reach it as plusargs.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError
from ..manifest import check_identifier
from ..rtl.macros import MacroSpec
from .activity import Trace
from .tools import YOSYS, FlowError, run_tool

RESET_CYCLES = 2


def macro_sim_model(spec: MacroSpec) -> str:
    """Behavioural Verilog of macro ``spec`` (:mod:`hwgen.rtl.macros`) for simulation only: bit
    storage with the RTL's timing (a read with ``re`` high at an edge answers after it and holds)."""
    if spec.kind == "ternary":
        raise ConfigError(f"{spec.name}: the gate-level run has no model of the ternary macro yet")
    decl = ", ".join(f"{d} {'' if w == 1 else f'[{w - 1}:0] '}{p}" for p, d, w in spec.pins())
    head = (f"// hwgen: simulation model of {spec.describe()}\n"
            f"module {spec.name} ({decl});\n  reg [{spec.columns - 1}:0] mem [0:{spec.rows - 1}];\n"
            f"  reg [{spec.columns - 1}:0] q = 0;\n  integer i;\n"
            f"  initial for (i = 0; i < {spec.rows}; i = i + 1) mem[i] = 0;\n")
    if spec.kind == "xnor":
        return (head + f"  reg [{spec.columns - 1}:0] xq = 0;\n  always @(posedge clk) begin\n"
                f"    if (we) mem[wrow] <= wdata;\n    if (re) begin q <= mem[rrow]; xq <= x; end\n  end\n"
                f"  assign xnor_row = ~(xq ^ q);\nendmodule\n")
    write = (f"mem[wrow][wlane * {spec.width} +: {spec.width}] <= wdata" if spec.lanes > 1 else "mem[wrow] <= wdata")
    return (head + f"  always @(posedge clk) begin\n    if (we) {write};\n    if (re) q <= mem[rrow];\n  end\n"
            f"  assign rdata = q;\nendmodule\n")


def clock_gate_model(name: str, cell) -> str:
    """Behavioural Verilog of an integrated clock-gating cell (Liberty
    ``clock_gating_integrated_cell``, latch_posedge[_precontrol]): a latch, transparent while the
    clock is low, holds the enable (or the test enable); the gated clock is clock AND latch.
    The platforms' Liberty gives these cells no output function for Yosys to model."""
    roles = {pin.gate_role: p for p, pin in cell.pins.items() if pin.gate_role}
    if not {"clock", "enable", "out"} <= set(roles):
        raise FlowError(f"clock-gating cell {name} names no clock, enable and output pin in the Liberty")
    name, ck, en, out = (check_identifier("Liberty cell or pin", v) for v in (name, roles["clock"], roles["enable"],
                                                                              roles["out"]))
    test = check_identifier("Liberty pin", roles["test"]) if "test" in roles else None
    ports = [ck, en] + ([test] if test else [])
    gate = f"{en} | {test}" if test else en
    return (f"// hwgen: simulation model of the clock-gating cell {name}\n"
            f"module {name} ({', '.join(f'input {p}' for p in ports)}, output {out});\n"
            f"  reg open = 1'b0;\n  always @(*) if (!{ck}) open = {gate};\n"
            f"  assign {out} = {ck} & open;\nendmodule\n")


def _pack(trace_rows, ports) -> list[int]:
    words = []
    for row in trace_rows:
        word, offset = 0, 0
        for value, (_, width) in zip(row, ports):
            word |= (int(value) & ((1 << width) - 1)) << offset
            offset += width
        words.append(word)
    return words


def bench_text(top: str, trace: Trace) -> str:
    """The replay bench: drive ``stim[k]`` before edge k, compare outputs with ``want[k]``."""
    top = check_identifier("top", top)
    in_w = sum(w for _, w in trace.inputs)
    out_w = sum(w for _, w in trace.outputs)
    conns, offset = [], 0
    for name, width in trace.inputs:
        conns.append(f"    .{check_identifier('port', name)}(stim_now[{offset + width - 1}:{offset}])")
        offset += width
    offset = 0
    for name, width in trace.outputs:
        conns.append(f"    .{check_identifier('port', name)}(got[{offset + width - 1}:{offset}])")
        offset += width
    return f"""`timescale 1ns/1ps
// hwgen: gate-level replay bench of {top}
module hwgen_replay;
  localparam CYCLES = {trace.cycles};
  localparam WINDOW = {trace.window};
  reg clk = 0;
  reg rst = 1;
  reg [{in_w - 1}:0] stim [0:CYCLES-1];
  reg [{out_w - 1}:0] want [0:CYCLES-1];
  reg [{in_w - 1}:0] stim_now = 0;
  wire [{out_w - 1}:0] got;
  reg [8*1024-1:0] path;
  integer k;
  integer errors = 0;
  {top} dut (
    .clk(clk), .rst(rst),
{("," + chr(10)).join(conns)}
  );
  initial begin
    if (!$value$plusargs("stim=%s", path)) $fatal(1, "no +stim=");
    $readmemh(path, stim);
    if (!$value$plusargs("want=%s", path)) $fatal(1, "no +want=");
    $readmemh(path, want);
    if (!$value$plusargs("vcd=%s", path)) $fatal(1, "no +vcd=");
    repeat ({RESET_CYCLES}) begin #5 clk = 1; #5 clk = 0; end
    rst = 0;
    for (k = 0; k < CYCLES; k = k + 1) begin
      stim_now = stim[k];
      if (k == WINDOW) begin $dumpfile(path); $dumpvars(1, dut); end
      #1;
      if (k >= WINDOW && got !== want[k]) begin
        errors = errors + 1;
        if (errors <= 10) $display("HWGEN_MISMATCH cycle=%0d got=%h want=%h", k, got, want[k]);
      end
      #4 clk = 1;
      #5 clk = 0;
    end
    $display("HWGEN_DONE cycles=%0d errors=%0d", CYCLES, errors);
    $finish;
  end
endmodule
"""


def cell_models(work: Path, top: str, macros, library=None) -> Path:
    """``models.v``: the Liberty cells the netlist uses (by Yosys), the macros' simulation models,
    and models of the clock-gating cells (``library``: the cells' extract, which says which they
    are; Yosys's Liberty reader leaves their output undriven)."""
    top = check_identifier("top", top)
    extra = ""
    if macros:
        # Yosys sees the macros as black boxes (and writes no module for them); Icarus gets the
        # simulation models.
        (work / "macro_stubs.v").write_text("".join(spec.stub() for spec in macros))
        (work / "macro_models.v").write_text("".join(macro_sim_model(spec) for spec in macros))
        extra = "read_verilog macro_stubs.v; "
    run_tool([YOSYS, "-q", "-l", "models.log", "-p",
              f"read_liberty -ignore_miss_func cells.lib; {extra}read_verilog netlist.v; hierarchy -top {top}; "
              f"delete {top}; write_verilog -noattr models.v"], "yosys: cell models for the gate-level run", cwd=work)
    text = (work / "models.v").read_text()
    netlist = (work / "netlist.v").read_text()
    gates = sorted(name for name, cell in (library.cells.items() if library else ()) if cell.clock_gate
                   and re.search(rf"^\s*\\?{re.escape(name)}\s", netlist, re.M))
    for name in gates:          # replace Yosys's empty module (if it wrote one) with a working model
        text = re.sub(rf"^module \\?{re.escape(name)}\s*\(.*?^endmodule\n", "", text, flags=re.M | re.S)
        text += clock_gate_model(name, library.cells[name])
    (work / "models.v").write_text(text)
    return work / "models.v"


def simulate(work: Path, top: str, trace: Trace, macros=(), library=None) -> dict:
    """Replay ``trace`` on ``work/netlist.v`` (with ``work/cells.lib`` linked in; ``macros``: the
    design's :class:`MacroSpec` list; ``library``: the cells' extract, for the clock-gating cells);
    writes ``work/activity.vcd``. Raises :class:`FlowError` if any output differs from the RTL's."""
    cell_models(work, top, macros, library)
    (work / "bench.v").write_text(bench_text(top, trace))
    in_digits = (sum(w for _, w in trace.inputs) + 3) // 4
    out_digits = (sum(w for _, w in trace.outputs) + 3) // 4
    (work / "stim.hex").write_text("".join(f"{w:0{in_digits}x}\n" for w in _pack(trace.stim, trace.inputs)))
    (work / "want.hex").write_text("".join(f"{w:0{out_digits}x}\n" for w in _pack(trace.want, trace.outputs)))
    models = ["models.v"] + (["macro_models.v"] if macros else [])
    run_tool(["iverilog", "-g2012", "-o", "replay.vvp", "-s", "hwgen_replay", "bench.v", "netlist.v", *models],
             "iverilog: compiling the gate-level netlist", cwd=work, log=work / "iverilog.log")
    out = run_tool(["vvp", "-n", "replay.vvp", "+stim=stim.hex", "+want=want.hex", "+vcd=activity.vcd"],
                   "vvp: gate-level replay", cwd=work, log=work / "vvp.log")
    done = re.search(r"HWGEN_DONE cycles=(\d+) errors=(\d+)", out)
    if not done:
        raise FlowError("the gate-level replay did not finish:\n" + "\n".join(out.strip().splitlines()[-10:]))
    errors = int(done.group(2))
    if errors:
        shown = "\n".join(re.findall(r"HWGEN_MISMATCH.*", out)[:5])
        raise FlowError(f"the gate-level netlist differs from the RTL in {errors} of {trace.cycles} cycles:\n{shown}")
    return {"cycles": trace.cycles, "window_cycles": trace.window_cycles, "vcd": str(work / "activity.vcd")}
