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
                           verbose: bool = False, progress: bool = False, log=print, tag_suffix: str = "",
                           view: str = "harness") -> dict:
    """Run ``count`` images through a generated network whose devices carry an error map sampled
    at ``ber`` (or from the device model at ``condition`` after ``cycles``; ternary layers read at
    supply ``vdd``, see :func:`hwgen.verify.scenario.network_scenario`); every class and output
    popcount must equal the golden model's, and the measured cycles the manifest's.

    ``images`` is an image set or a dataset folder (default: the shipped test slice of the
    network's dataset, or a user dataset's folder; :func:`hwgen.data.network_images`);
    more images than the harness holds run in several batches after one boot. ``tag_suffix``
    tells apart the files (programming image, logs, reports) of runs that share a build folder
    at the same time (the image batches of :func:`run_network_regression_farm`). ``view`` is the
    harness view to run: ``harness`` or ``fpga`` (the same ports and boot; ``build`` may be of
    its synthesized netlist, :func:`hwgen.flow.fpga.build_netlist`).
    """
    manifest = _manifest(design, "network")
    if view not in ("harness", "fpga"):
        raise ConfigError(f"a network regression runs the harness or fpga view, not {view!r}")
    manifest.view(view)
    sc = network_scenario(manifest, ber, seed, images, count, condition, cycles, vdd)   # validates before building
    tag = f"{view}_" if view != "harness" else ""
    tag += f"{sc.seed}_{sc.ber:g}_{count}" + (f"_{str(condition).replace(',', '_').replace(' ', '')}_{cycles:g}"
                                             if condition else "") + (f"_vdd{sc.vdd:g}" if sc.vdd is not None else "")
    tag += f"_{tag_suffix}" if tag_suffix else ""

    def write_image(build: Build) -> list[str]:
        from ..program import write_program

        program = build.build_dir.resolve() / f"program_{manifest.folder.name}_{tag}.hex"
        write_program(program, sc.program(), sc.plans)
        return [f"+HWGEN_PROGRAM={program}"]

    rates = "" if sc.rates is None else (" ternary rates " + ", ".join(f"{k}={v:.3g}" for k, v in sc.rates._asdict().items())
                                         + (f" at vdd={sc.vdd:g} V" if sc.vdd is not None else ""))
    log(f"[sim] {sim}: {manifest.folder} seed={sc.seed} ber={sc.ber:g}{rates} images={count} ({sc.images}), "
        f"{sc.injected_errors} device errors")
    if sc.note:
        log(f"[sim] {sc.note}")
    return _regress(manifest, sim, view, build, build_dir, verbose, progress, "network", "network_matches_golden",
                    {"HWGEN_VIEW": view, "HWGEN_SEED": sc.seed, "HWGEN_BER": sc.ber, "HWGEN_COUNT": count,
                     "HWGEN_IMAGES": Path(images).resolve() if images else "",
                     "HWGEN_CONDITION": condition or "", "HWGEN_CYCLES": cycles,
                     "HWGEN_VDD": "" if sc.vdd is None else sc.vdd}, tag, "images",
                    before_run=write_image)


# -- image batches on a farm (hwgen sim --workers/--scheduler) ------------------------------------
#
# The images are cut into contiguous batches; every batch runs the same design with the same error
# map (the same seed: the same chip) on its slice of the images, as its own testbench run that
# boots the chip and checks every class and popcount against the golden model. The reports merge
# in batch order, so the result does not depend on the number of workers or on which ran what.
# On this machine's workers (in-process, LocalCluster) the design is built once before dispatch
# and every batch reuses that build; on a remote scheduler the design's files travel with the
# work and each worker builds (or reuses) the simulator in its own build folder.

AUTO_BATCH_IMAGES = 500     # without --workers/--batches: at least this many images per batch (a batch's fixed
                            # cost, worker start-up and the column-wide boot, is ~5 s on the shipped MNIST network,
                            # ~250 images' worth)
SAME_IN_EVERY_BATCH = ("seed", "ber", "ternary_rates", "vdd", "injected_errors", "cycles_per_inference",
                       "boot_cycles")


def run_network_slice(design, sim: str, images, labels, *, tag: str, ber: float = 0.0, seed: int = 1,
                      condition=None, cycles=0, vdd=None, build: Build | None = None, build_dir=None,
                      verbose: bool = False, log=print) -> dict:
    """:func:`run_network_regression` on the image arrays ``images`` / ``labels`` (a slice of an
    image set), under the run tag suffix ``tag`` (unique among the runs sharing the build folder).
    The slice is written as an image set into the build folder for the testbench and removed after."""
    from ..data import Split, write_images

    manifest = _manifest(design, "network")
    if build is None:
        build = build_view(manifest, "harness", sim, build_dir, verbose=verbose)
    path = build.build_dir.resolve() / f"images_{manifest.folder.name}_{tag}.npz"
    write_images(Split(images, labels, {"slice": tag}, manifest.dataset, False), path)
    try:
        return run_network_regression(manifest, sim, ber=ber, seed=seed, count=len(labels), images=path,
                                      condition=condition, cycles=cycles, vdd=vdd, build=build, verbose=verbose,
                                      log=log, tag_suffix=tag)
    finally:
        path.unlink(missing_ok=True)


