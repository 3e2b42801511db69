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
  (:func:`sky130_tech_files`); it places, but qrouter does not complete (see :data:`TECHS`
  for the measured reason), so the report gives placement results and the failed-route count.

Everything reported is parsed from the tools' outputs: die size from the DEF ``DIEAREA`` and
``UNITS``, cells and cell area from the DEF components and the LEF ``SIZE``\\ s, wirelength
from the routed DEF's wire segments, failed routes from qrouter's ``Final:`` line, timing from
OpenSTA's path reports. The PNG is drawn by KLayout in batch mode from the DEF and LEFs (their
paths passed with ``-rd``, never written into the script).

Size: qflow's graywolf grows steeply with the cell count (measured: see :data:`MAX_CELLS`),
so designs above the limit are refused with a one-line error that points to the ORFS export.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ConfigError, SimulatorMissing
from ..manifest import Manifest, check_identifier
from ..files import prepare_folder
from .platform import get_platform
from .sdc import check_period, sdc_text
from .steps import step_files, flow_folder, read_step, work_folder, write_step
from .tools import FlowError, require

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

QFLOW_HINT = "install qflow and its OSU 0.18 um technology: `apt-get install qflow qflow-tech-osu018`"
# qrouter's last word on the routing (router.sh greps the same lines).
_FINAL = re.compile(r"^Final:\s*(?:(No failed routes!)|Failed net routes:\s*(\d+))", re.M)
_FAILED = re.compile(r"^Failed net routes:\s*(\d+)", re.M)
_NO_TAP = re.compile(r"^Node (\S+) of net \S+ has no tap points", re.M)
# qflow's shell scripts (tcsh) use the project path unquoted: keep it to these characters.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")
_WIRING = ("ROUTED", "NEW", "FIXED", "COVER")


@dataclass(frozen=True)
class Timing:
    """Post-route static timing (setup = max paths, hold = min paths), in ns."""

    tool: str
    period_ns: float
    setup_slack_ns: float
    hold_slack_ns: float | None
    arrival_ns: float            # data arrival time of the worst setup path
    required_ns: float           # its data required time (period - setup time +/- clock skew)
    startpoint: str
    endpoint: str
    setup_paths: int             # setup paths OpenSTA reported
    violating_paths: int

    @property
    def met(self) -> bool:
        return self.setup_slack_ns >= 0 and (self.hold_slack_ns is None or self.hold_slack_ns >= 0)


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


# -- tools and technologies -------------------------------------------------------------------

def require_qflow() -> str:
    try:
        return require("qflow")
    except SimulatorMissing:
        raise SimulatorMissing(f"qflow not found on PATH: {QFLOW_HINT}") from None


def require_klayout() -> str:
    try:
        return require("klayout")
    except SimulatorMissing:
        raise SimulatorMissing("klayout not found on PATH (it draws the layout PNG): "
                               "`apt-get install klayout`") from None


def qflow_tech_dir(qflow: str, name: str) -> Path:
    """The installed qflow technology folder ``name`` (``/usr/share/qflow/tech/<name>``)."""
    for root in (Path(qflow).resolve().parent.parent / "share" / "qflow" / "tech", Path("/usr/share/qflow/tech")):
        if (root / name / f"{name}.sh").is_file():
            return root / name
    raise SimulatorMissing(f"qflow technology {name} not installed: `apt-get install qflow-tech-{name}`")


def _lef_units(tech_lef_text: str) -> int:
    """The database units per micron blif2cel.tcl derives from the MANUFACTURINGGRID (so the
    graywolf parameters below are in the units of the .cel file it writes)."""
    grid = re.search(r"^\s*MANUFACTURINGGRID\s+([0-9.]+)", tech_lef_text, re.M)
    if not grid:
        return 100
    per_grid = int(0.5 + 1.0 / float(grid.group(1)))
    return next((u for u in (100, 200, 1000, 2000, 10000, 20000) if u % per_grid == 0), per_grid)


