"""Energy per inference from real activity: a flat gate-level figure for small designs, and a
block-scaled figure for whole networks, checked against each other.

**Flat (gate level).** A port trace of real images (:mod:`hwgen.flow.activity`) is replayed
into the mapped netlist (:mod:`hwgen.flow.gatesim`, outputs checked against the RTL every
cycle); the VCD's toggles per net over the compute window give, with the Liberty
(:mod:`hwgen.flow.liberty`):

- switching: toggles x 1/2 C V^2, C the input-pin capacitances on the net (pre-layout: no wire
  capacitance, no clock tree), charged to the block of each driven pin;
- internal: output toggles x the driving pin's internal energy at its load, and input-pin toggles
  x the pin's internal energy (the flip-flops' clock pins above all), charged to the cell's block;
- leakage: the cells' leakage x the window's time at the clock period;
- RRAM reads: every stored weight bit is sensed once per layer pass and every threshold bit read
  once per pass (the manifest's plans count them), each at its macro model's energy per bit
  sensed (:mod:`hwgen.flow.macro`; the macros' own Liberty internal power is not added again).

Every VCD variable is matched to the netlist by its exact name (:func:`vcd_name`), and every
driven net bit of the netlist must have one (:meth:`Activity.coverage`): a net without a name
would count zero toggles.

Energy on the clock net is *clock*: the ungated clock (its pin loads, the clock pins' internal
energy, the clock-gating cells' own) and the gated clocks behind the integrated clock-gating
cells (:mod:`hwgen.flow.synth`), which toggle only in the cycles their gate opens. The rest of
switching and internal energy is *data*.

**Block-scaled.** A network is too large for one flat gate-level run, so each block (cells,
tree, thresholds, links, argmax, control, memory) is characterised once on a small
characterisation network with the same n (a flat run: data energy and gated-clock energy per
operation of that block: a gated clock ticks when its registers load, i.e. with the block's
work; a tree's with its neurons, :data:`GATED_OPS`), and the target's energy is

    ungated clock (exact: its netlist's clock pins, per cycle) + leakage (exact: its cells, per
    cycle) + sum over blocks of ((data + gated clock) energy per operation x the target's
    operations) + RRAM reads x energy per bit sensed,

with operations per item (layer pass or image) from the plans (:func:`block_operations`) and the
cycles per inference from the manifest (checked by every network regression). On a small array
the block-scaled figure is compared with the flat gate-level figure of the same run.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, SimulatorMissing
from ..manifest import Manifest
from .liberty import CellLibrary, load_library
from .macro import view_macros
from .platform import Platform
from .synth import BLOCK_ORDER, block_of
from .steps import link, read_step, work_folder, write_step
from .tools import FlowError

KINDS = ("clock", "data", "leakage", "rram")
CMOS_KINDS = ("clock", "data", "leakage")
# What a block's gated clocks tick with, where it is not what its data switches with: a tree's
# total register loads once per neuron, however many partial sums it adds.
GATED_OPS = {"tree": "thresholds"}


def gated_ops(block: str) -> str:
    """The operation (a :func:`block_operations` key) a block's gated-clock energy scales with."""
    return GATED_OPS.get(block, block)


# -- operations -------------------------------------------------------------------------------------

def layer_operations(hw, thresholds: bool = True) -> dict:
    """Operations of one layer pass of an array, per block (the units the block scales with), and
    the threshold bits its threshold memory reads (every neuron's threshold once per pass; none
    when ``thresholds`` is False: a network's output layer gives popcounts, so synthesis removes
    its unread threshold memory)."""
    senses = hw.N * hw.M * hw.n * hw.n
    return {"memory": senses, "cells": senses, "tree": hw.max_outputs * hw.N, "thresholds": hw.max_outputs,
            "threshold_bits": hw.max_outputs * hw.threshold_width if thresholds else 0}


