"""Verification, one step of the flow: the RTL of a generated design against the golden model.

- Amaranth harness blocks: :mod:`.source` (batch source), :mod:`.sink` (batch sink),
  :mod:`.boot` (boot loader, with the boot record of :mod:`.record`) and :mod:`.harness`
  (``ArrayHarness``, ``NetworkHarness``), so no Python runs per simulated cycle;
- :mod:`.build`: the :class:`Build` of a view on Icarus or Verilator, and running testbenches;
- :mod:`.driver`: the one cocotb batch driver (used inside the simulator by ``hwgen.tb.*``);
- :mod:`.scenario`: seeded scenarios shared by the runner and the testbench;
- :mod:`.regression`: :func:`run_array_regression`, :func:`run_network_regression`.
"""

from .build import SIMULATORS, Build, build, build_view, check_simulator
from .regression import MODES, run_array_regression, run_network_regression

__all__ = ["SIMULATORS", "MODES", "Build", "build", "build_view", "check_simulator", "run_array_regression",
           "run_network_regression"]
