"""Generated Verilog passes Verilator lint and Yosys synthesis (issue acceptance sizes)."""

import pytest

from hwgen.flow import lint_design, synth_design
from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig
from hwgen.rtl.rram import macro_name

pytestmark = [pytest.mark.rtl, pytest.mark.flow]


def lint_clean(design, view):
    report = lint_design(design, view)
    print(view, report)
    # Amaranth's width and unused-signal warnings are style; errors fail lint_design, and
    # none of these may appear.
    assert not set(report["warnings"]) & {"UNDRIVEN", "MULTIDRIVEN", "LATCH", "COMBDLY", "BLKSEQ",
                                          "UNOPTFLAT"}, report


@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
def test_paper_array_lints_and_synthesizes(tmp_path, config):
    hw = HwConfig(n=32, N=3, M=3, config=config)
    generate_array(hw, tmp_path / "d")
    for view in ("sim", "synth", "macro"):
        lint_clean(tmp_path / "d", view)
    bits = synth_design(tmp_path / "d", "synth")
    print("synth", bits["cells"], bits["by_type"])
    flops = sum(v for k, v in bits["by_type"].items() if "DFF" in k)
    assert flops >= hw.cells * hw.n * hw.n          # every weight bit became a flip-flop
    macro = synth_design(tmp_path / "d", "macro")
    print("macro", macro["cells"], macro["by_type"])
    assert macro["by_type"].get(macro_name(hw.n)) == hw.cells
    assert 0 < macro["cells"] < bits["cells"]


@pytest.mark.long      # 4-7 minutes of Yosys: `make long`
def test_mnist_first_layer_size_lints_and_synthesizes(tmp_path):
    """(n, N, M) = (32, 25, 32) par2seq: 784 inputs x 1024 neurons, the MNIST first layer."""
    hw = HwConfig(n=32, N=25, M=32, config="par2seq")
    generate_array(hw, tmp_path / "d", views=("sim", "macro"))
    for view in ("sim", "macro"):
        lint_clean(tmp_path / "d", view)
    macro = synth_design(tmp_path / "d", "macro")
    print("macro", macro["cells"], macro["by_type"])
    assert macro["by_type"].get(macro_name(hw.n)) == hw.cells == 800
