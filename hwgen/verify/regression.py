"""Regressions a user starts (``hwgen sim``, the demo, the tests): a generated design against the
golden model on sampled device errors, with a small report (what was checked, cycles, speed).

Both kinds have one shape: scenario parameters -> :class:`~hwgen.verify.build.Build` of the view
-> testbench run -> report. Arrays run a random layer (``tb/array.py``), networks run images
(``tb/network.py``) after booting from a programming image written for the run's error map.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import seeds
from ..device import check_ber
from ..errors import ConfigError
from ..manifest import Manifest
from .build import Build, build_view
from .scenario import FILLS, network_scenario

MODES = {"stream": "sim", "batch": "harness"}


def view_for(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return MODES[mode]


def _manifest(design, kind: str) -> Manifest:
    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    if manifest.kind != kind:
        raise ConfigError(f"{manifest.folder} holds a design of kind {manifest.kind!r}; this regression runs {kind}s")
    return manifest


def _regress(manifest: Manifest, sim: str, view: str, build: Build | None, build_dir, verbose: bool, progress: bool,
             testbench: str, testcase: str, env: dict, tag: str, unit: str, plusargs=(), before_run=None) -> dict:
    t0 = time.perf_counter()
    if build is None:
        build = build_view(manifest, view, sim, build_dir, verbose=verbose)
    elif build.view != view or build.manifest is None:
        raise ConfigError(f"the given build is of view {build.view!r}; this run needs {view!r}")
    plusargs = list(plusargs) + (before_run(build) if before_run else [])
    t1 = time.perf_counter()
    tag = f"{manifest.folder.name}_{tag}"      # builds may be shared by designs of the same shape
    report = build.run(testbench, {"HWGEN_DESIGN": manifest.folder.resolve(), **env}, testcase=testcase, tag=tag,
                       plusargs=plusargs, progress=unit if progress else None)
    report.update({"simulator": sim, "design": str(manifest.folder), "build_s": round(t1 - t0, 2),
                   "build_reused": build.reused, "run_s": round(time.perf_counter() - t1, 2)})
    return report


def run_array_regression(design, sim: str, *, ber: float = 0.0, seed: int = 1, passes: int = 16,
                         fill: str = "full", mode: str = "batch", build: Build | None = None, build_dir=None,
                         verbose: bool = False, progress: bool = False, log=print) -> dict:
    """Program a random layer with device errors sampled at ``ber``, run ``passes`` inputs, and
    compare every activation, popcount and pass cycle count with the golden model and the
    manifest. Raises :class:`VerificationError` on any mismatch.

    ``mode`` is ``stream`` (cocotb drives every cycle) or ``batch`` (harness view, no Python in
    the per-cycle path; passes beyond the harness's capacity run in several batches).
    """
    manifest = _manifest(design, "array")
    ber, seed = check_ber(ber), seeds.check_seed(seed)
    view = view_for(mode)
    if view not in manifest.views:
        raise ConfigError(f"{manifest.folder} has no {view} view, which mode {mode!r} needs; regenerate it with "
                          f"--views sim,harness (or use the other --mode)")
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 2:
        raise ConfigError(f"passes must be an integer >= 2 (all-ones and all-zeros vectors come first), not {passes!r}")
    if fill not in FILLS:
        raise ConfigError(f"fill must be one of {', '.join(FILLS)}, not {fill!r}")
    log(f"[sim] {sim} {mode}: {manifest.folder} ({manifest.hw.tag()}) seed={seed} ber={ber:g} passes={passes} "
        f"fill={fill}")
    return _regress(manifest, sim, view, build, build_dir, verbose, progress, "array", "array_matches_golden",
                    {"HWGEN_SEED": seed, "HWGEN_BER": ber, "HWGEN_PASSES": passes, "HWGEN_FILL": fill,
                     "HWGEN_MODE": mode}, f"{mode}_{seed}_{ber:g}_{fill}_{passes}", "passes")


def run_network_regression(design, sim: str, *, ber: float = 0.0, seed: int = 1, count: int = 200, images=None,
                           condition=None, cycles=0, vdd=None, build: Build | None = None, build_dir=None,
                           verbose: bool = False, progress: bool = False, log=print) -> dict:
    """Run ``count`` images through a generated network whose devices carry an error map sampled
    at ``ber`` (or from the device model at ``condition`` after ``cycles``; ternary layers read at
    supply ``vdd``, see :func:`hwgen.verify.scenario.network_scenario`); every class and output
    popcount must equal the golden model's, and the measured cycles the manifest's.

    ``images`` is an image set (default: the shipped test slice of the network's dataset);
    more images than the harness holds run in several batches after one boot.
    """
    manifest = _manifest(design, "network")
    manifest.view("harness")
    sc = network_scenario(manifest, ber, seed, images, count, condition, cycles, vdd)   # validates before building
    tag = f"{sc.seed}_{sc.ber:g}_{count}" + (f"_{str(condition).replace(',', '_').replace(' ', '')}_{cycles:g}"
                                             if condition else "") + (f"_vdd{sc.vdd:g}" if sc.vdd is not None else "")

    def write_image(build: Build) -> list[str]:
        from ..program import write_program

        program = build.build_dir.resolve() / f"program_{manifest.folder.name}_{tag}.hex"
        write_program(program, sc.program(), sc.plans)
        return [f"+HWGEN_PROGRAM={program}"]

    rates = "" if sc.rates is None else (" ternary rates " + ", ".join(f"{k}={v:.3g}" for k, v in sc.rates._asdict().items())
                                         + (f" at vdd={sc.vdd:g} V" if sc.vdd is not None else ""))
    log(f"[sim] {sim}: {manifest.folder} seed={sc.seed} ber={sc.ber:g}{rates} images={count} ({sc.images}), "
        f"{sc.injected_errors} device errors")
    return _regress(manifest, sim, "harness", build, build_dir, verbose, progress, "network", "network_matches_golden",
                    {"HWGEN_SEED": sc.seed, "HWGEN_BER": sc.ber, "HWGEN_COUNT": count,
                     "HWGEN_IMAGES": Path(images).resolve() if images else "",
                     "HWGEN_CONDITION": condition or "", "HWGEN_CYCLES": cycles,
                     "HWGEN_VDD": "" if sc.vdd is None else sc.vdd}, tag, "images",
                    before_run=write_image)
