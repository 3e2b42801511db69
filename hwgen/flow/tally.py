"""The energy table both energy figures fill, J per block and kind: *clock* (the ungated clock and
the gated clocks behind clock-gating cells), *data* (the rest of switching and internal energy),
*leakage* and *rram* (the macros' reads); and its per-item summary (per block, per kind, RRAM,
CMOS, total).
"""

from __future__ import annotations

KINDS = ("clock", "data", "leakage", "rram")
CMOS_KINDS = ("clock", "data", "leakage")


def empty_table() -> dict:
    """J per block (in report order) and kind, all 0."""
    from .synth import BLOCK_ORDER

    return {b: dict.fromkeys(KINDS, 0.0) for b in BLOCK_ORDER}


def summarize(energy: dict, per: float) -> dict:
    """Per-item totals (J): per block (all kinds), per kind, per block and kind, RRAM, CMOS, total."""
    blocks = {b: round(sum(v.values()) / per, 18) for b, v in energy.items()}
    kinds = {k: round(sum(v[k] for v in energy.values()) / per, 18) for k in KINDS}
    by_kind = {b: {k: round(v[k] / per, 18) for k in KINDS} for b, v in energy.items()}
    return {"blocks_j": blocks, "kinds_j": kinds, "block_kinds_j": by_kind, "rram_j": kinds["rram"],
            "cmos_j": _sum(energy, CMOS_KINDS) / per, "total_j": _sum(energy) / per}


def _sum(energy: dict, kinds=KINDS) -> float:
    return sum(v[k] for v in energy.values() for k in kinds)
