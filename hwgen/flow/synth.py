"""Logic synthesis of a generated design onto a platform's standard cells with Yosys, with the
area per block.

Views: ``synth`` (arrays only: the 2T2R memory as flip-flops, so the whole design is CMOS) and
``macro`` (the 2T2R arrays + XNOR-PCSAs and the layers' threshold memories as black-box macros
whose Liberty abstracts come from :mod:`hwgen.flow.macro`, so their area counts and STA times
their reads).

The script follows what ORFS does on sky130hd, with what the prototype measured: ``read_liberty
-lib`` first; ``abc -D <period / 2> -constr`` with a driving cell and a load (without the
constraints one X1 gate drove 7 pF and setup slack was -197 ns; with them +5.3 ns). Half the
period: ABC maps each module on its own, and the longest register-to-register path runs through
two of them (a 2T2R macro's sensed row through a column's popcounts, then its tree's sum); with
the whole period as each module's target the MNIST network missed 10 ns by 75 ps (99.3 MHz), with
half it makes 103.4 MHz for 0.03 % more area. The dont-use cells marked
in the Liberty copy (:meth:`Platform.prepared_liberty`); ``hilomap`` for constants and
``insbuf``. Synthesis keeps the hierarchy so that every cell's hierarchical name says which
block it belongs to; the netlist is flattened afterwards for STA and gate-level simulation.
Measured against flattening before the fine steps (``bench/bench_flatten.py``, README
"Hierarchy kept"): flattening saves 1-3 % of the area and costs 2-5 % of fmax (MNIST on
sky130hd: 109.4 to 103.7 MHz) for the same gate-level energy, and loses the block names.

**Clock gating.** ``clockgate -liberty`` (Yosys 0.70, :data:`hwgen.flow.tools.YOSYS`) turns every
group of at least :data:`CLOCK_GATE_MIN` flip-flops that share a clock enable into plain
flip-flops behind one of the platform's integrated clock-gating cells (sky130 ``dlclkp``,
nangate45 ``CLKGATE``): they are clocked only in the cycles the RTL loads them. The RTL gives its
data registers enables and no reset (an enable under a synchronous reset cannot be gated: the
reset needs the clock). A shared cell column's cells are flattened into the column first, so the
column's counters share one gate.

**Adders.** A popcount, and a column's sum of its cells' popcounts, is one multi-operand sum
(Yosys's ``alumacc`` makes it a ``$macc``). In the cell columns (:data:`COLUMN_MODULES`, where
almost all the arithmetic is: one popcount per 2T2R macro) ``maccmap`` turns it into a carry-save
tree of ``$fa`` cells and one final adder, and :func:`adder_map` puts the tree onto the
platform's own full-adder cell (sky130 ``fa_1``, nangate45 ``FA_X1``, as ORFS's
``ADDER_MAP_FILE`` does), a bit with a constant-0 input onto its half adder and constant bits
onto plain logic, instead of leaving ABC to rebuild each full adder from XOR3 and MAJ3 gates
whose inputs load every signal twice. On the 121-64-10 characterisation network (n = 32,
gate-level replay of real images) the cells' popcounts take 36 % less energy on sky130hd (314 to
201 pJ per image) and 29 % less on nangate45 (79 to 56 pJ). The full adders are slower than
ABC's delay-driven gates (a 32-bit popcount is six ``fa_1`` levels, 3.2 ns): the trees
(:mod:`hwgen.rtl.tree`) register group sums and add them after the register, which keeps the
MNIST network above its earlier fmax. The trees themselves stay with ABC (delay-driven: they end
the longest path).

``set_load`` in ``abc.constr`` is in femtofarads (Yosys's ``help abc``; ORFS writes its
ABC_LOAD_IN_FF there): 5 fF on sky130hd, 3.898 fF on nangate45.

Area per block: every cell of the flattened netlist belongs to one block by its hierarchical
name (see :data:`BLOCKS`), at its Liberty area; the blocks add up to Yosys's ``stat -liberty``
total, which the report gives as the design's area.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..errors import ConfigError
from ..manifest import Manifest, check_identifier
from .platform import Platform
from .sdc import DEFAULT_PERIOD_NS, check_period
from .macro import macro_model, view_macros
from .steps import flow_folder, link, work_folder, write_step
from .tools import YOSYS, FlowError, run_tool

VIEWS = ("macro", "synth")
CLOCK_GATE_MIN = 8          # flip-flops per gate: a gate's own clock pin costs about two flip-flops' clock
# cell columns: the shared column modules (:func:`hwgen.rtl.column.column_module_name`) and an
# array's own (its submodules ``col_<j>``)
COLUMN_MODULES = "hwgen_col_* *.col_*"
# Block of a module or cell instance: the deepest path component that names one wins.
BLOCKS = (("block", "memory"), ("cell_", "cells"), ("col_", "cells"), ("tree_", "tree"),
          ("thresholds", "thresholds"), ("link", "links"), ("argmax", "argmax"),
          ("replica_", "control"), ("conv_", "im2col"))     # a conv layer: its arrays, then its own logic
BLOCK_ORDER = ("memory", "cells", "tree", "thresholds", "links", "argmax", "im2col", "control")
ABC_LOAD_F = {"sky130hd": 5e-15, "nangate45": 3.898e-15}   # ORFS ABC_LOAD_IN_FF
ABC_DRIVER = {"sky130hd": "sky130_fd_sc_hd__buf_1", "nangate45": "BUF_X1"}   # ORFS ABC_DRIVER_CELL


def block_of(path: str) -> str:
    """The block a hierarchical name belongs to: ``layer0.col_1.cell_0.block.macro`` -> memory."""
    parts = [p for p in re.sub(r"\$flatten|\\", "", path).split(".") if p]
    for part in reversed(parts):
        for prefix, block in BLOCKS:
            if part == prefix or (prefix.endswith("_") and part.startswith(prefix)) or \
                    (prefix == "link" and re.fullmatch(r"link\d*", part)):
                return block
    return "control"


def _script(top: str, period_ps: int, platform: Platform, macro: bool, clock_gating: bool = True,
            flatten: bool = False) -> str:
    """The Yosys script: only the validated top, numbers and the platform's cell names enter it;
    files have fixed names in the work folder. ``flatten``: the whole design is flattened after the
    coarse steps (and the columns' full adders), so the fine steps and ABC see it as one module
    (the module docstring says why the flow keeps the hierarchy)."""
    top = check_identifier("top", top)
    libs = "read_liberty -lib cells.lib; " + ("read_liberty -lib macros.lib; " if macro else "")
    stat_libs = "-liberty cells.lib" + (" -liberty macros.lib" if macro else "")
    tie = ""
    if platform.tie_hi and platform.tie_lo:
        tie = (f"hilomap -singleton -hicell {platform.tie_hi[0]} {platform.tie_hi[1]} "
               f"-locell {platform.tie_lo[0]} {platform.tie_lo[1]}; ")
    buf = f"insbuf -buf {' '.join(platform.buffer)}; " if platform.buffer else ""
    adders = f"maccmap {COLUMN_MODULES}; techmap -map adders.v; " if platform.maps_adders else ""
    split = platform.maps_adders or flatten
    return (f"{libs}read_verilog -defer sources.v; hierarchy -check -top {top}; flatten {COLUMN_MODULES}; "
            + (f"synth -top {top} -run :fine; {adders}{'flatten; ' if flatten else ''}synth -top {top} -run fine:; "
               if split else f"synth -top {top}; ") + "opt_clean -purge; "
            + (f"clockgate -liberty cells.lib -min_net_size {CLOCK_GATE_MIN}; " if clock_gating else "") +
            f"dfflibmap -liberty cells.lib; abc -D {period_ps // 2} -constr abc.constr -liberty cells.lib; opt_clean; "
            f"{tie}setundef -zero; splitnets; {buf}opt_clean -purge; "
            f"flatten; opt_clean -purge; tee -o stat_flat.txt stat {stat_libs}; "
            f"write_verilog -noattr -noexpr -nohex -nodec -norename netlist.v; write_json netlist.json")


def parse_stat(flat: str, netlist: dict, top: str, library) -> dict:
    """Area and cells per block (from the flat netlist's cell names and the Liberty areas), the
    total area and cells that Yosys's ``stat -liberty`` printed (0.23's and 0.70's formats), the
    flip-flops, the clock-gating cells and the flip-flops behind them."""
    total = re.search(r"Chip area for (?:top )?module '[^']*':\s+([0-9.eE+-]+)", flat)
    n_cells = (re.search(r"Number of cells:\s+(\d+)", flat)                  # Yosys 0.23
               or re.search(r"^\s*(\d+)\s+[0-9.eE+-]+\s+cells\s*$", flat, re.M))  # 0.70: count, area, "cells"
    if not total or not n_cells:
        raise FlowError("Yosys printed no area: is the Liberty file the platform's?")
    blocks = {b: {"area_um2": 0.0, "cells": 0} for b in BLOCK_ORDER}
    by_type, flops, gated_clocks = {}, 0, set()
    cells = netlist["modules"][top]["cells"]
    for name, cell in cells.items():
        lib_cell = library.cell(cell["type"])
        block = blocks[block_of(name)]
        block["area_um2"] += lib_cell.area_um2
        block["cells"] += 1
        by_type[cell["type"]] = by_type.get(cell["type"], 0) + 1
        flops += lib_cell.sequential and not lib_cell.clock_gate
        if lib_cell.clock_gate:
            gated_clocks.update(b for p, bits in cell["connections"].items()
                                if lib_cell.pins[p].direction == "output" for b in bits)
    gated = sum(1 for cell in cells.values() if library.cell(cell["type"]).sequential
                and not library.cell(cell["type"]).clock_gate
                and any(b in gated_clocks for p, bits in cell["connections"].items()
                        if library.cell(cell["type"]).pins[p].clock for b in bits))
    return {"area_um2": float(total.group(1)), "cells": int(n_cells.group(1)), "flops": flops,
            "clock_gates": sum(k for t, k in by_type.items() if library.cell(t).clock_gate), "gated_flops": gated,
            "blocks": {b: {"area_um2": round(v["area_um2"], 3), "cells": v["cells"]} for b, v in blocks.items()},
            "cell_types": dict(sorted(by_type.items()))}


def synthesize(design, platform: Platform, view: str = "macro", period_ns: float = DEFAULT_PERIOD_NS,
               out_dir=None, log=print, yosys: str = YOSYS, clock_gating: bool = True,
               flatten: bool = False) -> dict:
    """Map one view of ``design`` onto ``platform``; write netlist, statistics and ``step.json``
    into ``out_dir`` (default ``<design>/flow/<platform>_<view>/synth``); return the result.
    ``yosys``/``clock_gating``: another Yosys binary, without clock gating (``bench/bench_yosys.py``
    compares Debian's 0.23, which has no ``clockgate``). ``flatten``: one flat module from the fine
    steps on (``bench/bench_flatten.py``; the cells ABC makes then carry no block in their names,
    so the per-block area and the block-scaled energy no longer attribute them)."""
    from .liberty import load_library

    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    if view not in VIEWS:
        raise ConfigError(f"--view must be one of {', '.join(VIEWS)}, not {view!r}")
    if view not in manifest.views:
        raise ConfigError(f"{manifest.folder} has no {view} view (it has {', '.join(manifest.views)}); "
                          f"regenerate it with --views including {view}" + (
                              " (networks have no synth view: use --view macro)" if manifest.kind == "network" else ""))
    period = check_period(period_ns)
    out_dir = Path(out_dir) if out_dir else flow_folder(manifest, platform.name, view) / "synth"
    v = manifest.view(view)
    sources = [manifest.path(f) for f in v.verilog if f not in v.blackbox]
    specs = view_macros(manifest, view) if view == "macro" else []
    lib = platform.prepared_liberty()
    library = platform.library(lib)
    t0 = time.perf_counter()
    with work_folder(out_dir) as work:
        link(work, "cells.lib", lib)
        (work / "sources.v").write_text("".join(p.read_text() for p in sources))
        driver = ABC_DRIVER.get(platform.name)
        (work / "abc.constr").write_text((f"set_driving_cell {driver}\n" if driver else "")
                                         + f"set_load {ABC_LOAD_F.get(platform.name, 5e-15) * 1e15:g}\n")
        files = {}
        if platform.maps_adders:
            (work / "adders.v").write_text(adder_map(platform.full_adder, platform.half_adder))
        if specs:
            models = [macro_model(spec, platform) for spec in specs]
            files["macros.lib"] = _merge_liberty([m.liberty_text() for m in models])
            (work / "macros.lib").write_text(files["macros.lib"])
        log(f"[synth] {yosys}: {v.top} ({view} view) on {platform.name}, clock {period:g} ns"
            + ("" if clock_gating else ", no clock gating") + (", flattened" if flatten else ""))
        run_tool([yosys, "-q", "-l", "yosys.log", "-p", _script(v.top, int(round(period * 1000)), platform,
                                                                  bool(specs), clock_gating, flatten)],
                 f"yosys synthesis of {v.top}", cwd=work)
        if specs:
            library.cells.update(load_library(work / "macros.lib").cells)
        result = parse_stat((work / "stat_flat.txt").read_text(), json.loads((work / "netlist.json").read_text()),
                            v.top, library)
        if specs:
            result["macros"] = {m.name: {"kind": m.spec.kind, "n": m.n, "area_um2": m.area_um2,
                                         "instances": result["cell_types"].get(m.name, 0)} for m in models}
            result["macro_instances"] = sum(m["instances"] for m in result["macros"].values())
        result.update({"design": str(manifest.folder), "kind": manifest.kind, "view": view, "top": v.top,
                       "yosys": yosys, "clock_gating": clock_gating, "flatten": flatten,
                       "platform": platform.name, "liberty": str(platform.liberty), "period_ns": period,
                       "seconds": round(time.perf_counter() - t0, 2)})
        for name in ("netlist.v", "netlist.json", "stat_flat.txt", "yosys.log"):
            files[name] = (work / name).read_bytes()
    write_step(out_dir, "synth", files, result)
    result["folder"] = str(out_dir)
    return result


def adder_map(full_adder, half_adder) -> str:
    """A techmap file that maps Yosys's ``$fa`` cells (the carry-save trees ``maccmap`` builds for
    multi-operand sums such as a popcount) onto the platform's full-adder cell bit by bit, a bit
    with one constant-0 input onto its half-adder cell, and any other bit with a constant input
    (after constant folding: a wire, or nothing) onto plain logic."""
    cell, a, b, ci, co, s = (check_identifier("full-adder cell or pin", v) for v in full_adder)
    hcell, ha, hb, hco, hs = (check_identifier("half-adder cell or pin", v) for v in half_adder)
    masks = "".join(f"  parameter [WIDTH-1:0] _TECHMAP_CONST{k}_{p}_ = 0;\n" for p in "ABC" for k in ("MSK", "VAL"))
    zero = {p: f"(_TECHMAP_CONSTMSK_{p}_[i] && !_TECHMAP_CONSTVAL_{p}_[i])" for p in "ABC"}
    one = " || ".join(f"(_TECHMAP_CONSTMSK_{p}_[i] && _TECHMAP_CONSTVAL_{p}_[i])" for p in "ABC")
    half = []
    for p, (x, y) in zip("ABC", (("B", "C"), ("A", "C"), ("A", "B"))):
        others = " && ".join(f"!_TECHMAP_CONSTMSK_{q}_[i]" for q in (x, y))
        half.append(f"    end else if ({zero[p]} && {others}) begin\n"
                    f"      {hcell} ha (.{ha}({x}[i]), .{hb}({y}[i]), .{hco}(X[i]), .{hs}(Y[i]));\n")
    return ("(* techmap_celltype = \"$fa\" *)\n"
            "module _hwgen_fa (A, B, C, X, Y);\n  parameter WIDTH = 1;\n" + masks +
            "  input [WIDTH-1:0] A, B, C;\n  output [WIDTH-1:0] X, Y;\n  genvar i;\n"
            "  generate for (i = 0; i < WIDTH; i = i + 1) begin : fa_bit\n"
            f"    if ({one} || {zero['A']} + {zero['B']} + {zero['C']} >= 2) begin\n"
            "      assign Y[i] = A[i] ^ B[i] ^ C[i];\n"
            "      assign X[i] = (A[i] & B[i]) | (A[i] & C[i]) | (B[i] & C[i]);\n"
            + "".join(half) +
            "    end else begin\n"
            f"      {cell} fa (.{a}(A[i]), .{b}(B[i]), .{ci}(C[i]), .{co}(X[i]), .{s}(Y[i]));\n"
            "    end\n  end endgenerate\nendmodule\n")


def _merge_liberty(texts: list) -> str:
    """One Liberty library holding every macro cell (Yosys reads one file per ``read_liberty``)."""
    if len(texts) == 1:
        return texts[0]
    first = texts[0]
    head, _, _ = first.rpartition("}")
    cells = []
    for t in texts[1:]:
        body = t[t.index("cell", t.index("library")):]      # from the first cell group
        cells.append(body[:body.rindex("}")])
    return head + "\n".join(cells) + "\n}\n"


def ensure_synth(design, platform: Platform, view: str = "macro", period_ns: float | None = None,
                 log=print) -> Path:
    """The synthesis folder of ``design`` on ``platform``: the earlier run's when there is one (at
    ``period_ns``, if given), else made now (:func:`synthesize`, at ``period_ns`` or the default)."""
    from ..errors import HwgenError
    from .steps import read_step

    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    folder = flow_folder(manifest, platform.name, view) / "synth"
    try:
        done = read_step(folder, "synth")
        if period_ns is None or done["period_ns"] == period_ns:
            return folder
    except HwgenError:
        pass
    synthesize(manifest, platform, view, DEFAULT_PERIOD_NS if period_ns is None else period_ns, log=log)
    return folder