def _routing_layers(tech_lef_text: str) -> list[dict]:
    layers = []
    for name, body in re.findall(r"^LAYER\s+(\S+)\s*\n(.*?)^END\s+\1", tech_lef_text, re.M | re.S):
        if not re.search(r"^\s*TYPE\s+ROUTING\s*;", body, re.M):
            continue
        pitch = re.search(r"^\s*PITCH\s+([0-9.]+)", body, re.M)
        width = re.search(r"^\s*WIDTH\s+([0-9.]+)\s*;", body, re.M)
        direction = re.search(r"^\s*DIRECTION\s+(\w+)", body, re.M)
        res = re.search(r"^\s*RESISTANCE\s+RPERSQ\s+([0-9.eE+-]+)", body, re.M)
        cap = re.search(r"^\s*CAPACITANCE\s+CPERSQDIST\s+([0-9.eE+-]+)", body, re.M)
        if not (pitch and width and direction):
            continue
        layers.append({"name": name, "pitch": float(pitch.group(1)), "width": float(width.group(1)),
                       "direction": direction.group(1).lower(), "res": float(res.group(1)) if res else 0.1,
                       "cap_ff": 1e3 * float(cap.group(1)) if cap else 0.01})
    return layers


def _spice_stub(cell_lef_text: str) -> str:
    """A .subckt line per LEF macro with its pins in LEF order: what qflow's blif2BSpice and
    annotate.tcl read from a SPICE library (the transistors are not needed for layout)."""
    out = ["* generated by hwgen from the cell LEF: pin lists only"]
    for name, body in re.findall(r"^MACRO\s+(\S+)\s*\n(.*?)^END\s+\1\s*$", cell_lef_text, re.M | re.S):
        pins = re.findall(r"^\s*PIN\s+(\S+)", body, re.M)
        out += [f".subckt {name} {' '.join(pins)}", ".ends"]
    return "\n".join(out) + "\n"


def sky130_tech_files(tech_lef: Path, cell_lef: Path, liberty: Path) -> dict:
    """A qflow technology folder for sky130_fd_sc_hd (``sky130hd.sh``, ``.par``, ``.sp``,
    ``.magicrc``), generated from the ORFS platform's tech LEF, merged cell LEF and Liberty.

    The cell choices follow the cell library (minimum-drive buffer, inverter, NAND/NOR, the
    plain D flip-flop, conb tie cell, fill/decap/tap prefixes). Paths are absolute, so qflow
    uses the files where they are.
    """
    tlef = tech_lef.read_text(errors="replace")
    units = _lef_units(tlef)
    layers = _routing_layers(tlef)
    # li1 is the cells' local interconnect; qrouter routes on the first N LEF layers, which
    # include it, but graywolf's rules (its global-route estimate) start at met1 as ORFS does.
    metals = [ly for ly in layers if ly["name"] != "li1"]
    if not metals:
        raise FlowError(f"{tech_lef}: no routing layers found")
    vertical = next(ly for ly in metals if ly["direction"] == "vertical")
    horizontal = next(ly for ly in metals if ly["direction"] == "horizontal")
    u = lambda um: int(round(um * units))    # noqa: E731  (LEF microns -> .cel units)
    rules = [f"    layer {ly['name']} {ly['res']:g} {ly['cap_ff']:g} {ly['direction']}" for ly in metals]
    rules += [f"    via via{i + 1}{i + 2} {a['name']} {b['name']}" for i, (a, b) in enumerate(zip(metals, metals[1:]))]
    rules += [f"    width {ly['name']} {u(ly['width'])}" for ly in metals]
    rules += [f"    spacing {ly['name']} {ly['name']} {u(ly['pitch'] - ly['width'])}" for ly in metals]
    par = "\n".join([
        f"# sky130hd.par --- GrayWolf parameters generated by hwgen from {tech_lef.name}",
        f"# distances in 1/{units} um (blif2cel's units for this LEF)", "", "RULES", *rules, "ENDRULES", "",
        "*vertical_wire_weight : 1.0", "*vertical_path_weight : 1.0", "*padspacing           : variable",
        "*rowSep               : 0.0   0", f"*track.pitch          : {u(vertical['pitch'])}",
        f"*minimum_pad_space    : {u(vertical['pitch'])}", f"*gridX                : {u(vertical['pitch'])}",
        f"*gridY                : {u(horizontal['pitch'])}", "*gridOffsetX          : 0", "*gridOffsetY          : 0",
        "*graphics.wait        : off", "*last_chance.wait     : off", "*random.seed          : 12345", "",
        "TWMC*chip.aspect.ratio : 0.75", "",
        f"TWSC*feedThruWidth    : {u(vertical['pitch'])} layer 1", "TWSC*do.global.route  : on",
        "TWSC*ignore_feeds     : true", "TWSC*call_row_evener  : true", "TWSC*even_rows_maximally : true", "",
        "GENR*row_to_tile_spacing: 1", "GENR*flip_alternate_rows : 1", ""])
    lib = "sky130_fd_sc_hd__"
    sh = "\n".join([
        "#!/usr/bin/tcsh", "# qflow technology sky130hd, generated by hwgen from the ORFS platform files", "",
        f"set leffile={cell_lef}", f"set techleffile={tech_lef}", f"set libertyfile={liberty}",
        "set spicefile=sky130hd.sp", "",
        f"set flopcell={lib}dfxtp_1", "set floppinout=Q", "set floppinin=D", "set floppinclk=CLK",
        f"set bufcell={lib}buf_1", "set bufpin_in=A", "set bufpin_out=X",
        f"set clkbufcell={lib}clkbuf_1", "set clkbufpin_in=A", "set clkbufpin_out=X",
        f"set inverter={lib}inv_1", "set invertpin_in=A", "set invertpin_out=Y",
        f"set norgate={lib}nor2_1", "set norpin_in1=A", "set norpin_in2=B", "set norpin_out=Y",
        f"set nandgate={lib}nand2_1", "set nandpin_in1=A", "set nandpin_in2=B", "set nandpin_out=Y",
        f"set fillcell={lib}fill_", f"set decapcell={lib}decap_", 'set antennacell=""', 'set antennapin_in=""',
        f"set bodytiecell={lib}tapvpwrvgnd_",
        f'set tiehi="{lib}conb_1"', 'set tiehipin_out="HI"', f'set tielo="{lib}conb_1"', 'set tielopin_out="LO"',
        'set gndnet="VGND,VNB"', 'set vddnet="VPWR,VPB"',
        'set separator=""', "set techfile=sky130hd.tech", "set magicrc=sky130hd.magicrc", 'set gdsfile=""', "",
        # met5 (3.4 um pitch) is for power; five layers are li1..met4
        "set route_layers=5",
        # graywolf packs rows full (91 % measured); qflow's decongest pads cells with fill to
        # this cell density (measured: 630 failed nets -> 243)
        "set initial_density=0.6", 'set fanout_options="-l 200 -c 20"', 'set addspacers_options="-stripe 2.5 50.0 PG"',
        'set via_stacks="2"', ""])
    return {"sky130hd.sh": sh, "sky130hd.par": par, "sky130hd.sp": _spice_stub(cell_lef.read_text(errors="replace")),
            "sky130hd.magicrc": "# not used: hwgen runs no magic step\n"}


