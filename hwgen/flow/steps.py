"""Where flow results live and how a step writes them.

Every step of the flow (synth, sta, energy, pnr, report) writes one folder,
``<design>/flow/<platform>_<view>/<step>/`` by default, atomically and as a whole
(:func:`hwgen.files.write_folder`), with a ``step.json`` that names the files it wrote and holds
the step's typed result. A rerun replaces its own folder; a folder hwgen did not write is never
touched. A regeneration of the design replaces ``flow/`` too (its results describe the old
Verilog), which is why :meth:`Manifest.written_files` lists it.

Tools run in a temporary work folder beside the step folder, with fixed file names inside it
(``cells.lib``, ``netlist.v``, ...), so no path or name read from a file ever enters a tool
script.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, OutputError
from ..files import describe_os_error, write_folder
from ..manifest import Manifest

STEP_FILE = "step.json"
FORMAT = "hwgen-flow-step"


def flow_folder(manifest: Manifest, platform: str, view: str) -> Path:
    return manifest.folder / "flow" / f"{platform}_{view}"


def step_files(folder: Path):
    try:
        d = json.loads((folder / STEP_FILE).read_text())
        if d.get("format") == FORMAT:
            return set(d["files"]) | {STEP_FILE}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _sha256(content) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


def write_step(folder, step: str, files: dict, result: dict, option: str = "--out") -> Path:
    """Write ``files`` (name -> str/bytes) and ``step.json`` (``result``, and the SHA-256 of every
    file, which :func:`read_step` checks) as the whole ``folder``."""
    record = {"format": FORMAT, "step": step, "files": sorted(files), "result": result,
              "sha256": {name: _sha256(content) for name, content in sorted(files.items())}}
    return write_folder(Path(folder), {**files, STEP_FILE: json.dumps(record, indent=1, sort_keys=True) + "\n"},
                        step_files, option)


def read_step(folder, step: str) -> dict:
    """The result a step wrote into ``folder``, or a clear error saying which command makes it."""
    folder = Path(folder)
    try:
        d = json.loads((folder / STEP_FILE).read_text())
    except (OSError, ValueError):
        raise ConfigError(f"no {step} result in {folder}: run `hwgen {step}` first") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT or d.get("step") != step:
        raise ConfigError(f"{folder} holds no {step} result: run `hwgen {step}` first")
    for name, digest in (d.get("sha256") or {}).items():     # (results written before this check have none)
        path = folder / name
        try:
            ok = path.parent == folder and _sha256(path.read_bytes()) == digest
        except OSError:
            ok = False
        if not ok:
            raise ConfigError(f"the {step} result in {folder} is damaged: {name} is missing or changed since the "
                              f"step wrote it; run `hwgen {step}` again")
    return d["result"]


@contextmanager
def work_folder(near: Path):
    """A temporary work folder beside ``near`` (same file system), removed afterwards."""
    parent = Path(near).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{Path(near).name}.work.", dir=parent))
    except OSError as e:
        raise OutputError(describe_os_error(e, parent)) from None
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def link(work: Path, name: str, target: Path) -> Path:
    """``work/name``: the file ``target`` under a fixed name for a tool script, as a hard link
    (a copy across file systems). Not a symbolic link: the WebAssembly Yosys sees only the work
    folder and does not follow a link out of it."""
    path = work / name
    target = Path(target).resolve()
    try:
        os.link(target, path)
    except OSError:
        shutil.copyfile(target, path)
    return path
