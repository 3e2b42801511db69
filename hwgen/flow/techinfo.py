"""What the RRAM macro abstract (:mod:`hwgen.flow.macro`) reads from a platform's own files: from
its Liberty the units, operating conditions, supply and the platform buffer's input capacitance,
output tables and leakage density (:class:`LibertyInfo`); from its technology LEF the routing
layers, placement site and manufacturing grid (:class:`TechInfo`). Both are cached per file
(size and modification time).
"""

from __future__ import annotations

import functools
import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .platform import Platform


@dataclass(frozen=True)
class LibertyInfo:
    """What the macro's Liberty copies from the platform's: units, conditions, thresholds, and
    the platform buffer's input capacitance, output tables and leakage density."""

    header: dict              # attribute -> text, copied verbatim (units, thresholds)
    time_s: float             # seconds per time unit
    cap_f: float              # farads per capacitance unit
    leakage_w: float          # watts per leakage power unit
    volt_v: float             # volts per voltage unit
    voltage: float            # supply, in volts
    temperature: float
    buffer_cap: float         # buffer input capacitance, in library units
    load_index: tuple         # buffer output load index, library units
    rise: tuple               # buffer cell_rise / cell_fall / transitions at that load, lowest input slew
    fall: tuple
    rise_tr: tuple
    fall_tr: tuple
    max_cap: float
    leakage_per_um2_w: float


_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15,
         "w": 1.0, "mw": 1e-3, "uw": 1e-6, "nw": 1e-9, "pw": 1e-12, "fw": 1e-15,
         "v": 1.0, "mv": 1e-3, "f": 1.0, "pf": 1e-12, "ff": 1e-15, "nf": 1e-9, "uf": 1e-6}
HEADER_ATTRS = ("time_unit", "voltage_unit", "current_unit", "leakage_power_unit", "pulling_resistance_unit",
                 "slew_derate_from_library", "slew_lower_threshold_pct_fall", "slew_lower_threshold_pct_rise",
                 "slew_upper_threshold_pct_fall", "slew_upper_threshold_pct_rise", "input_threshold_pct_fall",
                 "input_threshold_pct_rise", "output_threshold_pct_fall", "output_threshold_pct_rise")


def _unit(text: str, what: str, where) -> float:
    m = re.fullmatch(r'\s*"?\s*([0-9.eE+-]+)\s*([a-zA-Z]+)\s*"?\s*', text)
    if not m or m.group(2).lower() not in _UNIT:
        raise DataError(f"{where}: cannot read {what} {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2).lower()]


def _group(text: str, head: str, where, what: str) -> str:
    """The body of the first Liberty group whose head matches regex ``head`` (braces matched)."""
    m = re.search(head + r"\s*\{", text)
    if not m:
        raise DataError(f"{where}: no {what}")
    depth, i = 1, m.end()
    while depth:
        j = text.find("}", i)
        k = text.find("{", i)
        if j < 0:
            raise DataError(f"{where}: unbalanced braces in {what}")
        if 0 <= k < j:
            depth, i = depth + 1, k + 1
        else:
            depth, i = depth - 1, j + 1
    return text[m.end():i - 1]


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)]


def _table(cell: str, kind: str, templates: dict, where) -> tuple[tuple, tuple]:
    """``(loads, values)`` of table ``kind`` (cell_rise, ...) at the lowest input slew."""
    m = re.search(kind + r'\s*\(\s*"?([\w.]+)"?\s*\)\s*\{', cell)
    if not m:
        raise DataError(f"{where}: platform buffer has no {kind} table")
    body = _group(cell[m.start():], re.escape(m.group(0)[:-1]), where, kind)
    idx = {k: _numbers(v) for k, v in re.findall(r'(index_\d)\s*\(\s*"([^"]*)"', body)}
    for k, v in templates.get(m.group(1), {}).items():
        idx.setdefault(k, v)
    rows = [_numbers(r) for r in re.findall(r'"([^"]*)"', re.search(r"values\s*\((.*?)\)\s*;", body, re.S).group(1))]
    load_axis = next((k for k, v in templates.get(m.group(1), {}).get("vars", {}).items()
                      if v == "total_output_net_capacitance"), "index_2")
    if load_axis == "index_1":
        return tuple(idx["index_1"]), tuple(r[0] for r in rows)
    return tuple(idx["index_2"]), tuple(rows[0])


