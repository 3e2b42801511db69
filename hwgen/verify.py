"""Verification runs a user starts: the cocotb regression of a generated array against the
golden model, with a small JSON report (what was checked, cycles, speed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from . import sim as simulators
from .device import check_ber
from .flow.checks import load_manifest


def build_design(design_dir, simulator: str, build_dir=None):
    """Compile the sim view of a generated design; returns ``(runner, top, build_dir)``."""
    design_dir = Path(design_dir)
    manifest = load_manifest(design_dir)
    if "sim" not in manifest["files"]:
        raise ValueError(f"{design_dir} has no sim view; regenerate it with --views sim,...")
    entry = manifest["files"]["sim"]
    build_dir = Path(build_dir or Path("sim_build") / f"{simulator}_{design_dir.name}")
    runner = simulators.build(simulator, [design_dir / f for f in entry["verilog"]], entry["top"], build_dir)
    return runner, entry["top"], build_dir


def run_array_regression(design_dir, simulator: str, *, ber: float = 0.0, seed: int = 1, passes: int = 16,
                         fill: str = "full", build_dir=None, built=None, echo=print) -> dict:
    """Program a random layer with device errors sampled at ``ber``, stream ``passes`` inputs,
    and compare every activation and popcount with the golden model. Raises on any mismatch.

    ``built`` (from :func:`build_design`) skips compilation when running several times.
    """
    ber = check_ber(ber)
    if passes < 2:
        raise ValueError(f"passes must be >= 2 (all-ones and all-zeros vectors come first), not {passes}")
    design_dir = Path(design_dir)
    t0 = time.perf_counter()
    runner, top, build_dir = built or build_design(design_dir, simulator, build_dir)
    t_build = time.perf_counter() - t0
    report = Path(build_dir).resolve() / f"report_{seed}_{ber:g}_{fill}.json"
    echo(f"[sim] {simulator}: {design_dir} seed={seed} ber={ber:g} passes={passes} fill={fill}")
    t1 = time.perf_counter()
    simulators.run(runner, top, "tb_array", build_dir, {
        "HWGEN_MANIFEST": (design_dir / "manifest.json").resolve(), "HWGEN_SEED": seed, "HWGEN_BER": ber,
        "HWGEN_PASSES": passes, "HWGEN_FILL": fill, "HWGEN_REPORT": report,
    }, testcase="array_matches_golden", tag=f"{seed}_{ber:g}_{fill}")
    result = json.loads(report.read_text())
    result.update({"simulator": simulator, "design": str(design_dir), "build_s": round(t_build, 2),
                   "run_s": round(time.perf_counter() - t1, 2)})
    return result
