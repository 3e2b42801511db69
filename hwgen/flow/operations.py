"""What a design does and has per item (an array's layer pass, a network's image), block by block:
the operations each block of the energy model scales with (senses, partial sums, neurons,
threshold bits, link bits, classes), the hardware its clock pins and leakage scale with, the
cycles per item and the cell size n. Counted from the manifest or the network plans, never
measured; :mod:`hwgen.flow.energy` prices them.
"""

from __future__ import annotations

from collections import defaultdict

from ..errors import ConfigError
from ..manifest import Manifest


def layer_operations(hw, thresholds: bool = True) -> dict:
    """Operations of one layer pass of an array, per block (the units the block scales with), and
    the threshold bits its threshold memory reads (every neuron's threshold once per pass; none
    when ``thresholds`` is False: a network's output layer gives popcounts, so synthesis removes
    its unread threshold memory)."""
    senses = hw.N * hw.M * hw.n * hw.n
    return {"memory": senses, "cells": senses, "tree": hw.max_outputs * hw.N, "thresholds": hw.max_outputs,
            "threshold_bits": hw.max_outputs * hw.threshold_width if thresholds else 0}


def layers_of(manifest_or_plans) -> list:
    """``(hw, thresholds read)`` of every array of a design (a manifest) or of network plans."""
    if isinstance(manifest_or_plans, Manifest):
        if manifest_or_plans.kind == "array":
            return [(manifest_or_plans.hw, True)]
        manifest_or_plans = manifest_or_plans.layers
    return [(p.hw, p.output != "popcount") for p in manifest_or_plans]


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
    for hw, thresholds in layers_of(plans):
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


def design_n(manifest: Manifest) -> int:
    """The cell size n of a design (the energy model takes one n per design)."""
    ns = {p.hw.n for p in manifest.layers} if manifest.kind == "network" else {manifest.hw.n}
    if len(ns) != 1:
        raise ConfigError("layers of different n: the energy model takes one n per design")
    return ns.pop()