def _design_files(manifest: Manifest) -> dict:
    """The files of a design folder (name -> bytes), to recreate it on a remote worker."""
    folder = manifest.folder
    return {name: (folder / name).read_bytes() for name in sorted(manifest.written_files())
            if (folder / name).is_file()}


def _unpack_design(name: str, files: dict) -> Path:
    """The design's files in this host's temp folder (once per content: a folder named by its digest)."""
    import hashlib
    import os
    import shutil
    import tempfile

    h = hashlib.sha256()
    for file, data in sorted(files.items()):
        h.update(file.encode() + b"\0" + hashlib.sha256(data).digest())
    root = Path(tempfile.gettempdir()) / "hwgen-designs" / h.hexdigest()[:16]
    if not (root / name / "manifest.json").is_file():
        root.parent.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=".part-", dir=root.parent))
        (part / name).mkdir()
        for file, data in files.items():
            (part / name / file).write_bytes(data)
        try:
            os.rename(part, root)           # atomic: another task of this host may have won the race
        except OSError:
            shutil.rmtree(part, ignore_errors=True)
    return root / name


def _network_batch(item, data) -> dict:
    """A farm task: image batch ``k`` of ``n`` (``offset``, ``count``), with the run's parameters in ``data``."""
    import os
    import socket
    import tempfile
    import uuid

    from .build import build_name

    k, n, offset, count = item
    design, build_dir = data["design"], data["build_dir"]
    if data.get("files") is not None:       # a remote worker: its own copy of the design and its own build
        design = _unpack_design(data["name"], data["files"])
        if build_dir is None:
            manifest = Manifest.load(design)
            build_dir = Path(tempfile.gettempdir()) / "hwgen-sim-build" / build_name(manifest, "harness", data["sim"])
    token = uuid.uuid4().hex[:8]            # per attempt: a re-run after a worker died must not share its files
    t0 = time.perf_counter()
    r = run_network_slice(design, data["sim"], data["images"][offset:offset + count],
                          data["labels"][offset:offset + count], tag=f"b{k}of{n}_{token}", ber=data["ber"],
                          seed=data["seed"], condition=data["condition"], cycles=data["cycles"], vdd=data["vdd"],
                          build_dir=build_dir, verbose=data["verbose"], log=lambda *a, **kw: None)
    log = r.get("log")
    if log:                                 # keep the log under a stable name, drop the run's other files
        stable = Path(log).with_name(Path(log).name.replace(f"_{token}", ""))
        os.replace(log, stable)
        r["log"] = str(stable)
        for f in Path(log).parent.glob(f"*_{token}.*"):
            f.unlink(missing_ok=True)
    r.update(batch=k, offset=offset, worker=f"{socket.gethostname()}:{os.getpid()}",
             wall_s=round(time.perf_counter() - t0, 2))
    return r


def merge_network_reports(reports: list[dict], source: str) -> dict:
    """One report of the image batches' reports (in batch order): totals over all images; what
    the chip and the design fix (seed, error map, cycles) must agree between batches."""
    from ..errors import VerificationError

    first = reports[0]
    for key in SAME_IN_EVERY_BATCH:
        values = [r.get(key) for r in reports]
        if any(v != values[0] for v in values):
            raise VerificationError(f"the image batches disagree on {key}: {values}")
    intervals = sorted({r["initiation_interval"] for r in reports if r.get("initiation_interval") is not None})
    if len(intervals) > 1:
        raise VerificationError(f"the image batches disagree on the initiation interval: {intervals}")
    images = sum(r["images"] for r in reports)
    correct = sum(round(r["accuracy"] * r["images"]) for r in reports)
    run_wall = sum(r["run_wall_s"] for r in reports)
    run_cycles = sum(r["run_cycles"] for r in reports)
    merged = {key: first.get(key) for key in ("ok", "seed", "ber", "ternary_rates", "vdd", "injected_errors",
                                              "cycles_per_inference", "boot_cycles", "simulator")}
    merged.update(images=images, batches=sum(r["batches"] for r in reports), accuracy=correct / images,
                  images_from=source, outputs_checked=sum(r["outputs_checked"] for r in reports),
                  initiation_interval=intervals[0] if intervals else None, run_cycles=run_cycles,
                  run_wall_s=round(run_wall, 3), inferences_per_s=images / run_wall if run_wall else 0.0,
                  sim_cycles_per_s=run_cycles / run_wall if run_wall else 0.0,
                  total_wall_s=round(sum(r["total_wall_s"] for r in reports), 2), log=None,
                  logs=[r["log"] for r in reports],
                  image_batches=[{k: r.get(k) for k in ("batch", "offset", "images", "accuracy", "worker", "build_s",
                                                        "build_reused", "run_s", "wall_s", "log")}
                                 for r in reports])
    return merged


