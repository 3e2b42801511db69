"""cocotb testbench of one basic cell: programming, XNOR sense of every read, and the popcount
counter (row counts, or running sums in accumulate mode), with random read gaps and holds.

Expected values come from hwgen's golden model on the cell's weights with the error map
applied. Parameters (environment): HWGEN_N, HWGEN_ACCUMULATE, HWGEN_LEVEL_BITS, HWGEN_SEED,
HWGEN_BER, HWGEN_READS.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from hwgen import golden, seeds
from hwgen.device import pair_levels, sample_error_map
from hwgen.ir import Layer
from hwgen.mapping import to_int
from hwgen.verify.driver import Report, compare, start


@cocotb.test()
async def cell_matches_golden(dut):
    n = int(os.environ["HWGEN_N"])
    accumulate = os.environ.get("HWGEN_ACCUMULATE", "0") == "1"
    k = int(os.environ.get("HWGEN_LEVEL_BITS", "4"))
    seed, ber = int(os.environ.get("HWGEN_SEED", "1")), float(os.environ.get("HWGEN_BER", "0"))
    reads = int(os.environ.get("HWGEN_READS", "200"))
    rng = seeds.rng(seed, "stimulus")
    w = rng.integers(0, 2, size=(n, n), dtype=np.uint8)
    w[0], w[1] = 1, 0                      # all-ones and all-zeros rows
    err = sample_error_map(w.shape, ber, seed)
    lrs, hrs = pair_levels(w, err, k, seed)
    dut._log.info("n=%d accumulate=%s seed=%d ber=%g injected_errors=%d", n, accumulate, seed, ber, int(err.sum()))
    await start(dut, ("prog__en", "prog__row", "prog__data", "prog__lrs", "prog__hrs",
                      "rd_en", "rd_row", "x", "first", "hold"))
    for t in range(n):
        await FallingEdge(dut.clk)
        dut.prog__en.value, dut.prog__row.value, dut.prog__data.value = 1, t, to_int(w[t])
        dut.prog__lrs.value, dut.prog__hrs.value = to_int(lrs[t], k), to_int(hrs[t], k)
    await FallingEdge(dut.clk)
    dut.prog__en.value = 0

    # a request stream with gaps; x includes all-ones / all-zeros vectors
    rows = rng.integers(0, n, size=reads)
    xs = rng.integers(0, 2, size=(reads, n), dtype=np.uint8)
    xs[0], xs[1] = 1, 0
    firsts = (np.arange(reads) % 5 == 0) | (rng.random(reads) < 0.1)
    cell_layer = Layer.from_bits(w, np.zeros(n, dtype=np.int64))
    _, pc_all = golden.layer_forward(cell_layer, xs, err)              # (reads, n rows)
    row_pc = pc_all[np.arange(reads), rows]
    if accumulate:
        expected_counts, acc = [], 0
        for r in range(reads):
            acc = row_pc[r] if firsts[r] else acc + row_pc[r]
            expected_counts.append(acc)
    else:
        expected_counts = list(row_pc)
    expected_xnor = [to_int(1 - (xs[r] ^ (w[rows[r]] ^ err[rows[r]]))) for r in range(reads)]

    got_counts, got_xnor = [], []
    issued, cycle, sense_due = 0, 0, None
    while len(got_counts) < reads:
        await FallingEdge(dut.clk)
        hold = int(rng.random() < 0.2)
        issue = issued < reads and rng.random() < 0.8
        dut.hold.value = hold
        dut.rd_en.value = int(issue)
        if issue:
            dut.rd_row.value, dut.x.value, dut.first.value = int(rows[issued]), to_int(xs[issued]), int(firsts[issued])
        await ReadOnly()
        if sense_due is not None:
            got_xnor.append(int(dut.xnor_row.value))
            sense_due = None
        if issue and not hold:
            sense_due = issued
            issued += 1
        if int(dut.count_valid.value) and not hold:
            got_counts.append(int(dut.count.value))
        cycle += 1
        assert cycle < reads * 20, "cell produced too few counts"
    report = Report()
    compare(dut, "xnor rows", np.array(got_xnor, dtype=object)[None, :], np.array(expected_xnor, dtype=object)[None, :],
            report, row="run", col="read")
    compare(dut, "counts", np.array(got_counts)[None, :], np.array(expected_counts)[None, :], report, row="run",
            col="read")
    report.update(ok=True, reads=reads)
