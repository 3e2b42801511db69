"""The whole cost flow of a design (``hwgen flow``, ``make flow``): synthesis, static timing,
energy from real activity, the RTL regression that measures accuracy, and the report, each step
in its own folder of ``<design>/flow/<platform>_macro/``."""

from __future__ import annotations

from pathlib import Path

from ..manifest import Manifest
from .platform import Platform
from .sdc import DEFAULT_PERIOD_NS

CONV_ENERGY_GAP = ("energy of conv networks is not modelled yet (their frame stores and im2col units have no "
                   "characterisation)")


def run_flow(design, platform: Platform, period_ns: float | None = None, sim: str | None = "verilator",
             count: int = 200, energy_count: int = 16, compare=(), verbose: bool = False, progress: bool = True,
             log=print, images=None) -> Path:
    """Synthesize the macro view of ``design`` on ``platform`` at ``period_ns`` (default 10 ns),
    time it, measure its energy on ``energy_count`` items (not for conv networks: see
    :data:`CONV_ENERGY_GAP`), run the RTL regression of ``count`` images on ``sim`` (``None``: skip;
    a design without a harness view skips it with a line in the log), and write ``report.md`` with
    the flow folders in ``compare`` beside it (each refused before the long steps if it holds no
    results). ``images``: a network's images for the energy workload and the regression (an image
    set or a dataset folder; default the shipped test slice, or a user dataset's test split where
    :func:`hwgen.data.network_images` finds it). Returns the report's path."""
    from .energy import run_energy
    from .report import load_run, write_report
    from .sta import run_sta
    from .synth import synthesize

    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    if manifest.kind == "network" and manifest.ir_file:      # the images are checked before the long steps
        from ..data import network_images
        from ..ir import Network

        network_images(Network.load(manifest.path(manifest.ir_file)), str(manifest.folder), images, 1)
    others = {str(folder): Path(folder) for folder in compare}
    for folder in others.values():
        load_run(folder)
    synth_result = synthesize(manifest, platform, "macro", DEFAULT_PERIOD_NS if period_ns is None else period_ns,
                              log=log)
    run_sta(synth_result["folder"], platform, log=log)
    no_energy = None
    if any(p.conv is not None for p in manifest.layers):
        no_energy = (CONV_ENERGY_GAP, manifest.timing["initiation_interval"])
        log(f"[flow] energy skipped: {no_energy[0]}")
    else:
        run_energy(manifest, platform, "macro", energy_count, None, log=log, images=images)
    regression = None
    if sim is not None and "harness" in manifest.views:
        from ..verify import run_array_regression, run_network_regression

        if manifest.kind == "network":
            regression = run_network_regression(manifest, sim, count=count, images=images, verbose=verbose,
                                                progress=progress, log=log)
        else:
            regression = run_array_regression(manifest, sim, verbose=verbose, log=log)
    elif sim is not None:
        log("[flow] no harness view: regression skipped (regenerate with --views macro,harness)")
    return write_report(Path(synth_result["folder"]).parent, regression, no_energy, others)