def _layers(manifest_or_plans) -> list:
    """``(hw, thresholds read)`` of every array of a design (a manifest) or of network plans."""
    if isinstance(manifest_or_plans, Manifest):
        if manifest_or_plans.kind == "array":
            return [(manifest_or_plans.hw, True)]
        manifest_or_plans = manifest_or_plans.layers
    return [(p.hw, p.output != "popcount") for p in manifest_or_plans]


def rram_energy(design, platform: Platform) -> dict:
    """RRAM energy (J) per item of a design (a :class:`Manifest`: an array's pass, a network's
    image) or of network plans, per block: the weight senses (every stored bit once, ``memory``)
    and the threshold bits read (``thresholds``), each at its macro's energy per bit sensed
    (:mod:`hwgen.flow.macro`)."""
    from ..rtl.macros import MacroSpec
    from ..rtl.threshold import threshold_macro
    from .macro import macro_model

    out = {"memory": 0.0, "thresholds": 0.0}
    for hw, thresholds in _layers(design):
        ops = layer_operations(hw, thresholds)
        out["memory"] += ops["memory"] * macro_model(MacroSpec.weights(hw.n, hw.weights), platform).sense_energy_j
        out["thresholds"] += ops["threshold_bits"] * macro_model(threshold_macro(hw), platform).sense_energy_j
    return out


def block_operations(manifest: Manifest) -> dict:
    """Operations per item (array: one pass; network: one image), per block, and ``senses``."""
    if manifest.kind == "array":
        ops = dict(layer_operations(manifest.hw))
        ops["senses"] = ops["memory"]
        return ops
    return plan_operations(manifest.layers)


def plan_operations(plans) -> dict:
    """Operations per image of a network of ``plans``: every layer's (:func:`layer_operations`),
    the bits the links move (every layer's input vector and the output popcounts) and the classes
    argmax compares."""
    ops = defaultdict(float)
    for hw, thresholds in _layers(plans):
        for k, v in layer_operations(hw, thresholds).items():
            ops[k] += v
    ops["links"] = sum(p.n_inputs for p in plans) + plans[-1].n_outputs
    ops["argmax"] = plans[-1].n_outputs
    ops["senses"] = ops["memory"]
    return dict(ops)


def check_dense(plans) -> None:
    """Energy is characterised on dense networks: a conv network's frame stores and im2col units
    (the ``im2col`` block of its synthesis) have no characterisation yet, so it is refused."""
    if any(p.conv is not None for p in plans):
        raise ConfigError("energy of conv networks is not modelled yet (their frame stores and im2col units have "
                          "no characterisation); hwgen synth and hwgen sta run on them")


def plan_units(plans) -> dict:
    """How much hardware of each block a network of ``plans`` has (what the block's clock pins
    and leakage scale with): cells, threshold bits, tree partials, link bits, classes, layers."""
    units = defaultdict(float)
    for p in plans:
        hw = p.hw
        units["memory"] += hw.N * hw.M
        units["cells"] += hw.N * hw.M
        units["tree"] += hw.M * hw.popcount_width
        units["thresholds"] += hw.max_outputs * hw.threshold_width
        units["control"] += hw.max_inputs + hw.max_outputs     # the array top holds its input vector
    units["links"] = sum(p.n_inputs for p in plans) + plans[-1].n_outputs
    units["argmax"] = plans[-1].n_outputs
    return dict(units)


def cycles_per_item(manifest: Manifest) -> float:
    """Cycles per item at full throughput: a pass (array) or the initiation interval (network)."""
    timing = manifest.timing or {}
    key = "initiation_interval" if manifest.kind == "network" else "cycles_per_pass"
    if key not in timing:
        raise ConfigError(f"{manifest.folder}: the manifest has no {key}; regenerate the design")
    return float(timing[key])


# -- the netlist as a graph ---------------------------------------------------------------------------

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


# -- toggles from a VCD -----------------------------------------------------------------------------

