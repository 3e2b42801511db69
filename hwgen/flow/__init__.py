"""Checks and export of generated designs: Verilator lint, Yosys synthesis (and later STA and
an OpenROAD-flow-scripts export)."""

from .checks import lint_design, synth_design

__all__ = ["lint_design", "synth_design"]
