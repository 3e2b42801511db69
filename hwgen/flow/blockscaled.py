"""The block-scaled energy model of :mod:`hwgen.flow.energy`: each block characterised once, per
array size n, on a small network by a flat gate-level run (:func:`characterise`, cached), as data
and gated-clock energy per operation (:func:`coefficients`; a gated clock ticks with its
block's work; the cells' data per sense and per sensed-bit toggle, :func:`toggle_fit`, from a
second run whose rows are alike), then scaled by a design's operations (:func:`scaled_energy`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..manifest import Manifest
from .flatenergy import Netlist, gate_level_run
from .operations import block_operations, layers_of, plan_units
from .platform import Platform
from .steps import work_folder
from .synth import BLOCK_ORDER
from .tally import empty_table, summarize


def coefficients(run: dict, manifest: Manifest) -> dict:
    """Data energy and gated-clock energy per operation of every block, from a flat run (see
    :mod:`hwgen.flow.energy`): a gated clock ticks when its registers load, i.e. with the block's work."""
    ops = block_operations(manifest)
    coef = {}
    for block in BLOCK_ORDER:
        data, gated = run["energy"][block]["data"], run["gated_clock"][block]
        if block == "control":
            per = run["window_cycles"] * len(layers_of(manifest))
            coef[block] = {"per": "layer cycle", "data_j": data / per, "gated_clock_j": gated / per}
        elif ops.get(block):
            per = ops[block] * run["items"]
            coef[block] = {"per": block_unit(block), "data_j": data / per,
                           "gated_clock_j": gated / per}
    return coef


def block_unit(block: str) -> str:
    return {"memory": "sense", "cells": "sense", "tree": "partial sum", "thresholds": "neuron",
            "links": "bit", "argmax": "class", "im2col": "tap", "control": "layer cycle"}[block]


def scaled_energy(net: Netlist, macros, manifest: Manifest, coef: dict, items: float, cycles: float,
                  period_s: float, rram: dict, toggles: float) -> dict:
    """Block-scaled energy (J) per block and kind of ``items`` items over ``cycles`` cycles:
    the ungated clock and leakage exactly from the netlist, data and gated clocks per operation
    (``coef``; the cells' data also per toggle of a sensed bit, ``toggles`` per item,
    :mod:`hwgen.flow.toggles`), ``rram`` (J per item per block,
    :func:`hwgen.flow.rramenergy.rram_energy`) per item."""
    ops = block_operations(manifest)
    clock, leak = net.clock_energy_per_cycle(macros), net.leakage_w()
    energy = empty_table()
    missing = []
    for block in BLOCK_ORDER:
        energy[block]["clock"] = clock.get(block, 0.0) * cycles
        energy[block]["leakage"] = leak.get(block, 0.0) * cycles * period_s
        energy[block]["rram"] = rram.get(block, 0.0) * items
        if block != "control" and ops.get(block) and block not in coef:
            missing.append(block)
    if missing:
        raise ConfigError(f"the characterisation has no {', '.join(missing)} block; characterise on a network")
    add_operation_energy(energy, coef, ops, toggles, cycles * len(layers_of(manifest)), items)
    return energy


def add_operation_energy(energy: dict, coef: dict, ops: dict, toggles: float, layer_cycles: float,
                         items: float = 1) -> None:
    """Add to ``energy`` the data and gated-clock energy of ``items`` items, per operation of each
    block (``ops`` per item), the cells' also per sensed-bit toggle (``toggles`` per item), and the
    control's per cycle of every layer (its sequencer and held input vector; ``layer_cycles`` in all)."""
    for block in BLOCK_ORDER:
        c = coef.get(block)
        if c is None:
            continue
        if block == "control":
            energy[block]["data"] += c["data_j"] * layer_cycles
            energy[block]["clock"] += c.get("gated_clock_j", 0.0) * layer_cycles
        elif ops.get(block):
            energy[block]["data"] += (c["data_j"] * ops[block] + toggle_energy(c, toggles)) * items
            energy[block]["clock"] += c.get("gated_clock_j", 0.0) * ops[block] * items