def run_network_regression_farm(design, sim: str, farm, *, batches: int | None = None, ber: float = 0.0,
                                seed: int = 1, count: int = 200, images=None, condition=None, cycles=0, vdd=None,
                                build: Build | None = None, build_dir=None, verbose: bool = False,
                                progress: bool = False, log=print) -> dict:
    """:func:`run_network_regression` with the ``count`` images cut into ``batches`` contiguous
    batches (default: one per worker of ``farm``, a started :class:`hwgen.farm.Farm`) that run on
    the farm's workers; returns the merged report (:func:`merge_network_reports`) plus ``farm``
    (where it ran) and ``wall_s``. Every batch checks every class and popcount of its images
    against the golden model on the same error map, so the verdict and the accuracy equal those
    of one run over all images.

    On a remote scheduler (``farm.shared_filesystem`` false) the design's files are sent to the
    workers and each builds in ``build_dir`` (a path on the worker) or its temp folder."""
    from ..data import network_images

    manifest = _manifest(design, "network")
    manifest.view("harness")
    sc = network_scenario(manifest, ber, seed, images, count, condition, cycles, vdd)   # validates before building
    if batches is None:
        batches = min(farm.workers, count)
    elif isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise ConfigError(f"batches must be a whole number >= 1, not {batches!r}")
    elif batches > count:
        raise ConfigError(f"{batches} batches is more than the {count} images: every batch runs at least one")
    split = network_images(sc.network, manifest.folder.name, images, count)[0]
    data = {"sim": sim, "ber": ber, "seed": sc.seed, "condition": condition,
            "cycles": cycles, "vdd": vdd, "verbose": verbose, "images": split.images[:count],
            "labels": split.labels[:count], "design": manifest.folder.resolve(), "build_dir": None}
    log(f"[sim] {sim}: {manifest.folder} seed={sc.seed} ber={sc.ber:g} images={count} ({sc.images}), "
        f"{sc.injected_errors} device errors; {batches} image batches on {farm.describe()}")
    if sc.note:
        log(f"[sim] {sc.note}")
    t0 = time.perf_counter()
    if farm.shared_filesystem:              # build once here; every batch reuses the build
        if build is None:
            build = build_view(manifest, "harness", sim, build_dir, verbose=verbose)
        data["build_dir"] = build.build_dir.resolve()
        built = {"build_s": build.build_s, "build_reused": build.reused}
    else:
        data.update(name=manifest.folder.name, files=_design_files(manifest),
                    build_dir=None if build_dir is None else str(build_dir))
        built = {"build_s": None, "build_reused": None}     # per worker: see image_batches
    t1 = time.perf_counter()
    from ..farm import chunks

    parts = chunks(count, batches)
    reports = farm.map(_network_batch, [(k, len(parts), c.start, len(c)) for k, c in enumerate(parts)], data,
                       sizes=[len(c) for c in parts], desc="image batches", unit="images", progress=progress)
    merged = merge_network_reports(reports, sc.images)
    merged.update(design=str(manifest.folder), farm=farm.describe(), workers=farm.workers, run_s=round(
        time.perf_counter() - t1, 2), wall_s=round(time.perf_counter() - t0, 2), **built)
    return merged


def run_network_regression_on(design, sim: str, *, count: int = 200, batches: int | None = None,
                              workers: int | None = None, scheduler: str | None = None, **kwargs) -> dict:
    """``hwgen sim`` on a network: where the ``count`` images run. On ``scheduler``'s workers (a
    batch per worker unless ``batches`` is given); else on ``workers`` local processes (default
    one per CPU core, at most one per batch), with ``batches`` defaulting to ``workers``, or
    without them to one per :data:`AUTO_BATCH_IMAGES` images (at most one per core). One batch on
    one worker runs in this process (:func:`run_network_regression`); more go through
    :func:`run_network_regression_farm`. ``kwargs``: the regression's other options."""
    import os

    from ..farm import Farm

    if scheduler is not None:
        farm = Farm(scheduler, workers)
    else:
        cores = os.cpu_count() or 1
        if batches is None:
            batches = workers or min(cores, -(-count // AUTO_BATCH_IMAGES))
        batches = min(batches, count)
        farm = Farm(None, min(workers or cores, batches))
    if farm.in_process and (batches or 1) == 1:
        return run_network_regression(design, sim, count=count, **kwargs)
    with farm:
        return run_network_regression_farm(design, sim, farm, batches=batches, count=count, **kwargs)
