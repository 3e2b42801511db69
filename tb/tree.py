"""cocotb testbench of the popcount tree: random partials (including all-zero and all-max
columns), random valid and hold; every total must equal the sum of its partials.

Parameters (environment): HWGEN_TREE_N, HWGEN_MAX_PARTIAL, HWGEN_SEED, HWGEN_VECTORS.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from hwgen import seeds
from hwgen.hwconfig import bits_for
from hwgen.mapping import to_int
from hwgen.verify.driver import Report, compare, start


@cocotb.test()
async def tree_sums_partials(dut):
    N, top = int(os.environ["HWGEN_TREE_N"]), int(os.environ["HWGEN_MAX_PARTIAL"])
    seed, vectors = int(os.environ.get("HWGEN_SEED", "1")), int(os.environ.get("HWGEN_VECTORS", "300"))
    rng = seeds.rng(seed, "stimulus")
    w = bits_for(top)
    partials = rng.integers(0, top + 1, size=(vectors, N))
    partials[0], partials[1] = 0, top
    expected = partials.sum(axis=1)
    dut._log.info("N=%d max_partial=%d seed=%d vectors=%d", N, top, seed, vectors)
    await start(dut, ("partials", "valid", "hold"))
    got, sent, cycle = [], 0, 0
    while len(got) < vectors:
        await FallingEdge(dut.clk)
        hold = int(rng.random() < 0.2)
        send = sent < vectors and rng.random() < 0.8
        dut.hold.value, dut.valid.value = hold, int(send)
        if send:
            dut.partials.value = to_int(partials[sent], w)
        await ReadOnly()
        if send and not hold:
            sent += 1
        if int(dut.total_valid.value) and not hold:
            got.append(int(dut.total.value))
        cycle += 1
        assert cycle < vectors * 20, "tree produced too few totals"
    report = Report()
    compare(dut, "totals", np.array(got)[None, :], expected[None, :], report, row="run", col="vector")
    report.update(ok=True, vectors=vectors)
