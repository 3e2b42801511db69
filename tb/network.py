"""cocotb testbench of a whole generated network (its batch harness): every predicted class and
every output-layer popcount is compared with the golden model on the same error-injected
weights, and the measured cycles per inference and initiation interval with the manifest.

The harness boots from the programming image named by +HWGEN_PROGRAM (written by the runner
from the same scenario, :func:`hwgen.verify.scenario.network_scenario`), then the images run in
batches of the harness's capacity, without rebooting.

Parameters (environment): HWGEN_DESIGN (design folder), HWGEN_VIEW (harness, default, or fpga: the
same ports), HWGEN_IMAGES (an image set; default the
shipped slice of the network's dataset), HWGEN_COUNT, HWGEN_SEED, HWGEN_BER, HWGEN_CONDITION
("i_set_uA,v_reset,pulse_us": error maps from the device model instead of a BER) and
HWGEN_CYCLES (programming cycles of that condition, for aging), HWGEN_VDD (with a condition: the
ternary layers' read supply); HWGEN_REPORT and HWGEN_PROGRESS come from the runner. A ternary
output layer's popcounts are ``Q = score + score_offset`` (:func:`hwgen.mapping.hardware_counts`).
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np

from hwgen.hwconfig import index_width
from hwgen.mapping import field, to_int
from hwgen.verify.driver import (HARNESS_INPUTS, Progress, Report, compare, env_int, expect, run_batches, start,
                                 wait_booted)
from hwgen.verify.scenario import network_scenario


@cocotb.test()
async def network_matches_golden(dut):
    sc = network_scenario(os.environ["HWGEN_DESIGN"], float(os.environ.get("HWGEN_BER", "0")),
                          env_int("HWGEN_SEED", 1), os.environ.get("HWGEN_IMAGES") or None,
                          env_int("HWGEN_COUNT", 16), os.environ.get("HWGEN_CONDITION") or None,
                          float(os.environ.get("HWGEN_CYCLES", "0")),
                          float(os.environ["HWGEN_VDD"]) if os.environ.get("HWGEN_VDD") else None)
    report, progress = Report(), Progress()
    manifest, count = sc.manifest, len(sc.x_bits)
    dut._log.info("network %s, %d images, seed=%d ber=%g injected_errors=%d",
                  " -> ".join(p.hw.tag() for p in manifest.layers), count, sc.seed, sc.ber, sc.injected_errors)
    t0 = time.perf_counter()
    await start(dut, HARNESS_INPUTS)
    depth = manifest.program["layout"]["depth"]
    records = await wait_booted(dut, depth - 1, progress)
    assert records == depth - 1, f"boot applied {records} records, the image has {depth - 1}"
    boot_cycles = round(cocotb.utils.get_sim_time("ns") / 10)

    view = os.environ.get("HWGEN_VIEW") or "harness"     # the fpga view has the harness's ports
    batches = await run_batches(dut, [[to_int(x)] for x in sc.x_bits], manifest.view(view).capacity, 1,
                                "images", progress)
    classes = manifest.layers[-1].n_outputs
    pw = manifest.layers[-1].hw.popcount_width
    cls_width = index_width(classes)
    words = [w for b in batches for w in b.words]
    got_cls = np.array([[field(w, 0, cls_width)] for w in words], dtype=np.int64)
    got_pcs = np.array([[field(w >> cls_width, c, pw) for c in range(classes)] for w in words], dtype=np.int64)

    exp_cls, exp_pcs = sc.expected_outputs()
    compare(dut, "output popcounts", got_pcs, exp_pcs, report, row="image", col="class")
    compare(dut, "classes", got_cls, exp_cls[:, None], report, row="image", col="output")

    timing = manifest.timing
    # every batch starts on an empty pipeline: its first image takes cycles_per_inference; later
    # ones wait in the input link for the first layer, so results come one interval apart
    latency = sorted({b.out_cycles[0] - b.in_cycles[0] for b in batches})
    intervals = sorted({y - x for b in batches for x, y in zip(b.out_cycles, b.out_cycles[1:])})
    dut._log.info("cycles per inference (first image of each batch) measured %s, manifest %d; result intervals "
                  "%s, manifest %d", latency, timing["cycles_per_inference"], intervals, timing["initiation_interval"])
    expect(report, latency == [timing["cycles_per_inference"]],
           f"cycles per inference {latency} != manifest {timing['cycles_per_inference']}")
    expect(report, not intervals or intervals == [timing["initiation_interval"]],
           f"initiation intervals {intervals} != manifest {timing['initiation_interval']}")
    accuracy = float((got_cls[:, 0] == sc.labels).mean())
    wall_run = sum(b.wall_s for b in batches)
    run_cycles = sum(b.cycles for b in batches)
    dut._log.info("RTL accuracy %.2f%% on %d images (golden: identical classes)", 100 * accuracy, count)
    report.update(ok=True, images=count, batches=len(batches), seed=sc.seed, ber=sc.ber, accuracy=accuracy,
                  ternary_rates=None if sc.rates is None else sc.rates._asdict(), vdd=sc.vdd,
                  images_from=sc.images, injected_errors=sc.injected_errors,
                  outputs_checked=int(got_pcs.size + got_cls.size), cycles_per_inference=latency[0],
                  initiation_interval=intervals[0] if intervals else None, boot_cycles=boot_cycles,
                  run_cycles=run_cycles, run_wall_s=round(wall_run, 3), inferences_per_s=count / wall_run,
                  sim_cycles_per_s=run_cycles / wall_run, total_wall_s=round(time.perf_counter() - t0, 2))
