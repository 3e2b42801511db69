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
- RRAM: the 2T2R senses (every stored bit of every array is sensed once per layer pass, as the
  manifest's plans count) x the macro model's energy per sense (:mod:`hwgen.flow.macro`; the
  macro's own Liberty internal power is not added again).

Energy on the clock net (its pin loads and the clock pins' internal energy) is *clock*; the rest
of switching and internal energy is *data*.

**Block-scaled.** A network is too large for one flat gate-level run, so each block (cells,
tree, thresholds, links, argmax, control, memory) is characterised once on a small
characterisation network with the same n (a flat run: data energy per operation of that block),
and the target's energy is

    clock (exact: its netlist's clock pins, per cycle) + leakage (exact: its cells, per cycle)
    + sum over blocks of (data energy per operation x the target's operations)
    + RRAM senses x energy per sense,

with operations per item (layer pass or image) from the plans (:func:`block_operations`) and the
cycles per inference from the manifest (checked by every network regression). On a small array
the block-scaled figure is compared with the flat gate-level figure of the same run.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import ConfigError, SimulatorMissing
from ..manifest import Manifest
from .liberty import CellLibrary, load_library
from .platform import Platform
from .synth import BLOCK_ORDER, block_of
from .steps import link, read_step, work_folder, write_step
from .tools import FlowError

KINDS = ("clock", "data", "leakage")


# -- operations -------------------------------------------------------------------------------------

def layer_operations(hw) -> dict:
    """Operations of one layer pass of an array, per block (the units the block scales with)."""
    senses = hw.N * hw.M * hw.n * hw.n
    return {"memory": senses, "cells": senses, "tree": hw.max_outputs * hw.N, "thresholds": hw.max_outputs}


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
    for p in plans:
        for k, v in layer_operations(p.hw).items():
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
        for name, cell in module["cells"].items():
            ctype = cell["type"]
            lib_cell = library.cell(ctype)
            self.cells[name] = (ctype, block_of(name))
            for pin, bits in cell["connections"].items():
                p = lib_cell.pins.get(pin)
                if p is None:
                    raise FlowError(f"pin {pin} of {ctype} is not in the Liberty file")
                for b in bits:
                    if isinstance(b, int):
                        (self.driver.__setitem__(b, (name, pin)) if p.direction == "output"
                         else self.sinks[b].append((name, pin)))
        self.names = {}                       # net name -> bits (LSB first)
        for name, net in module["netnames"].items():
            self.names[name] = [b for b in net["bits"]]
        self.clock_bits = set(b for b in module["ports"].get("clk", {}).get("bits", []) if isinstance(b, int))

    def clock_energy_per_cycle(self, macros=()) -> dict:
        """Energy per cycle on the clock net, per block (two toggles a cycle)."""
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

def vcd_toggles(path, names: dict) -> dict:
    """Toggles (0<->1) per net bit over the whole VCD; a variable's first value is its baseline.
    Variables are matched to netlist names (a leading backslash and a bit range ignored)."""
    try:
        from vcd.reader import TokenKind, tokenize
    except ImportError:
        raise SimulatorMissing("the energy model reads VCD files with pyvcd: `pip install 'hwgen[flow]'` "
                               "(or run `make setup`)") from None

    var_bits, last, counts = {}, {}, {}
    with open(path, "rb") as f:
        for tok in tokenize(f):
            kind = tok.kind
            if kind is TokenKind.VAR:
                ref = tok.var.reference.lstrip("\\").strip()
                bits = names.get(ref)
                if bits is not None and len(bits) == tok.var.size:
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
    return toggles


# -- flat energy --------------------------------------------------------------------------------------

def flat_energy(net: Netlist, toggles: dict, cycles: int, period_s: float, macros=()) -> dict:
    """Energy (J) per block and kind over a window of ``cycles`` from per-bit toggles."""
    v2 = net.library.voltage_v ** 2
    energy = {b: dict.fromkeys(KINDS, 0.0) for b in BLOCK_ORDER}
    for bit, t in toggles.items():
        kind = "clock" if bit in net.clock_bits else "data"
        load = 0.0
        for c, p in net.sinks.get(bit, ()):
            ctype, block = net.cells[c]
            pin = net.library.cell(ctype).pins[p]
            load += pin.capacitance_f
            internal = 0.0 if ctype in macros else pin.energy_j
            energy[block][kind] += t * (0.5 * pin.capacitance_f * v2 + internal)
        drv = net.driver.get(bit)
        if drv is not None:
            ctype, block = net.cells[drv[0]]
            if ctype not in macros:
                energy[block][kind] += t * net.library.cell(ctype).pins[drv[1]].output_energy(load)
    for block, w in net.leakage_w().items():
        energy[block]["leakage"] += w * cycles * period_s
    return energy


def _sum(energy: dict) -> float:
    return sum(sum(v.values()) for v in energy.values())


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
    from .macro import macro_model

    return macro_model(design_n(manifest), platform).sense_energy_j


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
        macro_ns = [manifest.hw.n] if synth["view"] == "macro" else []
    else:
        from ..ir import Network

        trace = record_network(Network.load(manifest.path(manifest.ir_file)), list(manifest.layers), count)
        macro_ns = sorted({p.hw.n for p in manifest.layers})
    t1 = time.perf_counter()
    log(f"[energy] RTL trace: {trace.cycles} cycles ({trace.items} items in {trace.window_cycles}), "
        f"{t1 - t0:.1f} s; gate-level replay of {synth['cells']} cells")
    link(work, "cells.lib", platform.prepared_liberty())
    link(work, "netlist.v", synth_folder / "netlist.v")
    simulate(work, synth["top"], trace, macro_ns)
    t2 = time.perf_counter()
    net, macros = netlist or load_netlist(synth_folder, platform, synth)
    toggles = vcd_toggles(work / "activity.vcd", net.names)
    period_s = synth["period_ns"] * 1e-9
    energy = flat_energy(net, toggles, trace.window_cycles, period_s, macros)
    ops = block_operations(manifest)
    senses = ops["senses"] * trace.items
    e_sense = _sense_energy(manifest, platform) if synth["view"] == "macro" else 0.0
    return {"energy": energy, "net": net, "macros": macros, "items": trace.items,
            "window_cycles": trace.window_cycles, "cycles": trace.cycles, "period_s": period_s,
            "rram_j": senses * e_sense, "senses": senses, "sense_energy_j": e_sense,
            "trace_s": round(t1 - t0, 2), "gate_sim_s": round(t2 - t1, 2), "energy_s": round(time.perf_counter() - t2, 2)}


def coefficients(run: dict, manifest: Manifest) -> dict:
    """Data energy per operation of every block, from a flat run (see the module docstring)."""
    ops = block_operations(manifest)
    coef = {}
    for block in BLOCK_ORDER:
        data = run["energy"][block]["data"]
        if block == "control":
            coef[block] = {"per": "cycle", "data_j": data / run["window_cycles"]}
        elif ops.get(block):
            coef[block] = {"per": block_unit(block), "data_j": data / (ops[block] * run["items"])}
    return coef


def block_unit(block: str) -> str:
    return {"memory": "sense", "cells": "sense", "tree": "partial sum", "thresholds": "neuron",
            "links": "bit", "argmax": "class", "im2col": "tap", "control": "cycle"}[block]


def scaled_energy(net: Netlist, macros, manifest: Manifest, coef: dict, items: float, cycles: float,
                  period_s: float, sense_energy_j: float) -> dict:
    """Block-scaled energy (J) per block and kind of ``items`` items over ``cycles`` cycles."""
    ops = block_operations(manifest)
    clock, leak = net.clock_energy_per_cycle(macros), net.leakage_w()
    energy = {b: dict.fromkeys(KINDS, 0.0) for b in BLOCK_ORDER}
    missing = []
    for block in BLOCK_ORDER:
        energy[block]["clock"] = clock.get(block, 0.0) * cycles
        energy[block]["leakage"] = leak.get(block, 0.0) * cycles * period_s
        if block == "control":
            energy[block]["data"] = coef["control"]["data_j"] * cycles
        elif ops.get(block):
            if block not in coef:
                missing.append(block)
                continue
            energy[block]["data"] = coef[block]["data_j"] * ops[block] * items
    if missing:
        raise ConfigError(f"the characterisation has no {', '.join(missing)} block; characterise on a network")
    return {"energy": energy, "rram_j": ops["senses"] * items * sense_energy_j}


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
                  "flat_per_image": summarize(run["energy"], run["rram_j"], run["items"])}
    cache.parent.mkdir(parents=True, exist_ok=True)
    from ..files import atomic_write

    atomic_write(cache, json.dumps(result, indent=1, sort_keys=True))
    return result


def summarize(energy: dict, rram_j: float, per: float) -> dict:
    """Per-item totals (J): per block, per kind, RRAM, total."""
    blocks = {b: round(sum(v.values()) / per, 18) for b, v in energy.items()}
    kinds = {k: round(sum(v[k] for v in energy.values()) / per, 18) for k in KINDS}
    total = _sum(energy) + rram_j
    return {"blocks_j": blocks, "kinds_j": kinds, "rram_j": rram_j / per, "cmos_j": _sum(energy) / per,
            "total_j": total / per}


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
    cycles = cycles_per_item(manifest)
    scaled = scaled_energy(net, macros, manifest, char["coefficients"], 1, cycles, period_s, e_sense)
    item = "image" if manifest.kind == "network" else "pass"
    ops = block_operations(manifest)
    per = summarize(scaled["energy"], scaled["rram_j"], 1)
    result = {"design": str(manifest.folder), "kind": manifest.kind, "item": item, "view": view,
              "platform": platform.name, "period_ns": synth["period_ns"], "cycles_per_item": cycles,
              "operations_per_item": ops, "sense_energy_j": e_sense, "scaled": per,
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
                             period_s, e_sense)
        flat_sum = summarize(run["energy"], run["rram_j"], run["items"])
        same_sum = summarize(same["energy"], same["rram_j"], run["items"])
        result["same_run"] = {"items": run["items"], "cycles": run["window_cycles"], "flat": flat_sum,
                              "scaled": same_sum, "deviation": same_sum["total_j"] / flat_sum["total_j"] - 1,
                              "gate_sim_s": run["gate_sim_s"]}
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
    for b in BLOCK_ORDER:
        if b in structure:
            energy[b]["clock"] = structure[b]["clock_j_per_cycle"] * units.get(b, 0) * cycles
            energy[b]["leakage"] = structure[b]["leakage_w"] * units.get(b, 0) * cycles * period_ns * 1e-9
        if b == "control":
            energy[b]["data"] = coef[b]["data_j"] * cycles
        elif b in coef:
            energy[b]["data"] = coef[b]["data_j"] * ops.get(b, 0)
    from .macro import macro_model

    rram = ops["senses"] * macro_model(n, platform).sense_energy_j
    return {**summarize(energy, rram, 1), "cycles_per_image": cycles, "senses": ops["senses"]}
