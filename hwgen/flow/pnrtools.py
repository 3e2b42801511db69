"""Running the tools of :mod:`hwgen.flow.pnr`: qflow and KLayout found on PATH (or a one-line error
naming the Debian package), each run in its own process group without a display, ended whole on
a timeout; the work folder qflow's tcsh scripts accept (paths unquoted); and the PNG of a layout,
drawn by KLayout in batch mode from the DEF and LEFs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, SimulatorMissing
from .steps import work_folder
from .tools import FlowError, require


QFLOW_HINT = "install qflow and its OSU 0.18 um technology: `apt-get install qflow qflow-tech-osu018`"
# qflow's shell scripts (tcsh) use the project path unquoted: keep it to these characters.
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+-]+")


def require_qflow() -> str:
    try:
        return require("qflow")
    except SimulatorMissing:
        raise SimulatorMissing(f"qflow not found on PATH: {QFLOW_HINT}") from None


def require_klayout() -> str:
    try:
        return require("klayout")
    except SimulatorMissing:
        raise SimulatorMissing("klayout not found on PATH (it draws the layout PNG): "
                               "`apt-get install klayout`") from None


# KLayout draws the DEF over the LEFs; every path comes in as a -rd variable.
KLAYOUT_SCRIPT = """\
import pya
options = pya.LoadLayoutOptions()
config = options.lefdef_config
config.lef_files = [globals()["lef%d" % i] for i in range(int(lef_count))]
config.read_lef_with_def = False
view = pya.LayoutView()
view.set_config("background-color", "#ffffff")
view.set_config("grid-visible", "false")
view.set_config("text-visible", "false")
view.load_layout(def_file, options, True)
view.add_missing_layers()
view.max_hier()
view.zoom_fit()
view.save_image(png, int(width), int(height))
"""


def _env() -> dict:
    env = dict(os.environ)
    env.pop("DISPLAY", None)                  # qflow then runs graywolf with -n (no graphics)
    env.pop("QFLOW_TECH", None)
    env.pop("QFLOW_TECH_DIR", None)
    env.pop("QFLOW_PROJECT_ROOT", None)
    env["QT_QPA_PLATFORM"] = "offscreen"      # KLayout headless
    return env


def run_group(cmd: list, cwd: Path, log: Path, timeout: float) -> tuple[int | None, float]:
    """Run ``cmd`` in its own process group (qflow's tcsh scripts start graywolf and qrouter);
    on timeout the whole group is ended. Returns (exit code or None on timeout, seconds)."""
    start = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=_env(), start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if code is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return code, round(time.monotonic() - start, 1)


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def qflow_work(out_dir: Path):
    """The work folder: beside the output (same file system) when its path suits qflow's tcsh
    scripts, which take paths unquoted; otherwise in the system's temporary folder."""
    if _SAFE_PATH.fullmatch(str(out_dir.resolve().parent)):
        with work_folder(out_dir) as work:
            yield work
        return
    with tempfile.TemporaryDirectory(prefix="hwgen_pnr_") as tmp:
        if not _SAFE_PATH.fullmatch(tmp):
            raise ConfigError(f"qflow cannot work in {tmp} (its scripts take no spaces or special characters in "
                              f"paths): set TMPDIR to a plain path")
        yield Path(tmp)


def draw_png(klayout: str, work: Path, def_file: Path, lefs: list, png_name: str, png_size: tuple, log) -> float:
    """Draw ``def_file`` over ``lefs`` into ``work/png_name`` with KLayout in batch mode (the script
    :data:`KLAYOUT_SCRIPT` as ``work/draw.py``, every path passed with ``-rd``); the seconds it took."""
    klog = work / "log" / "klayout.log"
    cmd = [klayout, "-b", "-r", str(work / "draw.py"), "-rd", f"def_file={def_file}",
           "-rd", f"png={work / png_name}", "-rd", f"width={int(png_size[0])}", "-rd", f"height={int(png_size[1])}",
           "-rd", f"lef_count={len(lefs)}"]
    for i, lef in enumerate(lefs):
        cmd += ["-rd", f"lef{i}={lef}"]
    (work / "draw.py").write_text(KLAYOUT_SCRIPT)
    log(f"[pnr] klayout: drawing {def_file.name}")
    code, seconds = run_group(cmd, work, klog, 300)
    if code != 0 or not (work / png_name).is_file():
        raise FlowError(f"klayout could not draw the layout:\n{log_tail(klog)}")
    return seconds
