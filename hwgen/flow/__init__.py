"""What a generated design costs, and its way out to other flows.

Each step is a function of (design folder, platform) that writes its own folder
``<design>/flow/<platform>_<view>/<step>/`` (:mod:`.steps`) and returns a typed result:
:mod:`.synth` (Yosys, area per block) -> :mod:`.sta` (OpenSTA) -> :mod:`.energy` (gate-level
activity of real images, block-scaled for networks) -> :mod:`.report`; :mod:`.pnr` (qflow) and
:mod:`.orfs` (OpenROAD-flow-scripts export) beside them. :mod:`.checks` keeps the quick Verilator
lint and Yosys check of ``hwgen check``.
"""

from .checks import lint_design, synth_design

__all__ = ["lint_design", "synth_design"]