@functools.lru_cache(maxsize=8)
def _liberty_info(path: str, stamp, buffer: tuple) -> LibertyInfo:
    where = Path(path).name
    try:
        raw = Path(path).read_bytes()
        text = (gzip.decompress(raw) if path.endswith(".gz") else raw).decode("utf-8", "replace")
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read Liberty file {path}: {getattr(e, 'strerror', None) or e}") from None
    first_cell = re.search(r"^\s*cell\s*\(", text, re.M)
    head = text[:first_cell.start() if first_cell else len(text)]
    header = {}
    for attr in HEADER_ATTRS:
        m = re.search(rf"^\s*{attr}\s*:\s*([^;]+);", head, re.M)
        if m:
            header[attr] = m.group(1).strip()
    cap = re.search(r"capacitive_load_unit\s*\(\s*([0-9.eE+-]+)\s*,\s*\"?(\w+)\"?\s*\)", head)
    if not cap or cap.group(2).lower() not in _UNIT or "time_unit" not in header:
        raise DataError(f"{where}: no time_unit or capacitive_load_unit in the library header")
    header["capacitive_load_unit"] = f"{float(cap.group(1)):g}, {cap.group(2).lower()}"
    cond = _group(head, r"operating_conditions\s*\([^)]*\)", where, "operating_conditions")
    volt = re.search(r"voltage\s*:\s*([0-9.eE+-]+)", cond)
    temp = re.search(r"temperature\s*:\s*([0-9.eE+-]+)", cond)
    nom = re.search(r"nom_voltage\s*:\s*([0-9.eE+-]+)", head)
    templates = {}
    for name, body in re.findall(r'lu_table_template\s*\(\s*"?([\w.]+)"?\s*\)\s*\{([^}]*)\}', head):
        t = {k: _numbers(v) for k, v in re.findall(r'(index_\d)\s*\(\s*"([^"]*)"', body)}
        t["vars"] = dict(re.findall(r"variable_(\d)\s*:\s*\"?(\w+)\"?", body))
        t["vars"] = {f"index_{k}": v for k, v in t["vars"].items()}
        templates[name] = t
    name, pin_in, pin_out = buffer
    cell = _group(text, rf'cell\s*\(\s*"?{re.escape(name)}"?\s*\)', where, f"buffer cell {name}")
    pin_a = _group(cell, rf'pin\s*\(\s*"?{re.escape(pin_in)}"?\s*\)', where, f"pin {pin_in} of {name}")
    pin_z = _group(cell, rf'pin\s*\(\s*"?{re.escape(pin_out)}"?\s*\)', where, f"pin {pin_out} of {name}")
    timing = _group(pin_z, r"timing\s*\(\s*\)", where, f"timing of {name}/{pin_out}")
    loads, rise = _table(timing, "cell_rise", templates, where)
    _, fall = _table(timing, "cell_fall", templates, where)
    _, rise_tr = _table(timing, "rise_transition", templates, where)
    _, fall_tr = _table(timing, "fall_transition", templates, where)
    area = re.search(r"\barea\s*:\s*([0-9.eE+-]+)", cell)
    leak = re.search(r"cell_leakage_power\s*:\s*([0-9.eE+-]+)", cell)
    cin = re.search(r"\bcapacitance\s*:\s*([0-9.eE+-]+)", pin_a)
    maxc = re.search(r"max_capacitance\s*:\s*([0-9.eE+-]+)", pin_z)
    if not (area and leak and cin):
        raise DataError(f"{where}: buffer {name} lacks area, cell_leakage_power or input capacitance")
    leakage_w = _unit(header.get("leakage_power_unit", "1nW"), "leakage_power_unit", where)
    return LibertyInfo(
        header=header, time_s=_unit(header["time_unit"], "time_unit", where),
        cap_f=float(cap.group(1)) * _UNIT[cap.group(2).lower()], leakage_w=leakage_w,
        volt_v=_unit(header.get("voltage_unit", "1V"), "voltage_unit", where),
        voltage=float((nom or volt).group(1)), temperature=float(temp.group(1)) if temp else 25.0,
        buffer_cap=float(cin.group(1)), load_index=loads, rise=rise, fall=fall, rise_tr=rise_tr, fall_tr=fall_tr,
        max_cap=float(maxc.group(1)) if maxc else loads[-1],
        leakage_per_um2_w=float(leak.group(1)) * leakage_w / float(area.group(1)))


