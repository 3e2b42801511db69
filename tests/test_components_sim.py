"""Fast unit tests of the small RTL components on Amaranth's own simulator (no Verilog tools).

Every expectation is computed in the test from an independent reference (the golden model,
numpy, or plain Python); nothing is compared with stored constants. Random tests use fixed
seeds derived from their parameters and print them (``seed=...``).

Timing model (the one of ``hwgen/verify/driver.py``): in every cycle the testbench drives the inputs,
then samples the outputs (with the combinational logic settled), then the rising edge acts on
what was sampled. A read issued in cycle c is therefore sampled in cycle c+1.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.device import pair_levels, sample_error_map, sensed_bits
from hwgen.hwconfig import HwConfig, bits_for
from hwgen.ir import Layer
from hwgen.mapping import input_beats, pad_inputs, to_int
from hwgen.rtl.argmax import ArgmaxOut
from hwgen.rtl.cell import BasicCell
from hwgen.rtl.link import VectorLink
from hwgen.rtl.threshold import ThresholdBank
from hwgen.rtl.tree import PopcountTree


# -- helpers ------------------------------------------------------------------------------------

def make_seed(*params) -> int:
    """A fixed seed per test configuration (stable across runs and machines), printed."""
    seed = zlib.crc32(repr(params).encode()) % 100_000
    print(f"seed={seed}")
    return seed


def noise(rng, width: int) -> int:
    """A random value for an input that must be ignored in this cycle."""
    return int(rng.integers(0, 1 << width)) if width else 0


def simulate(dut, testbench) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


# -- 1. basic cell ------------------------------------------------------------------------------

def cell_reference(w, err, xs, rows, firsts, accumulate):
    """Expected ``xnor_row`` of every read and the expected ``count`` sequence.

    XNOR rows: plain numpy on the sensed weights ``w ^ err``. Counts: the golden model's
    popcounts of the cell's rows (each row is one neuron of n inputs) with the error map applied,
    as running sums since ``first`` in accumulate mode.
    """
    reads, n = xs.shape
    sensed = w ^ err
    xnor = [to_int(1 - (xs[r] ^ sensed[rows[r]])) for r in range(reads)]
    layer = Layer.from_bits(w, np.zeros(n, dtype=np.int64))
    _, pc_all = golden.layer_forward(layer, xs, err)                    # (reads, n rows)
    row_pc = pc_all[np.arange(reads), rows]
    if not accumulate:
        return xnor, [int(c) for c in row_pc]
    counts, acc = [], 0
    for r in range(reads):
        acc = int(row_pc[r]) if firsts[r] else acc + int(row_pc[r])
        counts.append(acc)
    return xnor, counts


CELL_STORAGES = [
    pytest.param("behavioural", 4, 0.0, id="behavioural-k4-ber0"),
    pytest.param("behavioural", 2, 0.25, id="behavioural-k2-ber0.25"),
    pytest.param("behavioural", 1, 0.25, id="behavioural-k1-ber0.25"),    # the word-wide sense of 1-bit codes
    pytest.param("behavioural", 4, 0.25, id="behavioural-k4-ber0.25"),
    pytest.param("bitmem", 4, 0.0, id="bitmem"),
]


@pytest.mark.parametrize("storage,level_bits,ber", CELL_STORAGES)
@pytest.mark.parametrize("accumulate", [False, True], ids=["rowcount", "accumulate"])
@pytest.mark.parametrize("n", [4, 5, 8])
def test_cell_matches_golden(n, accumulate, storage, level_bits, ber):
    """Programmed rows (device codes realising an error map in the behavioural view) are read
    back with random gaps and holds: ``xnor_row`` one cycle after each un-held read and every
    ``count`` one un-held cycle after (the row's popcount), or two in accumulate mode (running
    sums since ``first``), match
    the golden model; ``hold`` freezes every output, ``xnor_row`` holds between reads, and no
    count appears without a read."""
    seed = make_seed("cell", n, accumulate, storage, level_bits, ber)
    rng = np.random.default_rng(seed)
    reads = 150
    behavioural = storage == "behavioural"
    w = rng.integers(0, 2, size=(n, n), dtype=np.uint8)
    w[0], w[1] = 1, 0                                   # all-ones and all-zeros rows
    err = sample_error_map(w.shape, ber, seed + 1)
    if ber:
        assert 0 < err.sum() < err.size, "the error map should flip some pairs, not all"
    if behavioural:
        lrs, hrs = pair_levels(w, err, level_bits, seed + 2)
        # the device codes realise the error map: a pair reads flipped exactly where err is 1
        assert np.array_equal(sensed_bits(w, lrs, hrs), w ^ err)
    print(f"n={n} accumulate={accumulate} storage={storage} ber={ber} errors={int(err.sum())}")

    rows = rng.integers(0, n, size=reads)
    xs = rng.integers(0, 2, size=(reads, n), dtype=np.uint8)
    xs[0], xs[1] = 1, 0                                 # all-ones and all-zeros inputs
    # a seq2par pass reads n rows from a `first`; extra random restarts on top
    firsts = (np.arange(reads) % n == 0) | (rng.random(reads) < 0.1)
    expected_xnor, expected_counts = cell_reference(w, err, xs, rows, firsts, accumulate)

    dut = BasicCell(n=n, accumulate=accumulate, storage=storage, level_bits=level_bits)
    assert max(expected_counts) < 1 << len(dut.count)
    assert dut.latency == (2 if accumulate else 1)
    got_xnor, got_counts = [], []
    stale_xnor, unfrozen, late, spurious = [], [], [], []

    async def tb(ctx):
        for t in range(n):                              # program one row per cycle
            ctx.set(dut.prog.en, 1)
            ctx.set(dut.prog.row, t)
            ctx.set(dut.prog.data, to_int(w[t]))
            if behavioural:
                ctx.set(dut.prog.lrs, to_int(lrs[t], level_bits))
                ctx.set(dut.prog.hrs, to_int(hrs[t], level_bits))
            await ctx.tick()
        ctx.set(dut.prog.en, 0)

        issued, sense_due, last_read = 0, None, None
        prev_hold, prev_sample = 0, None
        pipe = [None] * dut.latency                     # read sensed, (read counted) (live edges only)
        for cycle in range(reads * 20):
            hold = int(rng.random() < 0.2)
            issue = issued < reads and rng.random() < 0.8
            ctx.set(dut.hold, hold)
            ctx.set(dut.rd_en, int(issue))
            if issue:
                ctx.set(dut.rd_row, int(rows[issued]))
                ctx.set(dut.x, to_int(xs[issued]))
                ctx.set(dut.first, int(firsts[issued]))
            else:                                       # ignored while rd_en is low
                ctx.set(dut.rd_row, int(rng.integers(0, n)))
                ctx.set(dut.x, noise(rng, n))
                ctx.set(dut.first, int(rng.integers(0, 2)))
            sample = (ctx.get(dut.xnor_row), ctx.get(dut.count), ctx.get(dut.count_valid))
            if prev_hold and sample != prev_sample:
                unfrozen.append((cycle, prev_sample, sample))
            if sense_due is not None:                   # one cycle after an un-held read
                got_xnor.append(sample[0])
                sense_due = None
            if last_read is not None and sample[0] != expected_xnor[last_read]:
                stale_xnor.append((cycle, last_read, sample[0], expected_xnor[last_read]))
            want = (0, None) if pipe[-1] is None else (1, expected_counts[pipe[-1]])
            if (sample[2], sample[1] if sample[2] else None) != want:
                late.append((cycle, pipe[-1], sample[2], sample[1]))
            accepted = None
            if issue and not hold:
                sense_due = last_read = accepted = issued
                issued += 1
            if sample[2] and not hold:
                got_counts.append(sample[1])
            if not hold:
                pipe = [accepted] + pipe[:-1]
            prev_hold, prev_sample = hold, sample
            if len(got_counts) >= reads:
                break
            await ctx.tick()
        for cycle in range(4):                          # drain: nothing more comes out
            await ctx.tick()
            ctx.set(dut.rd_en, 0)
            ctx.set(dut.hold, 0)
            if ctx.get(dut.count_valid):
                spurious.append(cycle)

    simulate(dut, tb)
    assert got_xnor == expected_xnor
    assert got_counts == expected_counts
    assert stale_xnor == [], "xnor_row must hold the last sensed row between reads"
    assert unfrozen == [], "hold must freeze xnor_row, count and count_valid"
    assert late == [], "count must appear exactly two un-held cycles after its read"
    assert spurious == [], "count_valid without a read"


# -- 2. popcount tree ---------------------------------------------------------------------------

@pytest.mark.parametrize("N,max_partial", [(1, 4), (3, 4), (4, 8), (5, 1), (7, 5), (17, 3), (20, 3)])
def test_tree_sums_partials(N, max_partial):
    """Random partials (incl. all-zero and all-max vectors) with random valid and hold: every
    total equals the sum of its partials and appears (with ``total_valid``) the cycle after its
    un-held valid vector, in order, one per vector; hold freezes total/total_valid."""
    seed = make_seed("tree", N, max_partial)
    rng = np.random.default_rng(seed)
    vectors, top, w = 300, max_partial, bits_for(max_partial)
    partials = rng.integers(0, top + 1, size=(vectors, N))
    partials[0], partials[1], partials[-1] = 0, top, top
    expected = [int(s) for s in partials.sum(axis=1)]

    dut = PopcountTree(N=N, max_partial=max_partial)
    assert len(dut.total) == bits_for(N * top)
    got, unfrozen, late = [], [], []

    async def tb(ctx):
        sent, prev_hold, prev_sample = 0, 0, None
        pending = None                                  # vector whose total shows now
        for cycle in range(vectors * 20):
            hold = int(rng.random() < 0.2)
            send = sent < vectors and rng.random() < 0.8
            ctx.set(dut.hold, hold)
            ctx.set(dut.valid, int(send))
            ctx.set(dut.partials, to_int(partials[sent], w) if send else noise(rng, N * w))
            sample = (ctx.get(dut.total), ctx.get(dut.total_valid))
            if prev_hold and sample != prev_sample:
                unfrozen.append((cycle, prev_sample, sample))
            want = (0, None) if pending is None else (1, expected[pending])
            if (sample[1], sample[0] if sample[1] else None) != want:
                late.append((cycle, pending, sample))
            if not hold:
                pending = sent if send else None
            if send and not hold:
                sent += 1
            if sample[1] and not hold:
                got.append(sample[0])
            prev_hold, prev_sample = hold, sample
            if len(got) >= vectors:
                break
            await ctx.tick()

    simulate(dut, tb)
    assert got == expected
    assert unfrozen == [], "hold must freeze total and total_valid"
    assert late == [], "a total must appear the cycle after its un-held valid vector"


# -- 3. threshold bank --------------------------------------------------------------------------

BANK_SIZES = [(4, 3, 5), (8, 2, 4), (2, 1, 1), (1, 2, 3)]


async def load_rows(ctx, dut, rng, table, order, each_cycle=lambda ctx: None):
    """Load ``table[r]`` for every r in ``order``, with idle cycles (random bus, en low) between
    and two after; ``each_cycle(ctx)`` runs in every cycle before the clock edge."""
    lanes, width = table.shape[1], dut.width

    async def idle():
        ctx.set(dut.load.en, 0)
        ctx.set(dut.load.row, int(rng.integers(0, dut.rows)))
        ctx.set(dut.load.data, noise(rng, lanes * width))
        each_cycle(ctx)
        await ctx.tick()

    for r in order:
        while rng.random() < 0.3:
            await idle()
        ctx.set(dut.load.en, 1)
        ctx.set(dut.load.row, int(r))
        ctx.set(dut.load.data, to_int(table[r], width))
        each_cycle(ctx)
        await ctx.tick()
    for _ in range(2):
        await idle()


@pytest.mark.parametrize("rows,lanes,width", BANK_SIZES)
def test_threshold_memory_reads_back_loaded_rows(rows, lanes, width):
    """Memory form: rows loaded in random order are read back; ``rd_data`` shows the row read
    in the previous cycle and holds while ``rd_en`` is low (even with ``rd_row`` changing, and
    while the row it came from is reloaded). Reloading some rows replaces their contents and
    leaves the others alone."""
    seed = make_seed("thr-mem", rows, lanes, width)
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 1 << width, size=(rows, lanes))
    first[0] = (1 << width) - 1                          # an all-max row
    second = first.copy()
    reload = rng.permutation(rows)[: max(1, rows // 2)]
    second[reload] = rng.integers(0, 1 << width, size=(len(reload), lanes))
    dut = ThresholdBank(rows=rows, lanes=lanes, width=width, parallel=False)
    mismatches, reads_done = [], []
    expect = None                                       # rd_data of the last read, once there is one

    def check_rd_data(ctx, phase):
        got = ctx.get(dut.rd_data)
        if expect is not None and got != expect:
            mismatches.append((phase, len(reads_done), got, expect))

    def idle_read_port(ctx):                            # during loads: rd_en low, rd_row noise
        ctx.set(dut.rd_en, 0)
        ctx.set(dut.rd_row, int(rng.integers(0, rows)))
        check_rd_data(ctx, "load")

    async def read_phase(ctx, table, cycles):
        nonlocal expect
        for _ in range(cycles):
            en = int(rng.random() < 0.6)
            row = int(rng.integers(0, rows))
            ctx.set(dut.rd_en, en)
            ctx.set(dut.rd_row, row)
            check_rd_data(ctx, "read")
            if en:
                expect = to_int(table[row], width)
                reads_done.append(row)
            await ctx.tick()

    async def tb(ctx):
        await load_rows(ctx, dut, rng, first, rng.permutation(rows), idle_read_port)
        await read_phase(ctx, first, 12 * rows + 8)
        await load_rows(ctx, dut, rng, second, reload, idle_read_port)
        await read_phase(ctx, second, 12 * rows + 8)

    simulate(dut, tb)
    assert set(reads_done) == set(range(rows)), "every row should have been read"
    assert mismatches == []


@pytest.mark.parametrize("rows,lanes,width", BANK_SIZES)
def test_threshold_parallel_read_gives_every_row(rows, lanes, width):
    """Parallel form (seq2par): one read gives every load row, row-major, one cycle later, and
    holds while ``rd_en`` is low; a load replaces only its own row (its write lane), is seen by
    reads from the next cycle, and ``load.en`` low ignores the bus. No ``rd_row``: a read is
    always the whole memory row."""
    seed = make_seed("thr-par", rows, lanes, width)
    rng = np.random.default_rng(seed)
    dut = ThresholdBank(rows=rows, lanes=lanes, width=width, parallel=True)
    assert not hasattr(dut, "rd_row") and len(dut.rd_data) == rows * lanes * width
    assert dut.macro.lanes == rows and dut.macro.rows == 1
    table = np.zeros((rows, lanes), dtype=np.int64)      # the memory starts at zero
    mismatches, loads, reads = [], [], []
    expect = None

    async def tb(ctx):
        nonlocal expect
        for cycle in range(10 * rows + 10):
            en = int(rng.random() < 0.5)
            rd = int(rng.random() < 0.5)
            row = int(rng.integers(0, rows))
            data = rng.integers(0, 1 << width, size=lanes)
            if cycle == 0:
                data[:] = (1 << width) - 1               # all-max row
            ctx.set(dut.load.en, en)
            ctx.set(dut.load.row, row)
            ctx.set(dut.load.data, to_int(data, width))
            ctx.set(dut.rd_en, rd)
            got = ctx.get(dut.rd_data)
            if expect is not None and got != expect:
                mismatches.append((cycle, got, expect))
            if rd:                                       # a read sees the memory before this edge's write
                expect = to_int(table, width)
                reads.append(cycle)
            await ctx.tick()
            if en:
                table[row] = data
                loads.append(row)

    simulate(dut, tb)
    assert loads and reads, "some rows should have been loaded and read"
    assert mismatches == []


# -- 4. vector link -----------------------------------------------------------------------------

def link_reference(vec_bits, n_valid: int, dst: HwConfig) -> list[int]:
    """The beats a link must emit for one collected vector: its first ``n_valid`` bits padded
    with ones to ``dst.max_inputs``, cut into ``dst.input_beats`` beats of ``dst.input_width``."""
    bits = [int(b) for b in vec_bits[:n_valid]] + [1] * (dst.max_inputs - n_valid)
    w = dst.input_width
    beats = [to_int(bits[t * w:(t + 1) * w]) for t in range(dst.input_beats)]
    # the mapping's own padding and slicing say the same
    mapped = input_beats(pad_inputs(np.asarray(vec_bits[:n_valid])[None, :], dst), dst)[0]
    assert beats == [to_int(b) for b in mapped]
    return beats


def src_beats(vec_bits, src: HwConfig | None, rng):
    """The link's input beats carrying one vector: one stream payload (src None) or the source
    array's output beats (beat t: act = neurons t*lanes .. t*lanes+lanes-1)."""
    if src is None:
        return [dict(payload=to_int(vec_bits))]
    lanes, beats = src.output_lanes, src.output_beats
    return [dict(act=to_int(vec_bits[t * lanes:(t + 1) * lanes]), index=t, last=int(t == beats - 1),
                 popcount=noise(rng, lanes * src.popcount_width))
            for t in range(beats)]


