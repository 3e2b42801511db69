"""Placement and routing of a generated design with qflow: a demonstration that the generated
netlist goes through a real physical flow, with die area, wirelength, post-route timing and a
picture of the layout.

Where it sits: after ``hwgen rtl`` (it reads the design's ``synth`` view, the one without
black boxes) and beside ``hwgen synth``/``hwgen sta``; its results go to
``<design>/flow/<tech>_<view>/pnr/`` (:mod:`hwgen.flow.steps`). Numbers for users on sky130
come from the OpenROAD-flow-scripts export, not from here: qflow's tools (graywolf, qrouter)
are from another generation and complete only on small designs.

The run is qflow 1.3 (Debian ``qflow``) driven stage by stage, non-interactively, in a work
folder laid out as qflow expects (``source/``, ``synthesis/``, ``layout/``, ``log/`` and a
``project_vars.sh``):

- ``synthesize``: qflow's own Yosys script on the view's Verilog (concatenated into one
  ``source/<top>.v``) mapped to the technology's Liberty, then blifFanout buffering;
- ``place``: graywolf, fill cells and power stripes (addspacers), pins arranged;
- ``route``: qrouter, then the RC extraction of the routed wires (``<top>.rc``);
- ``backanno``: OpenSTA (qflow's ``opensta.sh``) on the routed netlist with the wire delays
  of that extraction as SDF, under hwgen's constraints (:func:`hwgen.flow.sdc.sdc_text`) plus
  ``set_propagated_clock``, so the clock buffers qflow inserted count.

Technologies:

- ``osu018`` (Debian ``qflow-tech-osu018``, the OSU 0.18 um cells): placed and routed end to
  end. Measured on this machine (2 cores): the (n=8, N=2, M=2) par2seq array, 2615 cells,
  in 86 s with no failed route.
- ``sky130hd``: a qflow technology folder generated from the platform's LEF and Liberty
  (:func:`hwgen.flow.qflowtech.sky130_tech_files`); it places, but qrouter does not complete (see
  :data:`TECHS` for the measured reason), so the report gives placement results and the
  failed-route count.

Everything reported is parsed from the tools' outputs: die size from the DEF ``DIEAREA`` and
``UNITS``, cells and cell area from the DEF components and the LEF ``SIZE``\\ s, wirelength
from the routed DEF's wire segments, failed routes from qrouter's ``Final:`` line, timing from
OpenSTA's path reports. The PNG is drawn by KLayout in batch mode from the DEF and LEFs (their
paths passed with ``-rd``, never written into the script).

Size: qflow's graywolf grows steeply with the cell count (measured: see :data:`MAX_CELLS`),
so designs above the limit are refused with a one-line error that points to the ORFS export.

This module owns the run (:func:`place_and_route`) and its report; the technologies are
:mod:`hwgen.flow.qflowtech`, running the tools and drawing the PNG :mod:`hwgen.flow.pnrtools`,
reading their outputs :mod:`hwgen.flow.pnrparse`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..files import prepare_folder
from ..manifest import Manifest, check_identifier
from .platform import get_platform
from .pnrparse import (Timing, is_filler, parse_def, parse_failed_routes, parse_lef_macros, parse_opensta,
                       routing_failure)
from .pnrtools import draw_png, log_tail, qflow_work, require_klayout, require_qflow, run_group
from .qflowtech import qflow_tech_dir, sky130_tech_files
from .sdc import check_period, sdc_text
from .steps import flow_folder, read_step, step_files, write_step
from .tools import FlowError


STEP = "pnr"

# Designs hwgen places and routes with qflow. Measured on osu018 (2 cores, qflow 1.3.17; the
# times partly with a second run on the other core):
#   (n=8,  N=2, M=2)   256 weight bits, 2615 cells:  86 s alone (place 50 s, route 31 s),
#                      die 423 x 296 um, no failed route
#   (n=8,  N=3, M=3)   576 weight bits, 5283 cells:  7 min (place 3.2 min, route 3.9 min),
#                      die 585 x 426 um, no failed route
#   (n=16, N=2, M=2)  1024 weight bits, 8893 cells:  29.5 min (place 19 min, route 11 min),
#                      die 739 x 526 um, no failed route
# graywolf's annealing grows much faster than the cell count (x2 cells: x4-6 placement time, x3.4
# cells: x20), so past ~6 k cells a run leaves the minutes of a demonstration; the ORFS export is
# for those.
MAX_WEIGHT_BITS = 576
MAX_CELLS = 6000

# The qflow technologies hwgen knows, and whether qrouter completes there (measured).
# sky130hd, (n=8,N=2,M=2), 2799 cells: packed as graywolf packs them (91 % utilisation,
# 192.7 x 134.6 um) qrouter went from 655 to 630 failed nets in 7 min; padded to 60 % cell
# density (decongest, below) it still had 243 after 300 s. 3 pins of xor3_4 cells have no tap
# point on its grid (pin access), the rest is congestion on li1..met4. So routing there gets a
# fixed budget and the report gives the placement and the failed-net count qrouter reached.
TECHS = {
    "osu018": {"routes": True, "note": "qflow's own OSU 0.18 um technology (Debian qflow-tech-osu018)"},
    "sky130hd": {"routes": False, "route_budget_s": 300.0,
                 "note": "sky130hd is placement only in qflow (a technology generated from the ORFS LEF and "
                         "Liberty); sky130 numbers come from the ORFS export"},
}


@dataclass
class PnrReport:
    """What a placement-and-routing run measured (all parsed from the tools' outputs)."""

    design: str
    top: str
    view: str
    tech: str
    status: str                  # "routed" (no failed route) or "placed"
    reason: str | None           # why not routed, when status is "placed"
    cells: int                   # placed standard cells (fill, decap and tap cells apart)
    fill_cells: int
    cell_area_um2: float         # sum of the LEF sizes of the placed cells (no fill)
    die_width_um: float
    die_height_um: float
    die_area_um2: float
    utilisation: float           # cell area / die area
    wirelength_um: float | None  # signal wires of the routed DEF (None when not routed)
    vias: int | None
    failed_routes: int | None    # qrouter's final count (None when routing did not run)
    timing: Timing | None        # post-route STA (None when not routed)
    png: str | None              # file name in the output folder
    files: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)   # per stage, measured
    folder: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        if self.timing is not None:
            d["timing"]["met"] = self.timing.met
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1, sort_keys=True) + "\n"