def liberty_info(platform: Platform) -> LibertyInfo:
    """Units, conditions, supply and the platform buffer's data of ``platform``'s Liberty."""
    return _liberty_info(str(platform.liberty), _stamp(platform.liberty), tuple(platform.buffer))


@dataclass(frozen=True)
class RoutingLayer:
    name: str
    vertical: bool
    pitch: int                # nm
    offset: int               # nm, along the layer's track axis
    width: int                # nm
    min_area: float           # um^2


@dataclass(frozen=True)
class TechInfo:
    layers: tuple             # RoutingLayer, bottom up
    site: tuple               # (width, height) in nm
    grid: int                 # manufacturing grid, nm

    def layer(self, name: str) -> RoutingLayer:
        for lay in self.layers:
            if lay.name == name:
                return lay
        raise DataError(f"the technology LEF has no routing layer {name}")


def to_nm(value: float) -> int:
    return int(round(value * 1000))


@functools.lru_cache(maxsize=8)
def _tech_info(path: str, stamp, site: str) -> TechInfo:
    try:
        text = re.sub(r"#[^\n]*", "", Path(path).read_text(errors="replace"))
    except OSError as e:
        raise DataError(f"cannot read technology LEF {path}: {e.strerror or e}") from None
    layers = []
    for m in re.finditer(r"^\s*LAYER\s+(\S+)\s*\n(.*?)^\s*END\s+\1\s*$", text, re.S | re.M):
        stmts = [s.split() for s in m.group(2).split(";")]
        get = {s[0]: s[1:] for s in reversed(stmts) if s}            # first statement of each kind wins
        if get.get("TYPE") != ["ROUTING"]:
            continue
        vertical = get.get("DIRECTION") == ["VERTICAL"]
        width = next((s[1] for s in stmts if len(s) == 2 and s[0] == "WIDTH"), None)
        pitch, offset = get.get("PITCH", []), get.get("OFFSET", ["0"])
        if width is None or not pitch:
            continue
        # PITCH/OFFSET give x then y when two values; tracks of a vertical layer sit on x.
        axis = 0 if vertical else -1
        layers.append(RoutingLayer(m.group(1), vertical, to_nm(float(pitch[axis])), to_nm(float(offset[axis])),
                                   to_nm(float(width)), float(get.get("AREA", ["0"])[0])))
    s = re.search(rf"^\s*SITE\s+{re.escape(site)}\b(.*?)^\s*END\s+{re.escape(site)}", text, re.S | re.M)
    size = re.search(r"SIZE\s+([0-9.]+)\s+BY\s+([0-9.]+)", s.group(1)) if s else None
    if not layers or size is None:
        raise DataError(f"{Path(path).name}: no routing layers or no SITE {site}")
    grid = re.search(r"MANUFACTURINGGRID\s+([0-9.]+)", text)
    return TechInfo(tuple(layers), (to_nm(float(size.group(1))), to_nm(float(size.group(2)))),
                    to_nm(float(grid.group(1))) if grid else 5)


def _stamp(path: Path):
    st = path.stat()
    return (st.st_size, st.st_mtime_ns)


def tech_info(platform: Platform) -> TechInfo:
    """Routing layers, placement site and manufacturing grid of ``platform``'s technology LEF."""
    return _tech_info(str(platform.tech_lef), _stamp(platform.tech_lef), platform.site)
