"""What the energy model and the area report need from a Liberty file, in SI units: per cell its
area, leakage, whether it is sequential, and per pin the direction, capacitance and internal
energy.

Parsing a whole Liberty file takes seconds (sky130hd: 5 s with the PyPI ``liberty-parser``), so
the extract is cached as JSON in the cache folder (:func:`hwgen.flow.platform.cache_dir`), keyed
by the Liberty's content hash.

Units follow the library header: time, capacitance, voltage and leakage units; internal power
tables are energies in capacitance unit x voltage unit squared (sky130hd: pF x V^2 = pJ;
nangate45: fF x V^2 = fJ). Output-pin internal energy is a table over input transition and
output load: it is looked up at :data:`NOMINAL_TRANSITION_S` and the pin's actual load, averaged
over its related pins and over rise and fall. Input-pin internal energy (clock pins of flip-flops
above all) is averaged over rise and fall at the nominal transition.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, SimulatorMissing
from ..files import atomic_write

GATE_ROLES = ("clock", "enable", "test", "out")
NOMINAL_TRANSITION_S = 50e-12   # a typical on-chip slew; tables change little around it
EXTRACT_VERSION = 5

_UNIT = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0}


def _unit(text: str, base: str) -> float:
    """``"1ns"`` -> 1e-9 for base ``s``."""
    m = re.fullmatch(rf'\s*"?\s*([0-9.eE+-]*)\s*([fpnum]?){base}\s*"?\s*', str(text))
    if not m:
        raise DataError(f"cannot read Liberty unit {text!r}")
    return float(m.group(1) or 1) * _UNIT[m.group(2)]


@dataclass
class Pin:
    direction: str
    capacitance_f: float = 0.0
    clock: bool = False
    # input pins: energy per toggle (J); output pins: table (transitions s, loads F, energies J)
    energy_j: float = 0.0
    table: tuple | None = None
    gate_role: str = ""     # clock-gating cells: "clock", "enable", "test" or "out" (Liberty's clock_gate_*_pin)

    def output_energy(self, load_f: float) -> float:
        """Internal energy (J) per output toggle at ``load_f``."""
        if self.table is None:
            return self.energy_j
        slews, loads, values = self.table
        v = np.asarray(values)
        per_load = np.array([np.interp(NOMINAL_TRANSITION_S, slews, v[:, j]) for j in range(v.shape[1])])
        return float(np.interp(load_f, loads, per_load))


@dataclass
class Cell:
    area_um2: float
    leakage_w: float
    sequential: bool
    pins: dict = field(default_factory=dict)
    clock_gate: bool = False        # an integrated clock-gating cell (its output is a gated clock)


@dataclass
class CellLibrary:
    voltage_v: float
    time_s: float
    cap_unit_f: float
    cells: dict

    def cell(self, name: str) -> Cell:
        try:
            return self.cells[name]
        except KeyError:
            raise DataError(f"cell {name!r} of the netlist is not in the Liberty file") from None


def _floats(text) -> list:
    return [float(v) for v in re.findall(r"[-+0-9.eE]+", str(text))]


def _table(group, scale):
    """(index_1, index_2 or [0], values 2-D) of a Liberty table group, energies scaled to J."""
    i1 = _floats(group.get("index_1") or "0")
    i2 = _floats(group.get("index_2") or "0")
    vals = np.array(_floats(group.get("values")), dtype=float) * scale
    return i1, i2, vals.reshape(len(i1), -1)


def _extract(path: Path, source=None) -> dict:
    try:
        from liberty.parser import parse_liberty
    except ImportError:
        raise SimulatorMissing("the energy model reads Liberty files with liberty-parser: "
                               "`pip install 'hwgen[flow]'` (or run `make setup`)") from None

    try:
        lib = parse_liberty(path.read_text())
    except Exception as e:   # the parser raises lark errors of many kinds
        raise DataError(f"cannot parse Liberty file {source or path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    time_s = _unit(lib.get("time_unit"), "s")
    cap_attr = lib.get_attributes("capacitive_load_unit") if hasattr(lib, "get_attributes") else None
    cap_raw = cap_attr[0] if cap_attr else lib.get("capacitive_load_unit")
    num, unit = _floats(str(cap_raw))[0], re.search(r"(ff|pf|nf)", str(cap_raw).lower()).group(1)
    cap_f = num * {"ff": 1e-15, "pf": 1e-12, "nf": 1e-9}[unit]
    volt = float(_floats(lib.get("nom_voltage") or 0)[0]) if lib.get("nom_voltage") is not None else None
    if not volt:
        ops = lib.get_groups("operating_conditions")
        volt = float(ops[0].get("voltage")) if ops else 1.0
    leak_w = _unit(lib.get("leakage_power_unit"), "W")
    energy_j = cap_f * 1.0            # capacitance unit x (1 V)^2
    slew_scale, load_scale = time_s, cap_f
    cells = {}
    for c in lib.get_groups("cell"):
        name = str(c.args[0]).strip('"')
        pins = {}
        seq = bool(c.get_groups("ff") or c.get_groups("latch") or c.get_groups("statetable"))
        pin_groups = list(c.get_groups("pin"))
        for bus in c.get_groups("bus"):       # a bus is one port of the netlist (its bits share it)
            pin_groups += [bus, *bus.get_groups("pin")]
        for p in pin_groups:
            pname = str(p.args[0]).strip('"')
            direction = str(p.get("direction") or "").strip('"')
            pin = {"direction": direction, "capacitance_f": float(p.get("capacitance") or 0) * cap_f,
                   "clock": str(p.get("clock") or "").strip('"') == "true", "energy_j": 0.0, "table": None,
                   "gate_role": next((role for role in GATE_ROLES
                                      if str(p.get(f"clock_gate_{role}_pin") or "").strip('"') == "true"), "")}
            tables = []
            for ip in p.get_groups("internal_power"):
                for kind in ("rise_power", "fall_power", "power"):
                    for g in ip.get_groups(kind):
                        if g.get("values") is not None:
                            tables.append(_table(g, energy_j))
            if tables:
                if direction == "output" and any(len(t[1]) > 1 for t in tables):
                    two_d = [t for t in tables if len(t[1]) > 1]
                    slews = np.array(two_d[0][0]) * slew_scale
                    loads = np.array(two_d[0][1]) * load_scale
                    same = [t[2] for t in two_d if t[2].shape == two_d[0][2].shape]
                    pin["table"] = (slews.tolist(), loads.tolist(), np.mean(same, axis=0).tolist())
                else:
                    pin["energy_j"] = float(np.mean([np.interp(NOMINAL_TRANSITION_S, np.array(t[0]) * slew_scale,
                                                               t[2][:, 0]) for t in tables]))
            pins[pname] = pin
        cells[name] = {"area_um2": float(c.get("area") or 0), "sequential": seq, "pins": pins,
                       "leakage_w": float(c.get("cell_leakage_power") or 0) * leak_w,
                       "clock_gate": c.get("clock_gating_integrated_cell") is not None}
    return {"version": EXTRACT_VERSION, "voltage_v": volt, "time_s": time_s, "cap_unit_f": cap_f, "cells": cells}


def load_library(path, source=None) -> CellLibrary:
    """The extract of a (prepared, uncompressed) Liberty file, from its JSON cache if present;
    errors name ``source`` (the user's file it was prepared from), if given."""
    from .platform import cache_dir

    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    cache = cache_dir() / "liberty" / f"{digest}.extract.json"
    data = None
    if cache.is_file():
        try:
            data = json.loads(cache.read_text())
            if data.get("version") != EXTRACT_VERSION:
                data = None
        except (OSError, ValueError):
            data = None
    if data is None:
        try:
            data = _extract(path, source)
        except (ValueError, AttributeError, TypeError, IndexError, KeyError) as e:
            raise DataError(f"Liberty file {source or path} lacks what hwgen reads from it (units, cells, pins): "
                            f"{type(e).__name__}: {e}") from None
        if not data["cells"]:
            raise DataError(f"Liberty file {source or path} defines no cells")
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache, json.dumps(data))
    cells = {}
    for name, c in data["cells"].items():
        pins = {p: Pin(direction=d["direction"], capacitance_f=d["capacitance_f"], clock=d["clock"],
                       energy_j=d["energy_j"], table=tuple(d["table"]) if d["table"] else None,
                       gate_role=d["gate_role"])
                for p, d in c["pins"].items()}
        cells[name] = Cell(area_um2=c["area_um2"], leakage_w=c["leakage_w"], sequential=c["sequential"], pins=pins,
                           clock_gate=c["clock_gate"])
    return CellLibrary(voltage_v=data["voltage_v"], time_s=data["time_s"], cap_unit_f=data["cap_unit_f"], cells=cells)
