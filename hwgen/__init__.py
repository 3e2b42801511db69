"""hwgen: generate, verify and export in-memory BNN accelerators built on 2T2R RRAM.

The library API that the ``hwgen`` command calls (imported lazily, so ``import hwgen`` is cheap):

- networks and data: :class:`Network` (the IR), :func:`load_images`, :func:`test_images`;
- generation: :class:`HwConfig`, :func:`plan_network`, :func:`generate_array`, :func:`generate_network`;
- golden model: :func:`network_forward`;
- verification: :func:`run_array_regression`, :func:`run_network_regression` (cocotb on Icarus or Verilator);
- cost: :func:`get_platform`, :func:`synthesize`, :func:`run_sta`, :func:`run_energy`,
  :func:`export_orfs` (:mod:`hwgen.flow`);
- studies: :func:`run_sweep` (Fig. 9), :func:`run_demo`.
"""

__version__ = "0.1.0"

_API = {
    "Network": "hwgen.ir", "Layer": "hwgen.ir",
    "HwConfig": "hwgen.hwconfig",
    "Manifest": "hwgen.manifest",
    "load_images": "hwgen.data", "test_images": "hwgen.data",
    "plan_network": "hwgen.netplan",
    "generate_array": "hwgen.generate", "generate_network": "hwgen.generate",
    "network_forward": "hwgen.golden",
    "run_array_regression": "hwgen.verify", "run_network_regression": "hwgen.verify",
    "get_platform": "hwgen.flow.platform", "synthesize": "hwgen.flow.synth", "run_sta": "hwgen.flow.sta",
    "run_energy": "hwgen.flow.energy", "export_orfs": "hwgen.flow.orfs",
    "run_sweep": "hwgen.study.sweep",
    "run_demo": "hwgen.demo",
}
__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'hwgen' has no attribute {name!r}")
