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

Every VCD variable is matched to the netlist by its exact name (:func:`hwgen.flow.vcd.vcd_name`),
and every driven net bit of the netlist must have one (:meth:`hwgen.flow.vcd.Activity.coverage`):
a net without a name would count zero toggles.

Energy on the clock net is *clock*: the ungated clock (its pin loads, the clock pins' internal
energy, the clock-gating cells' own) and the gated clocks behind the integrated clock-gating
cells (:mod:`hwgen.flow.synth`), which toggle only in the cycles their gate opens. The rest of
switching and internal energy is *data*.

**Block-scaled.** A network is too large for one flat gate-level run, so each block (cells,
tree, thresholds, links, argmax, control, memory) is characterised once on a small
characterisation network with the same n (a flat run: data energy and gated-clock energy per
operation of that block: a gated clock ticks when its registers load, i.e. with the block's
work, a tree's with the partial sums its group registers add), and the target's
energy is

    ungated clock (exact: its netlist's clock pins, per cycle) + leakage (exact: its cells, per
    cycle) + sum over blocks of ((data + gated clock) energy per operation x the target's
    operations) + the cells' data energy per toggle of a sensed bit x the target's toggles
    + RRAM reads x energy per bit sensed,

with operations per item (layer pass or image) from the plans
(:func:`hwgen.flow.operations.block_operations`), the control's per cycle of every layer, and the
cycles per inference from the manifest (checked by every network regression). A cell's popcount
adders switch with its sensed row, which changes only where the rows read in consecutive cycles
differ, so the cells are priced per sense and per sensed-bit toggle: two coefficients fitted to
two characterisation runs, on independent random rows and on rows that change in a quarter of
their bits (:func:`hwgen.flow.blockscaled.toggle_fit`), and the target's toggles counted from its
weights and the golden model's layer inputs over the same images (:mod:`hwgen.flow.toggles`; the
gate-level VCD shows the same count on the macros' outputs). That is what makes a network whose
neurons are ordered for activity (:mod:`hwgen.reorder`) cost less than the same network in its
trained order. On a small array the block-scaled figure is compared with the flat gate-level
figure of the same run.

This module holds the two entry points, :func:`run_energy` (the ``hwgen energy`` step) and
:func:`estimate_network_energy` (sweeps, without synthesis). The parts they combine:
:mod:`hwgen.flow.operations` (what a design does per item), :mod:`hwgen.flow.rramenergy` (the
RRAM reads), :mod:`hwgen.flow.vcd` (toggles from a VCD), :mod:`hwgen.flow.flatenergy` (the flat
gate-level figure), :mod:`hwgen.flow.blockscaled` (characterisation and block scaling) and
:mod:`hwgen.flow.tally` (the energy table and its summary).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import ConfigError
from ..manifest import Manifest
from .blockscaled import add_operation_energy, characterise_for, scaled_energy
from .flatenergy import gate_level_run, load_netlist
from .operations import block_operations, check_dense, cycles_per_item, design_n, plan_operations, plan_units
from .platform import Platform
from .rramenergy import design_sense_energy, rram_energy
from .steps import read_step, work_folder, write_step
from .synth import BLOCK_ORDER
from .tally import empty_table, summarize
from .toggles import design_toggles, network_toggles


FLAT_LIMIT_CELLS = 20_000      # above this the flat gate-level run is skipped (minutes, GBs of VCD)


def run_energy(design, platform: Platform, view: str = "macro", count: int = 16, flat: bool | None = None,
               out_dir=None, log=print, images=None) -> dict:
    """Energy per item (array: pass; network: image) of a synthesized design: block-scaled always,
    and for designs up to :data:`FLAT_LIMIT_CELLS` cells also flat at gate level on the same run,
    with their agreement. ``images``: a network's workload (an image set or a dataset folder;
    default the shipped test slice of its dataset, :func:`hwgen.flow.activity.network_workload`).
    Writes ``energy/step.json`` beside the synthesis results."""
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
    char = characterise_for(manifest.layers if manifest.kind == "network" else [manifest], n, platform,
                            synth["period_ns"], count, log)
    net, macros = load_netlist(synth_folder, platform, synth)
    period_s = synth["period_ns"] * 1e-9
    e_sense = design_sense_energy(manifest, platform)
    rram = rram_energy(manifest, platform)
    cycles = cycles_per_item(manifest)
    toggles = design_toggles(manifest, count, images)
    scaled = scaled_energy(net, macros, manifest, char["coefficients"], 1, cycles, period_s, rram, toggles)
    item = "image" if manifest.kind == "network" else "pass"
    ops = block_operations(manifest)
    per = summarize(scaled, 1)
    result = {"design": str(manifest.folder), "kind": manifest.kind, "item": item, "view": view,
              "platform": platform.name, "period_ns": synth["period_ns"], "cycles_per_item": cycles,
              "operations_per_item": ops, "sensed_toggles_per_item": toggles, "sense_energy_j": e_sense, "rram_per_item_j": rram, "scaled": per,
              "characterisation": {k: char[k] for k in ("n", "network", "cells", "images", "coefficients",
                                                          "tree_network") if k in char},
              # two figures per synapse, each named for what it divides: the paper's "read + add"
              # (a weight sense with the macro's pins, its XNOR-popcount in the cell and its share of
              # the tree) and the whole design's energy per operation (an XNOR and an add: 2 per
              # synapse), whose inverse is the TOPS/W
              "read_add_j": read_add_energy(per, ops["senses"]),
              "energy_per_operation_j": per["total_j"] / (2 * ops["senses"]),
              "tops_per_w": 2 * ops["senses"] / per["total_j"] / 1e12}
    if manifest.kind == "network" and manifest.ir_file:
        from ..ir import Network

        est = estimate_network_energy(Network.load(manifest.path(manifest.ir_file)), n, platform, synth["period_ns"],
                                      count, log, neuron_order="model", images=images)
        result["structural_estimate"] = {"total_j": est["total_j"], "cmos_j": est["cmos_j"],
                                         "deviation": est["total_j"] / per["total_j"] - 1,
                                         "cmos_deviation": est["cmos_j"] / per["cmos_j"] - 1}
    if flat is None:
        flat = synth["cells"] <= FLAT_LIMIT_CELLS
    if flat:
        with work_folder(out_dir) as work:
            run = gate_level_run(manifest, synth_folder, platform, count, work, log=log, netlist=(net, macros),
                                 images=images)
        same = scaled_energy(net, macros, manifest, char["coefficients"], run["items"], run["window_cycles"],
                             period_s, rram, toggles)
        flat_sum = summarize(run["energy"], run["items"])
        same_sum = summarize(same, run["items"])
        result["same_run"] = {"items": run["items"], "cycles": run["window_cycles"], "flat": flat_sum,
                              "scaled": same_sum, "deviation": same_sum["total_j"] / flat_sum["total_j"] - 1,
                              "cmos_deviation": same_sum["cmos_j"] / flat_sum["cmos_j"] - 1,
                              "vcd_coverage": run["vcd_coverage"], "gate_sim_s": run["gate_sim_s"],
                              "sensed_toggles": {"vcd": run["sensed_toggles"] / run["items"], "counted": toggles}}
        log(f"[energy] same run ({run['items']} x {item}): flat {flat_sum['total_j'] * 1e12:.2f} pJ/{item}, "
            f"block-scaled {same_sum['total_j'] * 1e12:.2f} pJ/{item} ({result['same_run']['deviation']:+.1%})")
    result["seconds"] = round(time.perf_counter() - t0, 2)
    log(f"[energy] {per['total_j'] * 1e9:.4g} nJ per {item} at full throughput ({cycles:g} cycles), of which RRAM "
        f"{per['rram_j'] * 1e9:.3g} nJ, clock {per['kinds_j']['clock'] * 1e9:.3g} nJ")
    write_step(out_dir, "energy", {}, result)
    result["folder"] = str(out_dir)
    return result


READ_ADD_BLOCKS = ("memory", "cells", "tree")


def read_add_energy(per: dict, senses: float) -> float:
    """Energy per 2T2R read + its addition, the paper's unit: the weight senses and the macros'
    pins (block ``memory``), the cells' popcounts and the trees (``per``: a :func:`summarize`d
    table per item), per weight sensed. Not the design's energy per operation, which also carries
    the thresholds, links, argmax and control, over two operations per synapse."""
    return sum(per["blocks_j"].get(b, 0) for b in READ_ADD_BLOCKS) / senses


def estimate_network_energy(network, n: int, platform: Platform, period_ns: float = 10.0, count: int = 16,
                            log=print, neuron_order: str = "activity", images=None) -> dict:
    """Energy per image of ``network`` on arrays of n x n cells, without synthesizing it: the
    block-scaled model with the clock-pin and leakage energy also scaled, per unit of hardware
    (:func:`hwgen.flow.operations.plan_units`), from the characterisation netlist. For
    design-space sweeps (Fig. 10); ``hwgen energy`` on a synthesized design takes them from its own
    netlist instead. ``neuron_order``: as ``hwgen rtl`` (``activity``, its default, reorders the
    hidden neurons first, :mod:`hwgen.reorder`; ``model`` keeps the network's order)."""
    from ..netplan import network_timing, plan_network
    from ..reorder import reorder_network
    from .activity import network_workload

    plans = plan_network(network, n=n)
    check_dense(plans)
    if neuron_order == "activity":
        network = reorder_network(network, [p.hw for p in plans])[0]
    char = characterise_for(plans, n, platform, period_ns, count, log)
    ops, units = plan_operations(plans), plan_units(plans)
    toggles = network_toggles(network, plans, network_workload(network, count, images))
    cycles = network_timing(plans)["initiation_interval"]
    energy = empty_table()
    coef, structure = char["coefficients"], char["structure"]
    rram = rram_energy(plans, platform)
    for b in BLOCK_ORDER:
        if b in structure:
            energy[b]["clock"] = structure[b]["clock_j_per_cycle"] * units.get(b, 0) * cycles
            energy[b]["leakage"] = structure[b]["leakage_w"] * units.get(b, 0) * cycles * period_ns * 1e-9
        energy[b]["rram"] = rram.get(b, 0.0)
    add_operation_energy(energy, coef, ops, toggles, cycles * len(plans))
    return {**summarize(energy, 1), "cycles_per_image": cycles, "senses": ops["senses"], "sensed_toggles": toggles}