S2P = "seq2par"
LINK_CASES = [
    # n_valid, dst, src
    pytest.param(5, HwConfig(n=4, N=2, M=1), None, id="stream-to-par2seq-padded"),
    pytest.param(8, HwConfig(n=4, N=2, M=1), None, id="stream-to-par2seq-full"),
    pytest.param(11, HwConfig(n=4, N=1, M=1, config=S2P), None, id="stream-to-seq2par-padded"),
    pytest.param(16, HwConfig(n=4, N=1, M=1, config=S2P), None, id="stream-to-seq2par-full"),
    pytest.param(1, HwConfig(n=4, N=1, M=1, config=S2P), None, id="stream-1bit-to-seq2par"),
    pytest.param(12, HwConfig(n=4, N=3, M=2), HwConfig(n=4, N=2, M=3), id="par2seq-to-par2seq-full"),
    pytest.param(10, HwConfig(n=5, N=1, M=1, config=S2P), HwConfig(n=4, N=2, M=3), id="par2seq-to-seq2par"),
    pytest.param(5, HwConfig(n=4, N=2, M=1), HwConfig(n=4, N=2, M=3, config=S2P), id="seq2par-to-par2seq"),
    pytest.param(5, HwConfig(n=3, N=1, M=1, config=S2P), HwConfig(n=4, N=2, M=3, config=S2P),
                 id="seq2par-to-seq2par"),
]