# -- size -----------------------------------------------------------------------------------

def weight_bits(manifest: Manifest) -> int:
    """2T2R weight bits of a design: its array, or the sum over a network's layers."""
    if manifest.hw is not None:
        return manifest.hw.weight_bits
    return sum(p.hw.weight_bits for p in manifest.layers)


def _too_large(top: str, count: int, what: str, limit: int) -> ConfigError:
    return ConfigError(f"{top} has {count} {what}, above qflow's limit of {limit} (measured on osu018: 576 weight "
                       f"bits take 7 min, 1024 take 30 min); use the ORFS export (`hwgen export orfs`) for larger "
                       f"designs")


def check_size(manifest: Manifest, max_weight_bits: int = MAX_WEIGHT_BITS) -> int:
    """Refuse, before any tool runs, a design whose weight bits exceed the measured limit."""
    bits = weight_bits(manifest)
    if bits > max_weight_bits:
        raise _too_large(manifest.top, bits, "weight bits", max_weight_bits)
    return bits


# -- the run ---------------------------------------------------------------------------------

def place_and_route(design_folder, tech: str = "osu018", view: str = "synth", out_dir=None,
                    period_ns: float = 10.0, timeout_s: float = 1800.0, max_weight_bits: int = MAX_WEIGHT_BITS,
                    max_cells: int = MAX_CELLS, png_size: tuple = (1200, 900), log=print) -> PnrReport:
    """Place and route one view of a generated design with qflow on ``tech`` (see the module
    docstring); results into ``out_dir`` (default ``<design>/flow/<tech>_<view>/pnr``)."""
    if tech not in TECHS:
        raise ConfigError(f"--tech must be one of {', '.join(TECHS)}, not {tech!r}")
    period = check_period(period_ns)
    manifest = Manifest.load(design_folder)
    v = manifest.view(view)
    top = check_identifier("top", v.top)
    if v.blackbox:
        raise ConfigError(f"view {view!r} has black boxes ({', '.join(v.blackbox)}) qflow cannot place; "
                          f"use the synth view")
    sources = manifest.sources(view)
    check_size(manifest, max_weight_bits)
    qflow = require_qflow()
    klayout = require_klayout()
    out_dir = Path(out_dir) if out_dir else flow_folder(manifest, tech, view) / STEP
    prepare_folder(out_dir, step_files, "--out")    # a bad output folder fails now, not after minutes
    spec = TECHS[tech]

    with qflow_work(out_dir) as work:
        for sub in ("source", "synthesis", "layout", "log"):
            (work / sub).mkdir()
        # qflow finds the module in source/; one file holds every module of the view
        (work / "source" / f"{top}.v").write_text("\n".join(p.read_text() for p in sources))
        # hwgen's constraints, plus the clock buffers qflow inserted (there is no CTS)
        sdc = sdc_text(top, period) + "set_propagated_clock [all_clocks]\n"
        (work / "synthesis" / f"{top}.sdc").write_text(sdc)
        (work / "project_vars.sh").write_text("#!/usr/bin/tcsh -f\n# written by hwgen\nset run_opensta=1\n")
        files: dict = {}
        if tech == "osu018":
            tech_dir = qflow_tech_dir(qflow, tech)
            fill_prefixes = ("FILL",)
        else:
            platform = get_platform(tech)
            tech_files = sky130_tech_files(platform.tech_lef, platform.cell_lef, platform.prepared_liberty())
            tech_dir = work / "tech" / tech
            tech_dir.mkdir(parents=True)
            for name, text in tech_files.items():
                (tech_dir / name).write_text(text)
                files[name] = text                # kept: the generated technology is part of the result
            fill_prefixes = ("sky130_fd_sc_hd__fill_", "sky130_fd_sc_hd__decap_", "sky130_fd_sc_hd__tapvpwrvgnd_")
        tech_text = (tech_dir / f"{tech}.sh").read_text()
        lefs = [Path(m if m.startswith("/") else tech_dir / m) for m in
                re.findall(r"^set\s+(?:techleffile|leffile)\s*=\s*\"?([^\s\";]+)", tech_text, re.M)]
        liberty = re.search(r"^set\s+libertyfile\s*=\s*\"?([^\s\";]+)", tech_text, re.M).group(1)
        liberty = Path(liberty if liberty.startswith("/") else tech_dir / liberty)
        unit = re.search(r'time_unit\s*:\s*"?1(\w+)"?', liberty.read_text(errors="replace")[:20000])
        if not unit or unit.group(1) != "ns":
            raise FlowError(f"{liberty}: hwgen's constraints are in ns, the library's time unit is not 1ns")

        seconds, qlog = {}, work / "log" / "qflow.log"
        deadline = time.monotonic() + timeout_s

        def stage(name, budget=None):
            """Exit code of one qflow stage; None when ``budget`` (seconds) ran out."""
            log(f"[pnr] qflow {name}: {top} on {tech}")
            left = max(1.0, deadline - time.monotonic())
            code, secs = run_group([qflow, "-T", tech, name, top], work, qlog, min(left, budget or left))
            seconds[name] = secs
            if code is None and (budget is None or budget >= left):
                raise FlowError(f"qflow {name} of {top} did not finish within the {timeout_s:g} s limit")
            return code

        if stage("synthesize") != 0:
            raise FlowError(f"qflow synthesis of {top} failed:\n{log_tail(work / 'log' / 'synth.log')}")
        blif = (work / "synthesis" / f"{top}.blif").read_text()
        synth_cells = len(re.findall(r"^\.(?:gate|subckt)\s", blif, re.M))
        if synth_cells > max_cells:
            raise _too_large(top, synth_cells, "cells after qflow synthesis", max_cells)
        if stage("place") != 0:
            raise FlowError(f"qflow placement of {top} failed:\n{log_tail(work / 'log' / 'place.log')}")
        route_code = stage("route", spec.get("route_budget_s"))
        route_log = (work / "log" / "route.log").read_text(errors="replace")
        failed = parse_failed_routes(route_log)
        routed = route_code == 0 and failed == 0
        reason = None
        if not routed:
            # a result, not an error: the placement and the logs are kept and reported
            failed, why = routing_failure(route_log, seconds["route"], route_code is not None)
            reason = why if spec["routes"] else f"{why}. {spec['note']}"
        timing = None
        if routed:
            if stage("backanno") != 0:
                raise FlowError(f"qflow post-route timing of {top} failed:\n{log_tail(work / 'log' / 'post_sta.log')}")
            sta_log = (work / "log" / "post_sta.log").read_text(errors="replace")
            version = re.search(r"^(OpenSTA \S+)", sta_log, re.M)
            timing = parse_opensta(sta_log, period, f"{version.group(1) if version else 'OpenSTA'} (qflow backanno): "
                                                    f"qrouter RC extraction as SDF wire delays, propagated clock")

        layout = work / "layout"
        final_def = layout / (f"{top}.def" if routed else f"{top}_unroute.def")
        summary = parse_def(final_def.read_text(errors="replace"))
        macros: dict = {}
        for lef in lefs:
            macros.update(parse_lef_macros(lef.read_text(errors="replace")))
        missing = sorted(set(summary.components) - set(macros))
        if missing:
            raise FlowError(f"the placed DEF uses cells the LEF does not define: {', '.join(missing[:5])}")
        logic = {m: n for m, n in summary.components.items() if not is_filler(m, macros[m][2], fill_prefixes)}
        cell_area = sum(n * macros[m][0] * macros[m][1] for m, n in logic.items())
        x0, y0, x1, y1 = summary.die
        width, height = (x1 - x0) / summary.units, (y1 - y0) / summary.units

        png_name = f"{top}.png"
        seconds["png"] = draw_png(klayout, work, final_def, lefs, png_name, png_size, log)

        # flat names: the step folder lists every entry it owns (hwgen.flow.steps)
        keep = {f"{top}_placed.def": layout / f"{top}_unroute.def", png_name: work / png_name,
                f"{top}.sdc": work / "synthesis" / f"{top}.sdc", "source.v": work / "source" / f"{top}.v",
                "netlist.v": work / "synthesis" / f"{top}.rtlnopwr.v", "draw.py": work / "draw.py",
                "project_vars.sh": work / "project_vars.sh"}
        keep.update({p.name: p for p in sorted((work / "log").glob("*.log"))})
        if routed:
            keep.update({f"{top}.def": final_def, f"{top}.sdf": work / "synthesis" / f"{top}.sdf"})
        for name, path in keep.items():
            if path.is_file() and name not in files:
                files[name] = path.read_bytes()
        report = PnrReport(design=str(manifest.folder), top=top, view=view, tech=tech,
                           status="routed" if routed else "placed", reason=reason, cells=sum(logic.values()),
                           fill_cells=sum(summary.components.values()) - sum(logic.values()),
                           cell_area_um2=round(cell_area, 2), die_width_um=width, die_height_um=height,
                           die_area_um2=round(width * height, 2), utilisation=round(cell_area / (width * height), 4),
                           wirelength_um=round(summary.wirelength_um, 2) if routed else None,
                           vias=summary.vias if routed else None, failed_routes=failed, timing=timing,
                           png=png_name, files=sorted(files), seconds=seconds)
    report.folder = str(out_dir)
    write_step(out_dir, STEP, files, report.as_dict())
    total = sum(seconds.values())
    log(f"[pnr] {top} on {tech}: {report.status}, die {width:.1f} x {height:.1f} um, {report.cells} cells, "
        f"{total:.0f} s -> {out_dir}")
    return report


def load_report(folder) -> dict:
    """The report a :func:`place_and_route` run wrote into ``folder``."""
    return read_step(folder, STEP)
