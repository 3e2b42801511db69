"""The flat gate-level energy of a synthesized design: a port trace of real images
(:mod:`hwgen.flow.activity`) replayed into the mapped netlist (:mod:`hwgen.flow.gatesim`), the
VCD's toggles per net (:mod:`hwgen.flow.vcd`) priced with the Liberty (:mod:`hwgen.flow.liberty`)
on the netlist as a graph of cells, blocks and pins (:class:`Netlist`). The formulas are in
:mod:`hwgen.flow.energy`'s docstring.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from ..manifest import Manifest
from .liberty import CellLibrary, load_library
from .macro import view_macros
from .operations import block_operations
from .platform import Platform
from .rramenergy import design_sense_energy, rram_energy
from .steps import link, read_step
from .synth import BLOCK_ORDER, block_of
from .tally import empty_table
from .tools import FlowError
from .vcd import vcd_toggles

SENSE_MACRO_PREFIX = "hwgen_rram2t2r_xnor_"     # the binary weight macros (hwgen.rtl.rram.macro_name)


class Netlist:
    """Cells, their blocks and the pins on every net bit of a flat Yosys JSON netlist."""

    def __init__(self, netlist: dict, top: str, library: CellLibrary):
        module = netlist["modules"][top]
        self.library = library
        self.cells = {}                       # name -> (type, block)
        self.sinks = defaultdict(list)        # bit -> [(cell, pin)]
        self.driver = {}                      # bit -> (cell, pin)
        self.gated_bits = set()               # gated clocks: the outputs of clock-gating cells
        for name, cell in module["cells"].items():
            ctype = cell["type"]
            lib_cell = library.cell(ctype)
            self.cells[name] = (ctype, block_of(name))
            if lib_cell.clock_gate:
                self.gated_bits.update(b for p, bits in cell["connections"].items()
                                       if lib_cell.pins[p].direction == "output" for b in bits if isinstance(b, int))
            for pin, bits in cell["connections"].items():
                p = lib_cell.pins.get(pin)
                if p is None:
                    raise FlowError(f"pin {pin} of {ctype} is not in the Liberty file")
                for b in bits:
                    if isinstance(b, int):
                        (self.driver.__setitem__(b, (name, pin)) if p.direction == "output"
                         else self.sinks[b].append((name, pin)))
        self.names = {}                       # net name as a VCD gives it -> bits (LSB first)
        for name, net in module["netnames"].items():
            # Yosys's JSON keeps the backslash of a public name that began with a ``$`` in the
            # source (``\$11[0]``, from Amaranth's ``\$11``); its Verilog names it ``$11[0]``
            self.names[name[1:] if name.startswith("\\") else name] = [b for b in net["bits"]]
        self.clock_bits = set(b for b in module["ports"].get("clk", {}).get("bits", []) if isinstance(b, int))

    def clock_energy_per_cycle(self, macros=()) -> dict:
        """Energy per cycle on the (ungated) clock net, per block (two toggles a cycle): the clock
        pins of the flip-flops it drives, the macros' and the clock-gating cells'. What a gated
        clock costs depends on how often its gate opens: :func:`flat_energy` measures it."""
        v2 = self.library.voltage_v ** 2
        out = defaultdict(float)
        for bit in self.clock_bits:
            for c, p in self.sinks.get(bit, ()):
                ctype, block = self.cells[c]
                pin = self.library.cell(ctype).pins[p]
                internal = 0.0 if ctype in macros else pin.energy_j
                out[block] += 2 * (0.5 * pin.capacitance_f * v2 + internal)
        return dict(out)

    def leakage_w(self) -> dict:
        out = defaultdict(float)
        for ctype, block in self.cells.values():
            out[block] += self.library.cell(ctype).leakage_w
        return dict(out)


def _library(platform: Platform, synth_folder: Path) -> tuple[CellLibrary, set]:
    lib = platform.library()
    macros = set()
    if (synth_folder / "macros.lib").is_file():
        mlib = load_library(synth_folder / "macros.lib")
        lib.cells.update(mlib.cells)
        macros = set(mlib.cells)
    return lib, macros


def load_netlist(synth_folder: Path, platform: Platform, synth: dict) -> tuple["Netlist", set]:
    """The flat netlist a synthesis run wrote, with its cell library, and the macro cell names."""
    library, macros = _library(platform, synth_folder)
    return Netlist(json.loads((synth_folder / "netlist.json").read_text()), synth["top"], library), macros


def flat_energy(net: Netlist, toggles: dict, cycles: int, period_s: float, macros=()) -> tuple[dict, dict]:
    """Energy (J) per block and kind (RRAM left at 0) over a window of ``cycles`` from per-bit
    toggles, and the part of the clock energy that went through clock gates, per block. A gated
    clock is a clock (its toggles at the flip-flops' clock pins and the gate's output energy)."""
    v2 = net.library.voltage_v ** 2
    energy = empty_table()
    gated = dict.fromkeys(BLOCK_ORDER, 0.0)
    for bit, t in toggles.items():
        through_gate = bit in net.gated_bits
        kind = "clock" if bit in net.clock_bits or through_gate else "data"
        load = 0.0
        for c, p in net.sinks.get(bit, ()):
            ctype, block = net.cells[c]
            pin = net.library.cell(ctype).pins[p]
            load += pin.capacitance_f
            internal = 0.0 if ctype in macros else pin.energy_j
            e = t * (0.5 * pin.capacitance_f * v2 + internal)
            energy[block][kind] += e
            if through_gate:
                gated[block] += e
        drv = net.driver.get(bit)
        if drv is not None:
            ctype, block = net.cells[drv[0]]
            if ctype not in macros:
                e = t * net.library.cell(ctype).pins[drv[1]].output_energy(load)
                energy[block][kind] += e
                if through_gate:
                    gated[block] += e
    for block, w in net.leakage_w().items():
        energy[block]["leakage"] += w * cycles * period_s
    return energy, gated


def gate_level_run(manifest: Manifest, synth_folder: Path, platform: Platform, count: int, work: Path,
                   log=print, netlist=None, images=None) -> dict:
    """Record a trace, replay it at gate level, and return the flat energy over the window.
    ``netlist`` is :func:`load_netlist`'s result when the caller already has it; ``images`` the
    network's workload images (:func:`hwgen.flow.activity.network_workload`)."""
    from .activity import record_array, record_network
    from .gatesim import simulate

    synth = read_step(synth_folder, "synth")
    t0 = time.perf_counter()
    if manifest.kind == "array":
        trace = record_array(manifest.hw, count)
    else:
        from ..ir import Network

        trace = record_network(Network.load(manifest.path(manifest.ir_file)), list(manifest.layers), count, images)
    specs = view_macros(manifest, synth["view"]) if synth["view"] == "macro" else []
    t1 = time.perf_counter()
    log(f"[energy] RTL trace: {trace.cycles} cycles ({trace.items} items in {trace.window_cycles}), "
        f"{t1 - t0:.1f} s; gate-level replay of {synth['cells']} cells")
    link(work, "cells.lib", platform.prepared_liberty())
    link(work, "netlist.v", synth_folder / "netlist.v")
    net, macros = netlist or load_netlist(synth_folder, platform, synth)
    simulate(work, synth["top"], trace, specs, net.library)
    t2 = time.perf_counter()
    activity = vcd_toggles(work / "activity.vcd", net.names)
    coverage = activity.coverage(net.driver)
    if coverage["driven_bits_matched"] < coverage["driven_bits"]:
        missing = sorted(set(net.driver) - activity.matched_bits)[:3]
        names = [name for name, bits in net.names.items() if any(b in bits for b in missing)][:3]
        raise FlowError(f"the gate-level VCD carries {coverage['driven_bits_matched']} of the netlist's "
                        f"{coverage['driven_bits']} driven net bits (missing e.g. {', '.join(names) or missing}): "
                        f"their toggles would count as zero")
    period_s = synth["period_ns"] * 1e-9
    # what the weight macros' sense outputs did (hwgen.flow.toggles counts the same from the golden model)
    sensed = sum(t for bit, t in activity.toggles.items()
                 if bit in net.driver and net.cells[net.driver[bit][0]][0].startswith(SENSE_MACRO_PREFIX))
    energy, gated = flat_energy(net, activity.toggles, trace.window_cycles, period_s, macros)
    ops = block_operations(manifest)
    senses = ops["senses"] * trace.items
    e_sense = design_sense_energy(manifest, platform) if synth["view"] == "macro" else 0.0
    if synth["view"] == "macro":
        for block, joules in rram_energy(manifest, platform).items():
            energy[block]["rram"] = joules * trace.items
    return {"energy": energy, "gated_clock": gated, "net": net, "macros": macros, "items": trace.items,
            "window_cycles": trace.window_cycles, "cycles": trace.cycles, "period_s": period_s,
            "senses": senses, "sense_energy_j": e_sense, "sensed_toggles": sensed, "vcd_coverage": coverage,
            "trace_s": round(t1 - t0, 2), "gate_sim_s": round(t2 - t1, 2), "energy_s": round(time.perf_counter() - t2, 2)}