@pytest.mark.parametrize("n_valid,dst,src", LINK_CASES)
def test_link_pads_and_slices_vectors(n_valid, dst, src):
    """A stream of vectors (from the input stream or a source array's output beats, with random
    gaps) comes out as the next array's input beats: the first ``n_valid`` bits padded with
    ones and sliced per beat (bits past ``n_valid`` ignored). Under random ``out.ready``
    back-pressure the output holds steady; ``inp.ready`` is low exactly while ``full``
    (= ``out.valid``), ``full`` rises the cycle after the last input beat and the link is ready
    again the cycle after its last output beat leaves. These are the one-buffer link's rules, so
    the link is built with ``buffers=1`` (the two-buffer link: tests/test_rtl_link.py)."""
    seed = make_seed("link", n_valid, dst, src)
    rng = np.random.default_rng(seed)
    vectors = 30
    src_width = n_valid if src is None else src.max_outputs
    vecs = rng.integers(0, 2, size=(vectors, src_width), dtype=np.uint8)
    vecs[0], vecs[1] = 0, 1
    vecs[2, :n_valid] = 0                               # zeros inside, ones (if any) past n_valid
    vecs[2, n_valid:] = 1
    vecs[3, :n_valid] = 1
    vecs[3, n_valid:] = 0
    expected = [b for v in vecs for b in link_reference(v, n_valid, dst)]
    in_beats = [b for v in vecs for b in src_beats(v, src, rng)]

    dut = VectorLink(n_valid=n_valid, dst=dst, src=src, buffers=1)
    got, violations = [], []

    async def tb(ctx):
        k_in, presenting = 0, False
        out_taken = 0
        prev_out = None                                 # (payload) of an output beat not yet taken
        want_full, want_ready = False, False
        for cycle in range(len(in_beats) * 40 + 100):
            if not presenting and k_in < len(in_beats) and rng.random() < 0.7:
                presenting = True                       # once valid, held until taken
            beat = in_beats[k_in] if presenting else None
            ctx.set(dut.inp.valid, int(presenting))
            if src is None:
                ctx.set(dut.inp.payload, beat["payload"] if beat else noise(rng, n_valid))
            else:
                ctx.set(dut.inp.act, beat["act"] if beat else noise(rng, src.output_lanes))
                ctx.set(dut.inp.index, beat["index"] if beat else noise(rng, len(dut.inp.index)))
                ctx.set(dut.inp.last, beat["last"] if beat else int(rng.integers(0, 2)))
                ctx.set(dut.inp.popcount, beat["popcount"] if beat else noise(rng, len(dut.inp.popcount)))
            ready = int(rng.random() < 0.5)
            ctx.set(dut.out.ready, ready)

            full, in_ready = ctx.get(dut.full), ctx.get(dut.inp.ready)
            valid, payload = ctx.get(dut.out.valid), ctx.get(dut.out.payload)
            if valid != full or in_ready != (not full):
                violations.append((cycle, "out.valid/inp.ready vs full", full, valid, in_ready))
            if prev_out is not None and (not valid or payload != prev_out):
                violations.append((cycle, "output beat changed before it was taken", prev_out, valid, payload))
            if want_full and not full:
                violations.append((cycle, "not full the cycle after the last input beat"))
            if want_ready and not in_ready:
                violations.append((cycle, "not ready the cycle after the last output beat"))
            want_full = want_ready = False

            if presenting and in_ready:
                if src is None or beat["last"]:
                    want_full = True
                k_in += 1
                presenting = False
            prev_out = None
            if valid and ready:
                got.append(payload)
                out_taken += 1
                if out_taken % dst.input_beats == 0:
                    want_ready = True
            elif valid:
                prev_out = payload
            if len(got) >= len(expected) and not want_ready:
                break
            await ctx.tick()

    simulate(dut, tb)
    assert got == expected
    assert violations == []