def vcd_name(reference: str) -> str:
    """The netlist name of a VCD variable. Icarus writes an escaped identifier without its leading
    backslash and with every backslash inside it doubled: the netlist's
    ``$flatten\\tree_1.$abc$3391$new_n48_`` (a net ABC made inside a submodule) is
    ``$flatten\\\\tree_1.$abc$3391$new_n48_`` in the VCD. A leading backslash (other writers) goes too."""
    name = reference.strip()
    if name.startswith("\\") and not name.startswith("\\\\"):
        name = name[1:]
    return name.replace("\\\\", "\\")


@dataclass
class Activity:
    """Toggles per net bit from a VCD, and how much of the netlist the VCD covered."""

    toggles: dict           # bit -> toggles
    matched_bits: set       # netlist bits some VCD variable carries
    variables: int          # VCD variables in the file
    matched_variables: int  # of them, matched to a netlist name of the same width

    def coverage(self, driven) -> dict:
        """Shares of VCD variables and of the netlist's driven bits that matched."""
        driven = set(driven)
        return {"vcd_variables": self.variables, "vcd_variables_matched": self.matched_variables,
                "driven_bits": len(driven), "driven_bits_matched": len(driven & self.matched_bits)}


def vcd_toggles(path, names: dict) -> Activity:
    """Toggles (0<->1) per net bit over the whole VCD; a variable's first value is its baseline.
    Variables are matched to netlist names exactly (:func:`vcd_name`; a bit range ignored)."""
    try:
        from vcd.reader import TokenKind, tokenize
    except ImportError:
        raise SimulatorMissing("the energy model reads VCD files with pyvcd: `pip install 'hwgen[flow]'` "
                               "(or run `make setup`)") from None

    var_bits, last, counts = {}, {}, {}
    variables = matched = 0
    with open(path, "rb") as f:
        for tok in tokenize(f):
            kind = tok.kind
            if kind is TokenKind.VAR:
                variables += 1
                bits = names.get(vcd_name(tok.var.reference))
                if bits is not None and len(bits) == tok.var.size:
                    matched += 1
                    var_bits.setdefault(tok.var.id_code, []).append(bits)
            elif kind is TokenKind.CHANGE_SCALAR or kind is TokenKind.CHANGE_VECTOR:
                code = tok.scalar_change.id_code if kind is TokenKind.CHANGE_SCALAR else tok.vector_change.id_code
                if code not in var_bits:
                    continue
                if kind is TokenKind.CHANGE_SCALAR:
                    value = tok.scalar_change.value
                else:
                    v = tok.vector_change.value
                    value = format(v, "b") if isinstance(v, int) else str(v)
                width = len(var_bits[code][0])
                text = value.rjust(width, "0" if value[:1] in "01" else value[:1])[-width:]
                prev = last.get(code)
                if prev is not None:
                    count = counts.setdefault(code, [0] * width)
                    for k, (a, b) in enumerate(zip(prev, text)):
                        if a != b and a in "01" and b in "01":
                            count[k] += 1
                last[code] = text
    # A net bit may appear under several names (aliases, possibly with their own VCD codes): it
    # toggles once however many names carry it, so take the largest count, never the sum.
    toggles = {}
    for code, count in counts.items():
        for bits in var_bits[code]:
            width = len(bits)
            for k, c in enumerate(count[:width]):
                bit = bits[width - 1 - k]
                if isinstance(bit, int) and c > toggles.get(bit, 0):
                    toggles[bit] = c
    covered = {b for all_bits in var_bits.values() for bits in all_bits for b in bits if isinstance(b, int)}
    return Activity(toggles, covered, variables, matched)


# -- flat energy --------------------------------------------------------------------------------------

def flat_energy(net: Netlist, toggles: dict, cycles: int, period_s: float, macros=()) -> tuple[dict, dict]:
    """Energy (J) per block and kind (RRAM left at 0) over a window of ``cycles`` from per-bit
    toggles, and the part of the clock energy that went through clock gates, per block. A gated
    clock is a clock (its toggles at the flip-flops' clock pins and the gate's output energy)."""
    v2 = net.library.voltage_v ** 2
    energy = {b: dict.fromkeys(KINDS, 0.0) for b in BLOCK_ORDER}
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