# -- parsing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DefSummary:
    units: int                   # DEF database units per micron
    die: tuple                   # (x0, y0, x1, y1) in DEF units
    components: dict             # macro -> count
    wirelength_um: float         # regular NETS wire segments
    vias: int


def _section(text: str, name: str) -> str:
    m = re.search(rf"^\s*{name}\s+\d+\s*;(.*?)^\s*END\s+{name}\b", text, re.M | re.S)
    return m.group(1) if m else ""


def _route_length(wiring: str) -> tuple[int, int]:
    """Manhattan length (DEF units) and via count of one net's wiring (the text from its first
    ``ROUTED``): wires are ``ROUTED|NEW layer ( x y ) ( x * ) via ...``, ``*`` repeating the
    previous coordinate."""
    tokens = re.findall(r"[()]|[^\s()]+", wiring)
    length = vias = 0
    prev, i = None, 0
    while i < len(tokens):
        t = tokens[i]
        if t in _WIRING:
            prev, i = None, i + 2                 # a new wire: skip its layer name
        elif t == "(":
            j = tokens.index(")", i)
            x, y = tokens[i + 1:i + 3]
            point = (prev[0] if x == "*" else int(float(x)), prev[1] if y == "*" else int(float(y)))
            if prev is not None:
                length += abs(point[0] - prev[0]) + abs(point[1] - prev[1])
            prev, i = point, j + 1
        elif t == "+":
            if i + 1 < len(tokens) and tokens[i + 1] in _WIRING:
                i += 1
            else:
                break                             # another net attribute: the wiring ended
        else:
            vias += 1                             # a via name between two points
            i += 1
    return length, vias


