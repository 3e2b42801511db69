"""Basic cell and popcount tree RTL against the golden model, on Icarus and Verilator."""

import pytest

from hwgen.rtl import BasicCell, PopcountTree

from conftest import SIMS

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("ber", [0.0, 1e-3, 1e-1])
@pytest.mark.parametrize("accumulate", [False, True], ids=["par2seq_cell", "seq2par_cell"])
@pytest.mark.parametrize("sim", SIMS)
def test_cell(build_component, sim, accumulate, ber):
    n = 32
    name = f"cell_n{n}_{'acc' if accumulate else 'row'}"
    built = build_component(sim, name, BasicCell, dict(n=n, accumulate=accumulate))
    seed = 500 + int(ber * 1e4) + accumulate
    print(f"seed={seed} ber={ber}")
    r = built.run("cell", {"HWGEN_N": n, "HWGEN_ACCUMULATE": int(accumulate), "HWGEN_SEED": seed, "HWGEN_BER": ber,
                           "HWGEN_READS": 150}, tag=f"ber{ber}")
    assert r["ok"] and r["reads"] == 150


@pytest.mark.parametrize("N", [3, 25])
@pytest.mark.parametrize("sim", SIMS)
def test_tree(build_component, sim, N):
    built = build_component(sim, f"tree_N{N}", PopcountTree, dict(N=N, max_partial=32))
    seed = 900 + N
    print(f"seed={seed}")
    r = built.run("tree", {"HWGEN_TREE_N": N, "HWGEN_MAX_PARTIAL": 32, "HWGEN_SEED": seed, "HWGEN_VECTORS": 300},
                  tag="random")
    assert r["ok"] and r["vectors"] == 300