def _sum(energy: dict, kinds=KINDS) -> float:
    return sum(v[k] for v in energy.values() for k in kinds)


# -- the step -----------------------------------------------------------------------------------------

def _library(platform: Platform, synth_folder: Path) -> tuple[CellLibrary, set]:
    lib = load_library(platform.prepared_liberty())
    macros = set()
    if (synth_folder / "macros.lib").is_file():
        mlib = load_library(synth_folder / "macros.lib")
        lib.cells.update(mlib.cells)
        macros = set(mlib.cells)
    return lib, macros


def design_n(manifest: Manifest) -> int:
    """The cell size n of a design (the energy model takes one n per design)."""
    ns = {p.hw.n for p in manifest.layers} if manifest.kind == "network" else {manifest.hw.n}
    if len(ns) != 1:
        raise ConfigError("layers of different n: the energy model takes one n per design")
    return ns.pop()


def _sense_energy(manifest: Manifest, platform: Platform) -> float:
    from ..rtl.macros import MacroSpec
    from .macro import macro_model

    return macro_model(MacroSpec.weights(design_n(manifest)), platform).sense_energy_j


def load_netlist(synth_folder: Path, platform: Platform, synth: dict) -> tuple["Netlist", set]:
    """The flat netlist a synthesis run wrote, with its cell library, and the macro cell names."""
    library, macros = _library(platform, synth_folder)
    return Netlist(json.loads((synth_folder / "netlist.json").read_text()), synth["top"], library), macros


def gate_level_run(manifest: Manifest, synth_folder: Path, platform: Platform, count: int, work: Path,
                   log=print, netlist=None) -> dict:
    """Record a trace, replay it at gate level, and return the flat energy over the window.
    ``netlist`` is :func:`load_netlist`'s result when the caller already has it."""
    from .activity import record_array, record_network
    from .gatesim import simulate

    synth = read_step(synth_folder, "synth")
    t0 = time.perf_counter()
    if manifest.kind == "array":
        trace = record_array(manifest.hw, count)
    else:
        from ..ir import Network

        trace = record_network(Network.load(manifest.path(manifest.ir_file)), list(manifest.layers), count)
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
    energy, gated = flat_energy(net, activity.toggles, trace.window_cycles, period_s, macros)
    ops = block_operations(manifest)
    senses = ops["senses"] * trace.items
    e_sense = _sense_energy(manifest, platform) if synth["view"] == "macro" else 0.0
    if synth["view"] == "macro":
        for block, joules in rram_energy(manifest, platform).items():
            energy[block]["rram"] = joules * trace.items
    return {"energy": energy, "gated_clock": gated, "net": net, "macros": macros, "items": trace.items,
            "window_cycles": trace.window_cycles, "cycles": trace.cycles, "period_s": period_s,
            "senses": senses, "sense_energy_j": e_sense, "vcd_coverage": coverage,
            "trace_s": round(t1 - t0, 2), "gate_sim_s": round(t2 - t1, 2), "energy_s": round(time.perf_counter() - t2, 2)}


def coefficients(run: dict, manifest: Manifest) -> dict:
    """Data energy and gated-clock energy per operation of every block, from a flat run (see the
    module docstring): a gated clock ticks when its registers load, i.e. with the block's work."""
    ops = block_operations(manifest)
    coef = {}
    for block in BLOCK_ORDER:
        data, gated = run["energy"][block]["data"], run["gated_clock"][block]
        if block == "control":
            per = run["window_cycles"]
            coef[block] = {"per": "cycle", "data_j": data / per, "gated_clock_j": gated / per}
        elif ops.get(block):
            per = ops[block] * run["items"]
            coef[block] = {"per": block_unit(block), "data_j": data / per,
                           "gated_clock_j": gated / (ops[gated_ops(block)] * run["items"]),
                           "gated_clock_per": block_unit(gated_ops(block))}
    return coef


