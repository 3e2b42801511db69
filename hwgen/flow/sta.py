"""Static timing analysis of a synthesized design with OpenSTA (Debian ``opensta``, ``sta``).

Pre-layout: ideal clock, no wire parasitics (the cells' pin loads only). The constraints are
:func:`hwgen.flow.sdc.sdc_text` (I/O delays 20 % of the period). Debian's OpenSTA (2019) has no
minimum-period report, so fmax is ``1 / (period - worst setup slack)``: the clock at which the
worst path would just meet setup, the I/O delays held at their absolute values.

The Tcl script is constant text: the files have fixed names in the work folder and the top
module comes in through the environment (``HWGEN_TOP``, a validated identifier).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..manifest import check_identifier
from .platform import Platform
from .sdc import check_period, sdc_text
from .steps import link, read_step, work_folder, write_step
from .tools import YOSYS, FlowError, run_tool

FANOUT_LIMIT = 12          # loads per net after buffering, as repair_design's max-fanout default would cap it


def buffer_fanout(netlist: dict, top: str, buffer: tuple, limit: int = FANOUT_LIMIT) -> tuple[dict, int]:
    """The netlist (Yosys JSON) with every net of more than ``limit`` cell loads driven through a
    tree of ``buffer`` cells (``(cell, in pin, out pin)``), and the number of buffers added.

    Yosys puts no buffer trees on nets that cross the hierarchy (a layer's control signals reach
    every cell of the layer: 1.6-10 pF on one X1 gate in the MNIST network, hundreds of ns).
    Place and route repairs that (OpenROAD's repair_design); this does the same for pre-layout
    STA, so its fmax is the logic's and not an artefact of unbuffered broadcast nets. The
    buffers are timed, not counted in area or energy.
    """
    module = netlist["modules"][top]
    cell, pin_in, pin_out = buffer
    loads = {}
    for name, c in module["cells"].items():
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) == "input":
                for k, b in enumerate(bits):
                    if isinstance(b, int):
                        loads.setdefault(b, []).append((name, port, k))
    next_bit = 1 + max((b for bits in ([n["bits"] for n in module["netnames"].values()]
                                        + [p["bits"] for p in module["ports"].values()]) for b in bits
                        if isinstance(b, int)), default=1)
    added = 0
    for bit, sinks in sorted(loads.items()):
        level = sinks
        while len(level) > limit:
            parents = []
            for start in range(0, len(level), limit):
                out, added = next_bit, added + 1
                next_bit += 1
                name = f"hwgen_fanout_buf_{added}"
                module["cells"][name] = {"hide_name": 0, "type": cell, "parameters": {}, "attributes": {},
                                         "port_directions": {pin_in: "input", pin_out: "output"},
                                         "connections": {pin_in: [bit], pin_out: [out]}}
                module["netnames"][f"hwgen_fanout_net_{added}"] = {"hide_name": 0, "bits": [out], "attributes": {}}
                for c_name, port, k in level[start:start + limit]:
                    module["cells"][c_name]["connections"][port][k] = out
                parents.append((name, pin_in, 0))
            level = parents
    return netlist, added


SCRIPT = """\
read_liberty cells.lib
if {[file exists macros.lib]} { read_liberty macros.lib }
read_verilog netlist.v
link_design $::env(HWGEN_TOP)
read_sdc constraint.sdc
puts "HWGEN setup_slack [sta::worst_slack -max]"
puts "HWGEN hold_slack [sta::worst_slack -min]"
puts "HWGEN_SETUP_PATH"
report_checks -path_delay max -digits 4
puts "HWGEN_HOLD_PATH"
report_checks -path_delay min -digits 4
puts "HWGEN_END"
report_tns
report_wns
"""


def _path(text: str) -> dict:
    start = re.search(r"Startpoint:\s*(.+)", text)
    end = re.search(r"Endpoint:\s*(.+)", text)
    arrival = re.search(r"([-0-9.]+)\s+data arrival time", text)
    return {"start": start.group(1).strip() if start else None, "end": end.group(1).strip() if end else None,
            "arrival_ns": float(arrival.group(1)) if arrival else None}


def parse_sta(out: str, period_ns: float) -> dict:
    setup = re.search(r"HWGEN setup_slack (\S+)", out)
    hold = re.search(r"HWGEN hold_slack (\S+)", out)
    if not setup or not hold:
        raise FlowError("OpenSTA printed no slack:\n" + "\n".join(out.strip().splitlines()[-15:]))
    setup_slack, hold_slack = float(setup.group(1)), float(hold.group(1))
    setup_text = out.split("HWGEN_SETUP_PATH", 1)[1].split("HWGEN_HOLD_PATH", 1)[0]
    hold_text = out.split("HWGEN_HOLD_PATH", 1)[1].split("HWGEN_END", 1)[0]
    critical = period_ns - setup_slack
    return {"period_ns": period_ns, "setup_slack_ns": round(setup_slack, 4), "hold_slack_ns": round(hold_slack, 4),
            "met": setup_slack >= 0 and hold_slack >= 0, "critical_ns": round(critical, 4),
            "fmax_mhz": round(1e3 / critical, 2) if critical > 0 else None,
            "setup_path": _path(setup_text), "hold_path": _path(hold_text)}


def run_sta(synth_folder, platform: Platform, period_ns: float | None = None, out_dir=None, log=print) -> dict:
    """OpenSTA on the netlist a :func:`~hwgen.flow.synth.synthesize` run wrote into
    ``synth_folder``, after :func:`buffer_fanout` when the platform names a buffer cell; results
    into ``out_dir`` (default: the sibling ``sta`` folder)."""
    synth_folder = Path(synth_folder)
    synth = read_step(synth_folder, "synth")
    period = check_period(period_ns if period_ns is not None else synth["period_ns"])
    top = check_identifier("top", synth["top"])
    out_dir = Path(out_dir) if out_dir else synth_folder.parent / "sta"
    sdc = sdc_text(top, period)
    with work_folder(out_dir) as work:
        link(work, "cells.lib", platform.prepared_liberty())
        buffers = 0
        if platform.buffer:
            netlist, buffers = buffer_fanout(json.loads((synth_folder / "netlist.json").read_text()), top,
                                             (platform.buffer[0], platform.buffer[1], platform.buffer[2]))
        if buffers:
            (work / "buffered.json").write_text(json.dumps(netlist))
            run_tool([YOSYS, "-q", "-p", "read_json buffered.json; "       # its cells' black boxes included
                      "write_verilog -noattr -noexpr -nohex -nodec -norename netlist.v"],
                     "yosys: writing the fanout-buffered netlist", cwd=work)
            log(f"[sta] {buffers} fanout buffers ({platform.buffer[0]}, at most {FANOUT_LIMIT} loads a net) for timing")
        else:
            link(work, "netlist.v", synth_folder / "netlist.v")
        if (synth_folder / "macros.lib").is_file():
            link(work, "macros.lib", synth_folder / "macros.lib")
        (work / "constraint.sdc").write_text(sdc)
        (work / "sta.tcl").write_text(SCRIPT)
        log(f"[sta] OpenSTA: {top} on {platform.name}, clock {period:g} ns")
        out = run_tool(["sta", "-no_init", "-exit", "sta.tcl"], f"OpenSTA on {top}", cwd=work,
                       env={**os.environ, "HWGEN_TOP": top})
        if re.search(r"^Error:", out, re.M):
            raise FlowError("OpenSTA reported errors:\n" + "\n".join(re.findall(r"^Error:.*", out, re.M)[:5]))
        result = {**parse_sta(out, period), "top": top, "platform": platform.name, "fanout_buffers": buffers,
                  "fanout_limit": FANOUT_LIMIT if platform.buffer else None,
                  "view": synth.get("view"), "design": synth.get("design")}
        files = {"constraint.sdc": sdc, "sta.tcl": SCRIPT, "sta.log": out}
    write_step(out_dir, "sta", files, result)
    result["folder"] = str(out_dir)
    return result
