"""cocotb testbench of a whole generated network (its batch harness): every predicted class and
every output-layer popcount is compared with the golden model on the same error-injected
weights, and the measured cycles per inference and initiation interval with the manifest.

The harness boots from the programming image named by +HWGEN_PROGRAM (written by the runner
from the same seed and BER, see :func:`hwgen.stimulus.network_scenario`).

Parameters (environment): HWGEN_DESIGN (design folder), HWGEN_IMAGES (npz, default the shipped
fixture), HWGEN_COUNT, HWGEN_SEED, HWGEN_BER, HWGEN_REPORT (optional JSON report path),
HWGEN_CONDITION ("i_set_uA,v_reset,pulse_us": error maps from the device model instead of a BER)
and HWGEN_CYCLES (programming cycles of that condition, for aging).
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge, Timer
from cocotb.utils import get_sim_time

from drive import compare, field, start, to_int
from hwgen.stimulus import network_scenario

INPUTS = ("ld_en", "ld_addr", "ld_data", "count", "start", "rd_addr")


@cocotb.test()
async def network_matches_golden(dut):
    sc = network_scenario(os.environ["HWGEN_DESIGN"], float(os.environ.get("HWGEN_BER", "0")),
                          int(os.environ.get("HWGEN_SEED", "1")), os.environ.get("HWGEN_IMAGES") or None,
                          int(os.environ.get("HWGEN_COUNT", "16")), os.environ.get("HWGEN_CONDITION") or None,
                          int(os.environ.get("HWGEN_CYCLES", "0")))
    count = len(sc.x_bits)
    dut._log.info("network %s, %d images, seed=%d ber=%g injected_errors=%d", sc.manifest["network"]["layers"][0]["hw"],
                  count, sc.seed, sc.ber, int(sum(int(e.sum()) for e in sc.error_maps)))
    t0 = time.perf_counter()
    await start(dut, INPUTS)
    for k, x in enumerate(sc.x_bits):
        await FallingEdge(dut.clk)
        dut.ld_en.value, dut.ld_addr.value, dut.ld_data.value = 1, k, to_int(x)
    await FallingEdge(dut.clk)
    dut.ld_en.value = 0
    if not dut.booted.value:
        await RisingEdge(dut.booted)
    await FallingEdge(dut.clk)
    records = int(dut.boot_records.value)
    expected_records = sc.manifest["program"]["layout"]["depth"] - 1
    assert records == expected_records, f"boot applied {records} records, the image has {expected_records}"
    boot_cycles = round(get_sim_time("ns") / 10)
    dut.count.value, dut.start.value = count, 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    t_run, sim_t0 = time.perf_counter(), get_sim_time("ns")
    await RisingEdge(dut.finished)
    run_cycles = round((get_sim_time("ns") - sim_t0) / 10)
    wall_run = time.perf_counter() - t_run

    classes = sc.plans[-1].n_outputs
    pw = sc.plans[-1].hw.popcount_width
    got_cls = np.zeros((count, 1), dtype=np.int64)
    got_pcs = np.zeros((count, classes), dtype=np.int64)
    t_in, t_out = [], []
    for k in range(count):
        dut.rd_addr.value = k
        await Timer(1, unit="ps")
        got_cls[k, 0] = int(dut.rd_cls.value)
        pcs = int(dut.rd_popcount.value)
        got_pcs[k] = [field(pcs, c, pw) for c in range(classes)]
        t_in.append(int(dut.rd_in_cycle.value))
        t_out.append(int(dut.rd_out_cycle.value))

    exp_cls, exp_pcs = sc.expected()
    compare(dut, "output popcounts", got_pcs, exp_pcs)
    compare(dut, "classes", got_cls, exp_cls[:, None])

    timing = sc.manifest["timing"]
    # the first image meets an empty pipeline; later ones wait in the input link for the first layer
    latency = [t_out[0] - t_in[0]]
    intervals = sorted(set(b - a for a, b in zip(t_out, t_out[1:])))
    dut._log.info("cycles per inference (first image) measured %d, manifest %d; result intervals %s, "
                  "manifest %d", latency[0], timing["cycles_per_inference"], intervals, timing["initiation_interval"])
    assert latency == [timing["cycles_per_inference"]], f"cycles per inference {latency[0]} != manifest"
    if count > 1:
        assert intervals == [timing["initiation_interval"]], f"initiation intervals {intervals} != manifest"
    accuracy = float((got_cls[:, 0] == sc.labels).mean())
    dut._log.info("RTL accuracy %.2f%% on %d images (golden: identical classes)", 100 * accuracy, count)
    if os.environ.get("HWGEN_REPORT"):
        with open(os.environ["HWGEN_REPORT"], "w") as f:
            json.dump({"images": count, "seed": sc.seed, "ber": sc.ber, "accuracy": accuracy,
                       "injected_errors": int(sum(int(e.sum()) for e in sc.error_maps)),
                       "outputs_checked": int(got_pcs.size + got_cls.size),
                       "cycles_per_inference": latency[0], "initiation_interval": intervals[0] if intervals else None,
                       "boot_cycles": boot_cycles, "run_cycles": run_cycles, "run_wall_s": round(wall_run, 3),
                       "inferences_per_s": count / wall_run, "sim_cycles_per_s": run_cycles / wall_run,
                       "total_wall_s": round(time.perf_counter() - t0, 2)}, f, indent=2)