# -- 5. argmax output ---------------------------------------------------------------------------

ARGMAX_CASES = [
    # classes, src
    pytest.param(10, HwConfig(n=4, N=2, M=3), id="par2seq-10-of-12"),
    pytest.param(12, HwConfig(n=4, N=2, M=3), id="par2seq-12-of-12"),
    pytest.param(7, HwConfig(n=2, N=3, M=4), id="par2seq-n2-7-of-8"),
    pytest.param(5, HwConfig(n=4, N=2, M=3, config=S2P), id="seq2par-5-of-6"),
    pytest.param(8, HwConfig(n=5, N=2, M=4, config=S2P), id="seq2par-8-of-8"),
    pytest.param(1, HwConfig(n=4, N=1, M=1, config=S2P), id="seq2par-one-class"),
]


def argmax_passes(rng, classes: int, src: HwConfig, passes: int):
    """Random popcounts per pass (whole width range), with forced ties of the maximum, an
    all-equal pass, and lanes past ``classes`` holding larger values (to be ignored)."""
    top = (1 << src.popcount_width) - 1
    pcs = rng.integers(0, top + 1, size=(passes, src.max_outputs))
    pcs[0] = 0                                          # all tie at zero: class 0
    pcs[1] = top                                        # all tie at the top
    for p in range(2, passes):
        if p % 2 == 0 and classes > 1:                  # several classes share the maximum
            tied = rng.choice(classes, size=int(rng.integers(2, min(classes, 4) + 1)), replace=False)
            pcs[p, tied] = pcs[p, :classes].max()
        if p % 3 == 0 and classes < src.max_outputs:
            pcs[p, :classes] = np.minimum(pcs[p, :classes], top - 1)
            pcs[p, classes:] = top                      # larger, but not a class
    return pcs