def parse_def(text: str) -> DefSummary:
    units = re.search(r"^\s*UNITS\s+DISTANCE\s+MICRONS\s+(\d+)\s*;", text, re.M)
    die = re.search(r"^\s*DIEAREA\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)", text, re.M)
    if not units or not die:
        raise FlowError("the DEF has no UNITS or DIEAREA")
    comps: dict = {}
    for macro in re.findall(r"^\s*-\s+\S+\s+(\S+)", _section(text, "COMPONENTS"), re.M):
        comps[macro] = comps.get(macro, 0) + 1
    length = vias = 0
    for net in _section(text, "NETS").split(";"):
        if "+ ROUTED" in net:
            n, v = _route_length("ROUTED" + net.split("+ ROUTED", 1)[1])
            length, vias = length + n, vias + v
    scale = int(units.group(1))
    return DefSummary(units=scale, die=tuple(int(v) for v in die.groups()), components=comps,
                      wirelength_um=length / scale, vias=vias)


def parse_lef_macros(text: str) -> dict:
    """macro -> (width um, height um, CLASS) from a cell LEF."""
    macros = {}
    for name, body in re.findall(r"^MACRO\s+(\S+)\s*\n(.*?)^END\s+\1\s*$", text, re.M | re.S):
        size = re.search(r"^\s*SIZE\s+([0-9.]+)\s+BY\s+([0-9.]+)", body, re.M)
        cls = re.search(r"^\s*CLASS\s+([^;]+);", body, re.M)
        if size:
            macros[name] = (float(size.group(1)), float(size.group(2)), cls.group(1).strip() if cls else "")
    return macros


def is_filler(macro: str, lef_class: str, fill_prefixes=()) -> bool:
    """Fill, decap and well-tap cells: placed by qflow around the logic, not part of it."""
    return lef_class.startswith(("CORE SPACER", "CORE WELLTAP")) or any(macro.startswith(p) for p in fill_prefixes)


def parse_failed_routes(route_log: str) -> int | None:
    """qrouter's final failed-route count (0 when it says none), None if it never finished."""
    finals = _FINAL.findall(route_log)
    if not finals:
        return None
    ok, count = finals[-1]
    return 0 if ok else int(count)


def routing_failure(route_log: str, seconds: float, finished: bool) -> tuple[int | None, str]:
    """(failed nets, one sentence) for a routing that did not complete: qrouter's final count,
    or the last one it printed when it was stopped, and the pins it found no access to."""
    failed = parse_failed_routes(route_log)
    if failed is None:
        counts = _FAILED.findall(route_log)
        failed = int(counts[-1]) if counts else None
    pins = sorted(set(_NO_TAP.findall(route_log)))
    what = "ended" if finished else f"was stopped after {seconds:.0f} s"
    text = f"qrouter {what} with {failed if failed is not None else 'an unknown number of'} failed nets"
    if pins:
        text += f"; {len(pins)} pins had no tap point on its grid (pin access), e.g. {', '.join(pins[:2])}"
    return failed, text


def _paths(text: str):
    for block in re.split(r"^Startpoint:", text, flags=re.M)[1:]:
        kind = re.search(r"^Path Type:\s*(\w+)", block, re.M)
        slack = re.search(r"^\s*(-?[0-9.]+)\s+slack\s+\((MET|VIOLATED)\)", block, re.M)
        arrival = re.search(r"^\s*(-?[0-9.]+)\s+data arrival time", block, re.M)
        required = re.search(r"^\s*(-?[0-9.]+)\s+data required time", block, re.M)
        end = re.search(r"^Endpoint:\s*(\S+)", block, re.M)
        if kind and slack and arrival and required:
            yield {"type": kind.group(1), "slack": float(slack.group(1)), "arrival": float(arrival.group(1)),
                   "required": float(required.group(1)), "start": block.split(None, 1)[0],
                   "end": end.group(1) if end else ""}


def parse_opensta(text: str, period_ns: float, tool: str) -> Timing:
    """The worst setup (and hold) path of OpenSTA's ``report_checks -path_delay min_max``."""
    paths = list(_paths(text))
    setup = [p for p in paths if p["type"] == "max"]
    hold = [p for p in paths if p["type"] == "min"]
    if not setup:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise FlowError(f"post-route OpenSTA reported no setup path:\n{tail}")
    worst = min(setup, key=lambda p: p["slack"])
    return Timing(tool=tool, period_ns=period_ns, setup_slack_ns=worst["slack"],
                  hold_slack_ns=min(p["slack"] for p in hold) if hold else None, arrival_ns=worst["arrival"],
                  required_ns=worst["required"], startpoint=worst["start"], endpoint=worst["end"],
                  setup_paths=len(setup), violating_paths=sum(p["slack"] < 0 for p in setup))


