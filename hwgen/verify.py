"""Verification runs a user starts: the cocotb regression of a generated array against the
golden model, with a small JSON report (what was checked, cycles, speed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from . import sim as simulators
from .device import check_ber
from .flow.checks import load_manifest


MODES = {"stream": "sim", "batch": "harness"}


def view_for(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return MODES[mode]


def _build_view(design_dir: Path, simulator: str, view: str, build_dir, default_name: str, ports_only=False):
    entry = load_manifest(design_dir)["files"][view]
    build_dir = Path(build_dir or Path("sim_build") / default_name)
    runner = simulators.build(simulator, [design_dir / f for f in entry["verilog"]], entry["top"], build_dir,
                              ports_only=ports_only)
    return runner, entry["top"], build_dir


def _run_with_report(built, build_started: float, module: str, testcase: str, env: dict, tag: str,
                     design_dir: Path, simulator: str, plusargs=()) -> dict:
    """Run a testbench that writes a JSON report (HWGEN_REPORT); return it with run metadata."""
    runner, top, build_dir = built
    t_build = time.perf_counter() - build_started
    report = Path(build_dir).resolve() / f"report_{module}_{tag}.json"
    t1 = time.perf_counter()
    simulators.run(runner, top, module, build_dir, {**env, "HWGEN_REPORT": report}, testcase=testcase, tag=tag,
                   plusargs=plusargs)
    result = json.loads(report.read_text())
    result.update({"simulator": simulator, "design": str(design_dir), "build_s": round(t_build, 2),
                   "run_s": round(time.perf_counter() - t1, 2)})
    return result


def build_design(design_dir, simulator: str, build_dir=None, mode: str = "stream"):
    """Compile the view a mode needs (sim or harness); returns ``(runner, top, build_dir)``."""
    design_dir = Path(design_dir)
    view = view_for(mode)
    if view not in load_manifest(design_dir)["files"]:
        raise ValueError(f"{design_dir} has no {view} view, which mode {mode!r} needs; "
                         f"regenerate it with --views sim,{view}")
    return _build_view(design_dir, simulator, view, build_dir, f"{simulator}_{view}_{design_dir.name}")


def run_array_regression(design_dir, simulator: str, *, ber: float = 0.0, seed: int = 1, passes: int = 16,
                         fill: str = "full", mode: str = "stream", build_dir=None, built=None,
                         echo=print) -> dict:
    """Program a random layer with device errors sampled at ``ber``, run ``passes`` inputs,
    and compare every activation, popcount and pass cycle count with the golden model and the
    manifest. Raises on any mismatch.

    ``mode`` is ``stream`` (cocotb drives every cycle) or ``batch`` (harness view, no Python in
    the per-cycle path). ``built`` (from :func:`build_design`) skips compilation.
    """
    ber = check_ber(ber)
    view_for(mode)
    if passes < 2:
        raise ValueError(f"passes must be >= 2 (all-ones and all-zeros vectors come first), not {passes}")
    design_dir = Path(design_dir)
    if mode == "batch":
        capacity = load_manifest(design_dir)["files"].get("harness", {}).get("max_passes")
        if capacity is not None and passes > capacity:
            raise ValueError(f"{passes} passes do not fit the harness view of {design_dir}, which holds "
                             f"{capacity}; use --passes <= {capacity} or --mode stream")
    t0 = time.perf_counter()
    built = built or build_design(design_dir, simulator, build_dir, mode)
    echo(f"[sim] {simulator} {mode}: {design_dir} seed={seed} ber={ber:g} passes={passes} fill={fill}")
    return _run_with_report(built, t0, "tb_array", "array_matches_golden", {
        "HWGEN_MANIFEST": (design_dir / "manifest.json").resolve(), "HWGEN_SEED": seed, "HWGEN_BER": ber,
        "HWGEN_PASSES": passes, "HWGEN_FILL": fill, "HWGEN_MODE": mode,
    }, f"{mode}_{seed}_{ber:g}_{fill}", design_dir, simulator)


def build_network(design_dir, simulator: str, build_dir=None):
    """Compile a network design's harness view; returns ``(runner, top, build_dir)``."""
    design_dir = Path(design_dir)
    manifest = load_manifest(design_dir)
    if manifest.get("kind") != "network" or "harness" not in manifest["files"]:
        raise ValueError(f"{design_dir} is not a network design with a harness view; generate it with "
                         f"`hwgen rtl --model ...` (views include harness)")
    return _build_view(design_dir, simulator, "harness", build_dir, f"{simulator}_{design_dir.name}",
                       ports_only=True)


def run_network_regression(design_dir, simulator: str, *, ber: float = 0.0, seed: int = 1, count: int = 200,
                           images=None, build_dir=None, built=None, condition: str | None = None, cycles: int = 0,
                           echo=print) -> dict:
    """Run ``count`` images through a generated network whose devices carry an error map
    sampled at ``ber``; every class and output popcount must equal the golden model's, and the
    measured cycles the manifest's. Returns the testbench's report."""
    from .program import write_program
    from .stimulus import network_scenario

    design_dir = Path(design_dir)
    sc = network_scenario(design_dir, ber, seed, images, count, condition, cycles)   # validates before building
    capacity = sc.manifest["files"]["harness"]["max_images"]
    if count > capacity:
        raise ValueError(f"{count} images do not fit the harness of {design_dir}, which holds {capacity}")
    t0 = time.perf_counter()
    built = built or build_network(design_dir, simulator, build_dir)
    tag = f"{seed}_{sc.ber:g}_{count}" + (f"_{condition.replace(',', '_')}_{cycles}" if condition else "")
    program = Path(built[2]).resolve() / f"program_{tag}.hex"
    write_program(program, *sc.program())
    echo(f"[sim] {simulator}: {design_dir} seed={seed} ber={sc.ber:g} images={count}")
    return _run_with_report(built, t0, "tb_network", "network_matches_golden", {
        "HWGEN_DESIGN": design_dir.resolve(), "HWGEN_SEED": seed, "HWGEN_BER": sc.ber, "HWGEN_COUNT": count,
        "HWGEN_IMAGES": Path(images).resolve() if images else "",
        "HWGEN_CONDITION": condition or "", "HWGEN_CYCLES": cycles,
    }, tag, design_dir, simulator, plusargs=[f"+HWGEN_PROGRAM={program}"])