@pytest.mark.parametrize("classes,src", ARGMAX_CASES)
def test_argmax_picks_first_maximum(classes, src):
    """Popcount beats of the last array (random gaps) give one result per pass: ``cls`` equals
    ``numpy.argmax`` (first maximum on ties) over the first ``classes`` popcounts and
    ``popcount`` carries those popcounts. Under random ``out.ready`` back-pressure the result
    holds steady; ``inp.ready`` is low exactly while a result is pending, the result appears the
    cycle after the last beat and the stage is ready again the cycle after it is taken."""
    seed = make_seed("argmax", classes, src)
    rng = np.random.default_rng(seed)
    pw, lanes, beats = src.popcount_width, src.output_lanes, src.output_beats
    pcs = argmax_passes(rng, classes, src, passes=40)
    expected = [(int(np.argmax(p[:classes])), to_int(p[:classes], pw)) for p in pcs]
    assert any(np.sum(p[:classes] == p[:classes].max()) > 1 for p in pcs[2:]) or classes == 1
    in_beats = [dict(popcount=to_int(p[t * lanes:(t + 1) * lanes], pw), index=t, last=int(t == beats - 1),
                     act=noise(rng, lanes))
                for p in pcs for t in range(beats)]

    dut = ArgmaxOut(classes=classes, src=src)
    got, violations = [], []

    async def tb(ctx):
        k_in, presenting = 0, False
        prev_out = None
        want_valid, want_ready = False, False
        for cycle in range(len(in_beats) * 40 + 100):
            if not presenting and k_in < len(in_beats) and rng.random() < 0.7:
                presenting = True
            beat = in_beats[k_in] if presenting else None
            ctx.set(dut.inp.valid, int(presenting))
            for name in ("popcount", "index", "last", "act"):
                port = getattr(dut.inp, name)
                ctx.set(port, beat[name] if beat else noise(rng, len(port)))
            ready = int(rng.random() < 0.5)
            ctx.set(dut.out.ready, ready)

            valid, in_ready = ctx.get(dut.out.valid), ctx.get(dut.inp.ready)
            result = (ctx.get(dut.out.cls), ctx.get(dut.out.popcount))
            if in_ready != (not valid):
                violations.append((cycle, "inp.ready is not ~out.valid", valid, in_ready))
            if prev_out is not None and (not valid or result != prev_out):
                violations.append((cycle, "result changed before it was taken", prev_out, valid, result))
            if want_valid and not valid:
                violations.append((cycle, "no result the cycle after the last beat"))
            if want_ready and not in_ready:
                violations.append((cycle, "not ready the cycle after the result was taken"))
            want_valid = want_ready = False

            if presenting and in_ready:
                want_valid = bool(beat["last"])
                k_in += 1
                presenting = False
            prev_out = None
            if valid and ready:
                got.append(result)
                want_ready = True
            elif valid:
                prev_out = result
            if len(got) >= len(expected) and not want_ready:
                break
            await ctx.tick()

    simulate(dut, tb)
    assert got == expected
    assert violations == []
