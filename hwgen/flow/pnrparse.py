"""What a qflow run measured, read from the files its tools wrote: die size, cells and wirelength
from the DEF (:func:`parse_def`), cell sizes and classes from the LEF
(:func:`parse_lef_macros`), the failed routes from qrouter's log (:func:`parse_failed_routes`,
:func:`routing_failure`), and the worst post-route paths from OpenSTA's report
(:func:`parse_opensta`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tools import FlowError


# qrouter's last word on the routing (router.sh greps the same lines).
_FINAL = re.compile(r"^Final:\s*(?:(No failed routes!)|Failed net routes:\s*(\d+))", re.M)
_FAILED = re.compile(r"^Failed net routes:\s*(\d+)", re.M)
_NO_TAP = re.compile(r"^Node (\S+) of net \S+ has no tap points", re.M)
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