# -- running ----------------------------------------------------------------------------------

# KLayout draws the DEF over the LEFs; every path comes in as a -rd variable.
KLAYOUT_SCRIPT = """\
import pya
options = pya.LoadLayoutOptions()
config = options.lefdef_config
config.lef_files = [globals()["lef%d" % i] for i in range(int(lef_count))]
config.read_lef_with_def = False
view = pya.LayoutView()
view.set_config("background-color", "#ffffff")
view.set_config("grid-visible", "false")
view.set_config("text-visible", "false")
view.load_layout(def_file, options, True)
view.add_missing_layers()
view.max_hier()
view.zoom_fit()
view.save_image(png, int(width), int(height))
"""


def _env() -> dict:
    env = dict(os.environ)
    env.pop("DISPLAY", None)                  # qflow then runs graywolf with -n (no graphics)
    env.pop("QFLOW_TECH", None)
    env.pop("QFLOW_TECH_DIR", None)
    env.pop("QFLOW_PROJECT_ROOT", None)
    env["QT_QPA_PLATFORM"] = "offscreen"      # KLayout headless
    return env


def _run(cmd: list, cwd: Path, log: Path, timeout: float) -> tuple[int | None, float]:
    """Run ``cmd`` in its own process group (qflow's tcsh scripts start graywolf and qrouter);
    on timeout the whole group is ended. Returns (exit code or None on timeout, seconds)."""
    start = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=_env(), start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if code is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return code, round(time.monotonic() - start, 1)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def _work(out_dir: Path):
    """The work folder: beside the output (same file system) when its path suits qflow's tcsh
    scripts, which take paths unquoted; otherwise in the system's temporary folder."""
    if _SAFE_PATH.fullmatch(str(out_dir.resolve().parent)):
        with work_folder(out_dir) as work:
            yield work
        return
    with tempfile.TemporaryDirectory(prefix="hwgen_pnr_") as tmp:
        if not _SAFE_PATH.fullmatch(tmp):
            raise ConfigError(f"qflow cannot work in {tmp} (its scripts take no spaces or special characters in "
                              f"paths): set TMPDIR to a plain path")
        yield Path(tmp)


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

    with _work(out_dir) as work:
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
            code, secs = _run([qflow, "-T", tech, name, top], work, qlog, min(left, budget or left))
            seconds[name] = secs
            if code is None and (budget is None or budget >= left):
                raise FlowError(f"qflow {name} of {top} did not finish within the {timeout_s:g} s limit")
            return code

        if stage("synthesize") != 0:
            raise FlowError(f"qflow synthesis of {top} failed:\n{_tail(work / 'log' / 'synth.log')}")
        blif = (work / "synthesis" / f"{top}.blif").read_text()
        synth_cells = len(re.findall(r"^\.(?:gate|subckt)\s", blif, re.M))
        if synth_cells > max_cells:
            raise _too_large(top, synth_cells, "cells after qflow synthesis", max_cells)
        if stage("place") != 0:
            raise FlowError(f"qflow placement of {top} failed:\n{_tail(work / 'log' / 'place.log')}")
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
                raise FlowError(f"qflow post-route timing of {top} failed:\n{_tail(work / 'log' / 'post_sta.log')}")
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
        klog = work / "log" / "klayout.log"
        cmd = [klayout, "-b", "-r", str(work / "draw.py"), "-rd", f"def_file={final_def}",
               "-rd", f"png={work / png_name}", "-rd", f"width={int(png_size[0])}", "-rd", f"height={int(png_size[1])}",
               "-rd", f"lef_count={len(lefs)}"]
        for i, lef in enumerate(lefs):
            cmd += ["-rd", f"lef{i}={lef}"]
        (work / "draw.py").write_text(KLAYOUT_SCRIPT)
        log(f"[pnr] klayout: drawing {final_def.name}")
        code, seconds["png"] = _run(cmd, work, klog, 300)
        if code != 0 or not (work / png_name).is_file():
            raise FlowError(f"klayout could not draw the layout:\n{_tail(klog)}")

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
