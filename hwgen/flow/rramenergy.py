"""The RRAM part of the energy model: every stored weight bit sensed once per layer pass and every
threshold bit read once per pass (counted by :mod:`hwgen.flow.operations`), each at its macro
model's energy per bit sensed (:mod:`hwgen.flow.macro`; the macros' own Liberty internal power
is not added again).
"""

from __future__ import annotations

from ..manifest import Manifest
from .operations import design_n, layer_operations, layers_of
from .platform import Platform


def rram_energy(design, platform: Platform) -> dict:
    """RRAM energy (J) per item of a design (a :class:`Manifest`: an array's pass, a network's
    image) or of network plans, per block: the weight senses (every stored bit once, ``memory``)
    and the threshold bits read (``thresholds``), each at its macro's energy per bit sensed
    (:mod:`hwgen.flow.macro`)."""
    from ..rtl.macros import MacroSpec
    from ..rtl.threshold import threshold_macro
    from .macro import macro_model

    out = {"memory": 0.0, "thresholds": 0.0}
    for hw, thresholds in layers_of(design):
        ops = layer_operations(hw, thresholds)
        out["memory"] += ops["memory"] * macro_model(MacroSpec.weights(hw.n, hw.weights), platform).sense_energy_j
        out["thresholds"] += ops["threshold_bits"] * macro_model(threshold_macro(hw), platform).sense_energy_j
    return out


def design_sense_energy(manifest: Manifest, platform: Platform) -> float:
    """Energy (J) of one bit sensed in the design's n x n weight macro."""
    from ..rtl.macros import MacroSpec
    from .macro import macro_model

    return macro_model(MacroSpec.weights(design_n(manifest)), platform).sense_energy_j