def toggle_energy(block_coef: dict, toggles: float) -> float:
    """The part of a block's data energy per item that follows its sensed rows' toggles."""
    return block_coef.get("toggle_j", 0.0) * toggles


def characterisation_network(n: int, seed: int = 0, wide: bool = False, flip: float = 0.5):
    """A small two-layer network blocks are characterised on: (s*s)-2n-10 with s*s the largest
    square <= 4n (inputs are resized images), random weights from ``seed``, thresholds at half
    the inputs (so activations follow the data). ``wide``: s*s <= 2 GROUP n (at most 784), so
    that its first layer's popcount trees add more than GROUP partials in two registered groups
    (:data:`hwgen.rtl.tree.GROUP`), as a large layer's trees do; the trees of designs that have
    such layers are characterised on it (:func:`characterise_for`). ``flip`` < 0.5: each row an
    array lane reads (par2seq, ``M = ceil(outputs / n)`` lanes) differs from the lane's previous
    row in a random ``flip`` fraction of its bits, as in a network whose neurons are ordered for
    low activity (:mod:`hwgen.reorder`); 0.5 is independent random rows."""
    from ..ir import Layer, Network
    from ..rtl.tree import GROUP

    rng = np.random.default_rng(seed)
    side = int(math.isqrt(min((2 * GROUP if wide else 4) * n, 784)))
    sizes = (side * side, 2 * n, 10)
    layers = []
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        bits = rng.integers(0, 2, (b, a))
        lanes = -(-b // n)
        if flip < 0.5:
            for o in range(lanes, b):       # neuron o follows neuron o - M in its lane
                bits[o] = bits[o - lanes] ^ (rng.random(a) < flip)
        layers.append(Layer.from_bits(bits, np.full(b, a // 2), output="popcount" if k == len(sizes) - 2 else "sign",
                                      name=f"fc{k + 1}"))
    purpose = "energy characterisation" + (f" (rows {flip:.0%} apart)" if flip < 0.5 else "")
    return Network(layers, {"input_threshold": 127, "dataset": "mnist", "purpose": purpose})


ALIKE_FLIP = 0.25      # the second characterisation network's rows: 25 % of a lane's bits change per row


def toggle_fit(cells: dict, random_run: dict, alike_run: dict, senses_per_item: float) -> dict:
    """The cells' data energy as ``data_j`` per sense + ``toggle_j`` per toggle of a sensed bit,
    fitted to two flat runs of the same shapes: independent random rows and rows that change in
    :data:`ALIKE_FLIP` of their bits (a cell's popcount adders switch with its sensed row, and
    also per read: the part that does not follow the row's changes). Toggles are the ones the
    runs' VCDs show on the weight macros' outputs."""
    e = [r["energy"]["cells"]["data"] / r["items"] for r in (random_run, alike_run)]
    t = [r["sensed_toggles"] / r["items"] for r in (random_run, alike_run)]
    if not t[0] > t[1] > 0:
        raise ConfigError(f"the characterisation runs' sensed rows toggled {t[0]:.0f} and {t[1]:.0f} times per "
                          f"item: no fit per toggle")
    per_toggle = max(0.0, (e[0] - e[1]) / (t[0] - t[1]))
    per_sense = max(0.0, (e[0] - per_toggle * t[0]) / senses_per_item)
    return {**cells, "data_j": per_sense, "toggle_j": per_toggle, "per": "sense + sensed-bit toggle",
            "fit": {"data_j_per_item": e, "toggles_per_item": t, "senses_per_item": senses_per_item}}


def characterise_for(plans, n: int, platform: Platform, period_ns: float, count: int = 16, log=print) -> dict:
    """The characterisation (:func:`characterise`) a design of layer ``plans`` is scaled from: the
    small network's for every block, and, when a layer's trees add more than GROUP partials (so
    hold several group sums, :mod:`hwgen.rtl.tree`), the wide network's for the trees, whose
    registers, group adders and sum after the register the small network's trees do not have."""
    from ..rtl.tree import GROUP

    char = characterise(n, platform, period_ns, count, log)
    if not any(p.hw.config == "par2seq" and p.hw.N > GROUP for p in plans):
        return char
    wide = characterise(n, platform, period_ns, count, log, wide=True)
    return {**char, "coefficients": {**char["coefficients"], "tree": wide["coefficients"]["tree"]},
            "structure": {**char["structure"], "tree": wide["structure"]["tree"]}, "tree_network": wide["network"]}


def _code_digest() -> str:
    """SHA-256 (16 hex digits) of the sources a characterisation depends on: the package's top
    modules (IR, network plan, generation, programming image), the RTL, the harness and the flow."""
    import hashlib

    from .. import __version__

    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent.parent
    for folder in ("", "rtl", "verify", "flow"):
        for path in sorted((root / folder).glob("*.py")):
            h.update(f"{folder}/{path.name}".encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def characterise(n: int, platform: Platform, period_ns: float, count: int = 16, log=print, wide: bool = False) -> dict:
    """Data energy per operation of every block for arrays of n x n cells on ``platform``, from a
    flat gate-level run of :func:`characterisation_network` (macro view). Cached in the cache
    folder by n, platform Liberty, period, image count and a digest of the code that makes it
    (:func:`_code_digest`), so a changed design or model is characterised afresh."""
    from ..generate import generate_network
    from ..netplan import plan_network
    from .platform import cache_dir
    from .synth import synthesize

    lib = platform.prepared_liberty()
    key = f"{platform.name}_{lib.stem}_n{n}{'_wide' if wide else ''}_{period_ns:g}ns_{count}_{_code_digest()}"
    cache = cache_dir() / "energy" / f"characterisation_{key}.json"
    if cache.is_file():
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
    net = characterisation_network(n, wide=wide)
    log(f"[energy] characterising blocks for n={n} on {platform.name}{' (wide trees)' if wide else ''} "
        f"(once; cached in {cache.parent})")

    def flat_run(network, work: Path):
        manifest = generate_network(network, plan_network(network, n=n), work / "design", name="hwgen_char",
                                    views=("macro",))
        synth = synthesize(manifest, platform, "macro", period_ns, log=lambda *a: None)
        run_dir = work / "run"
        run_dir.mkdir()
        return manifest, synth, gate_level_run(manifest, Path(synth["folder"]), platform, count, run_dir, log=log)

    with work_folder(cache) as work:
        (work / "random").mkdir()
        manifest, synth, run = flat_run(net, work / "random")
        units = plan_units(manifest.layers)
        clock, leak = run["net"].clock_energy_per_cycle(run["macros"]), run["net"].leakage_w()
        structure = {b: {"clock_j_per_cycle": clock.get(b, 0.0) / units[b], "leakage_w": leak.get(b, 0.0) / units[b]}
                     for b in BLOCK_ORDER if units.get(b)}
        coef = coefficients(run, manifest)
        result = {"structure": structure, "n": n, "platform": platform.name, "period_ns": period_ns, "images": count,
                  "network": [layer.n_inputs for layer in net.layers] + [net.layers[-1].n_outputs],
                  "cells": synth["cells"], "coefficients": coef,
                  "flat_per_image": summarize(run["energy"], run["items"])}
        if not wide:
            (work / "alike").mkdir()
            alike = characterisation_network(n, flip=ALIKE_FLIP)
            m2, _, run2 = flat_run(alike, work / "alike")
            coef["cells"] = toggle_fit(coef["cells"], run, run2, block_operations(manifest)["cells"])
            result["alike_flat_per_image"] = summarize(run2["energy"], run2["items"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    from ..files import atomic_write

    atomic_write(cache, json.dumps(result, indent=1, sort_keys=True))
    return result