def block_unit(block: str) -> str:
    return {"memory": "sense", "cells": "sense", "tree": "partial sum", "thresholds": "neuron",
            "links": "bit", "argmax": "class", "im2col": "tap", "control": "cycle"}[block]


def scaled_energy(net: Netlist, macros, manifest: Manifest, coef: dict, items: float, cycles: float,
                  period_s: float, rram: dict) -> dict:
    """Block-scaled energy (J) per block and kind of ``items`` items over ``cycles`` cycles:
    the ungated clock and leakage exactly from the netlist, data and gated clocks per operation
    (``coef``), ``rram`` (J per item per block, :func:`rram_energy`) per item."""
    ops = block_operations(manifest)
    clock, leak = net.clock_energy_per_cycle(macros), net.leakage_w()
    energy = {b: dict.fromkeys(KINDS, 0.0) for b in BLOCK_ORDER}
    missing = []
    for block in BLOCK_ORDER:
        energy[block]["clock"] = clock.get(block, 0.0) * cycles
        energy[block]["leakage"] = leak.get(block, 0.0) * cycles * period_s
        energy[block]["rram"] = rram.get(block, 0.0) * items
        if block == "control":
            energy[block]["data"] = coef["control"]["data_j"] * cycles
            energy[block]["clock"] += coef["control"].get("gated_clock_j", 0.0) * cycles
        elif ops.get(block):
            if block not in coef:
                missing.append(block)
                continue
            energy[block]["data"] = coef[block]["data_j"] * ops[block] * items
            energy[block]["clock"] += coef[block].get("gated_clock_j", 0.0) * ops[gated_ops(block)] * items
    if missing:
        raise ConfigError(f"the characterisation has no {', '.join(missing)} block; characterise on a network")
    return energy


def characterisation_network(n: int, seed: int = 0):
    """The small two-layer network blocks are characterised on: (s*s)-2n-10 with s*s the largest
    square <= 4n (inputs are resized images), random weights from ``seed``, thresholds at half
    the inputs (so activations follow the data)."""
    from ..ir import Layer, Network

    rng = np.random.default_rng(seed)
    side = int(math.isqrt(min(4 * n, 784)))
    sizes = (side * side, 2 * n, 10)
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a)), np.full(b, a // 2),
                              output="popcount" if k == len(sizes) - 2 else "sign", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    return Network(layers, {"input_threshold": 127, "dataset": "mnist", "purpose": "energy characterisation"})


def _code_digest() -> str:
    """SHA-256 (16 hex digits) of the sources a characterisation depends on."""
    import hashlib

    from .. import __version__

    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent.parent
    for folder in ("rtl", "flow"):
        for path in sorted((root / folder).glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def characterise(n: int, platform: Platform, period_ns: float, count: int = 16, log=print) -> dict:
    """Data energy per operation of every block for arrays of n x n cells on ``platform``, from a
    flat gate-level run of :func:`characterisation_network` (macro view). Cached in the cache
    folder by n, platform Liberty, period, image count and a digest of the code that makes it (the
    RTL components and the flow), so a changed design or model is characterised afresh."""
    from ..generate import generate_network
    from ..netplan import plan_network
    from .platform import cache_dir
    from .synth import synthesize

    lib = platform.prepared_liberty()
    key = f"{platform.name}_{lib.stem}_n{n}_{period_ns:g}ns_{count}_{_code_digest()}"
    cache = cache_dir() / "energy" / f"characterisation_{key}.json"
    if cache.is_file():
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
    net = characterisation_network(n)
    log(f"[energy] characterising blocks for n={n} on {platform.name} (once; cached in {cache.parent})")
    with work_folder(cache) as work:
        manifest = generate_network(net, plan_network(net, n=n), work / "design", name="hwgen_char", views=("macro",))
        synth = synthesize(manifest, platform, "macro", period_ns, log=lambda *a: None)
        run_dir = work / "run"
        run_dir.mkdir()
        run = gate_level_run(manifest, Path(synth["folder"]), platform, count, run_dir, log=log)
        units = plan_units(manifest.layers)
        clock, leak = run["net"].clock_energy_per_cycle(run["macros"]), run["net"].leakage_w()
        structure = {b: {"clock_j_per_cycle": clock.get(b, 0.0) / units[b], "leakage_w": leak.get(b, 0.0) / units[b]}
                     for b in BLOCK_ORDER if units.get(b)}
        result = {"structure": structure, "n": n, "platform": platform.name, "period_ns": period_ns, "images": count,
                  "network": [layer.n_inputs for layer in net.layers] + [net.layers[-1].n_outputs],
                  "cells": synth["cells"], "coefficients": coefficients(run, manifest),
                  "flat_per_image": summarize(run["energy"], run["items"])}
    cache.parent.mkdir(parents=True, exist_ok=True)
    from ..files import atomic_write

    atomic_write(cache, json.dumps(result, indent=1, sort_keys=True))
    return result


def summarize(energy: dict, per: float) -> dict:
    """Per-item totals (J): per block (all kinds), per kind, per block and kind, RRAM, CMOS, total."""
    blocks = {b: round(sum(v.values()) / per, 18) for b, v in energy.items()}
    kinds = {k: round(sum(v[k] for v in energy.values()) / per, 18) for k in KINDS}
    by_kind = {b: {k: round(v[k] / per, 18) for k in KINDS} for b, v in energy.items()}
    return {"blocks_j": blocks, "kinds_j": kinds, "block_kinds_j": by_kind, "rram_j": kinds["rram"],
            "cmos_j": _sum(energy, CMOS_KINDS) / per, "total_j": _sum(energy) / per}


FLAT_LIMIT_CELLS = 20_000      # above this the flat gate-level run is skipped (minutes, GBs of VCD)


def run_energy(design, platform: Platform, view: str = "macro", count: int = 16, flat: bool | None = None,
               out_dir=None, log=print) -> dict:
    """Energy per item (array: pass; network: image) of a synthesized design: block-scaled always,
    and for designs up to :data:`FLAT_LIMIT_CELLS` cells also flat at gate level on the same run,
    with their agreement. Writes ``energy/step.json`` beside the synthesis results."""
    from .steps import flow_folder

    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    if view != "macro":
        raise ConfigError("--view: energy is modelled on the macro view (2T2R + PCSA as the macro, CMOS from "
                          "the netlist); regenerate with the macro view")
    check_dense(manifest.layers)
    synth_folder = flow_folder(manifest, platform.name, view) / "synth"
    synth = read_step(synth_folder, "synth")
    out_dir = Path(out_dir) if out_dir else synth_folder.parent / "energy"
    n = design_n(manifest)
    t0 = time.perf_counter()
    char = characterise(n, platform, synth["period_ns"], count, log)
    net, macros = load_netlist(synth_folder, platform, synth)
    period_s = synth["period_ns"] * 1e-9
    e_sense = _sense_energy(manifest, platform)
    rram = rram_energy(manifest, platform)
    cycles = cycles_per_item(manifest)
    scaled = scaled_energy(net, macros, manifest, char["coefficients"], 1, cycles, period_s, rram)
    item = "image" if manifest.kind == "network" else "pass"
    ops = block_operations(manifest)
    per = summarize(scaled, 1)
    result = {"design": str(manifest.folder), "kind": manifest.kind, "item": item, "view": view,
              "platform": platform.name, "period_ns": synth["period_ns"], "cycles_per_item": cycles,
              "operations_per_item": ops, "sense_energy_j": e_sense, "rram_per_item_j": rram, "scaled": per,
              "characterisation": {k: char[k] for k in ("n", "network", "cells", "images", "coefficients")},
              "energy_per_op_j": per["total_j"] / (2 * ops["senses"]),
              "tops_per_w": 2 * ops["senses"] / per["total_j"] / 1e12}
    if manifest.kind == "network" and manifest.ir_file:
        from ..ir import Network

        est = estimate_network_energy(Network.load(manifest.path(manifest.ir_file)), n, platform, synth["period_ns"],
                                      count, log)
        result["structural_estimate"] = {"total_j": est["total_j"], "cmos_j": est["cmos_j"],
                                         "deviation": est["total_j"] / per["total_j"] - 1,
                                         "cmos_deviation": est["cmos_j"] / per["cmos_j"] - 1}
    if flat is None:
        flat = synth["cells"] <= FLAT_LIMIT_CELLS
    if flat:
        with work_folder(out_dir) as work:
            run = gate_level_run(manifest, synth_folder, platform, count, work, log=log, netlist=(net, macros))
        same = scaled_energy(net, macros, manifest, char["coefficients"], run["items"], run["window_cycles"],
                             period_s, rram)
        flat_sum = summarize(run["energy"], run["items"])
        same_sum = summarize(same, run["items"])
        result["same_run"] = {"items": run["items"], "cycles": run["window_cycles"], "flat": flat_sum,
                              "scaled": same_sum, "deviation": same_sum["total_j"] / flat_sum["total_j"] - 1,
                              "cmos_deviation": same_sum["cmos_j"] / flat_sum["cmos_j"] - 1,
                              "vcd_coverage": run["vcd_coverage"], "gate_sim_s": run["gate_sim_s"]}
        log(f"[energy] same run ({run['items']} x {item}): flat {flat_sum['total_j'] * 1e12:.2f} pJ/{item}, "
            f"block-scaled {same_sum['total_j'] * 1e12:.2f} pJ/{item} ({result['same_run']['deviation']:+.1%})")
    result["seconds"] = round(time.perf_counter() - t0, 2)
    log(f"[energy] {per['total_j'] * 1e9:.4g} nJ per {item} at full throughput ({cycles:g} cycles), of which RRAM "
        f"{per['rram_j'] * 1e9:.3g} nJ, clock {per['kinds_j']['clock'] * 1e9:.3g} nJ")
    write_step(out_dir, "energy", {}, result)
    result["folder"] = str(out_dir)
    return result


def estimate_network_energy(network, n: int, platform: Platform, period_ns: float = 10.0, count: int = 16,
                            log=print) -> dict:
    """Energy per image of ``network`` on arrays of n x n cells, without synthesizing it: the
    block-scaled model with the clock-pin and leakage energy also scaled, per unit of hardware
    (:func:`plan_units`), from the characterisation netlist. For design-space sweeps (Fig. 10);
    ``hwgen energy`` on a synthesized design takes them from its own netlist instead."""
    from ..netplan import network_timing, plan_network

    plans = plan_network(network, n=n)
    check_dense(plans)
    char = characterise(n, platform, period_ns, count, log)
    ops, units = plan_operations(plans), plan_units(plans)
    cycles = network_timing(plans)["initiation_interval"]
    energy = {b: dict.fromkeys(KINDS, 0.0) for b in BLOCK_ORDER}
    coef, structure = char["coefficients"], char["structure"]
    rram = rram_energy(plans, platform)
    for b in BLOCK_ORDER:
        if b in structure:
            energy[b]["clock"] = structure[b]["clock_j_per_cycle"] * units.get(b, 0) * cycles
            energy[b]["leakage"] = structure[b]["leakage_w"] * units.get(b, 0) * cycles * period_ns * 1e-9
        energy[b]["rram"] = rram.get(b, 0.0)
        if b == "control":
            energy[b]["data"] = coef[b]["data_j"] * cycles
            energy[b]["clock"] += coef[b].get("gated_clock_j", 0.0) * cycles
        elif b in coef:
            energy[b]["data"] = coef[b]["data_j"] * ops.get(b, 0)
            energy[b]["clock"] += coef[b].get("gated_clock_j", 0.0) * ops.get(gated_ops(b), 0)
    return {**summarize(energy, 1), "cycles_per_image": cycles, "senses": ops["senses"]}
