"""A small whole network in Amaranth's own simulator (seconds, no Verilog simulator): programming
through its ports, an image through every layer, and writes while the network is busy.

Issue 10 decided the network's rule: ``prog`` and ``thr`` writes are ignored while ``busy`` is
high (any layer, link or the output stage holds an image), as an array ignores them while it
computes. Before, a write to a layer that was not yet computing landed and changed the weights
under an image still in flight.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.ir import Layer, Network
from hwgen.mapping import field, to_int
from hwgen.netplan import plan_network
from hwgen.program import program_writes
from hwgen.rtl.network import NetworkTop
from hwgen.verify.record import RecordKind

SEED = 21


def small_network(seed):
    rng = np.random.default_rng(seed)
    sizes = (16, 8, 4)
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(a // 2 - 2, a // 2 + 3, b),
                              output="popcount" if k == len(sizes) - 2 else "sign", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    return Network(layers, {"input_threshold": 127})


async def write(ctx, top, kind, fields):
    """One :func:`program_writes` write (a cell's row, or a column's with column writes)."""
    if kind is RecordKind.WEIGHT:
        ctx.set(top.prog.en, 1)
        ctx.set(top.prog.column if top.column_writes else top.prog.cell, fields["target"])
        ctx.set(top.prog.row, fields["row"])
        ctx.set(top.prog.data, fields["data"])
        if "zero" in fields:
            ctx.set(top.prog.zero, fields["zero"])
    else:
        ctx.set(top.thr.en, 1)
        ctx.set(top.thr.layer, fields["target"])
        ctx.set(top.thr.row, fields["row"])
        ctx.set(top.thr.data, fields["data"])
    await ctx.tick()
    ctx.set(top.prog.en, 0)
    ctx.set(top.thr.en, 0)


def run(plans, program, images, during_first=(), after_first=(), top=None):
    """Program, run ``images[0]`` while applying ``during_first`` writes (the network busy),
    wait until idle, apply ``after_first``, run ``images[1]``. Returns the popcounts per image.
    ``top``: the network to drive (default: every cell elaborated, the one-cell port)."""
    top = top or NetworkTop(plans=plans, shared_cells=False)
    results, busy_seen = [], []

    async def bench(ctx):
        for kind, fields in program:
            await write(ctx, top, kind, fields)
        ctx.set(top.out.ready, 1)
        for k, x in enumerate(images):
            ctx.set(top.inp.payload, to_int(x))
            ctx.set(top.inp.valid, 1)
            await ctx.tick().until(top.inp.ready)
            ctx.set(top.inp.valid, 0)
            ctx.set(top.out.ready, 0)           # hold the result (and the network busy) during the writes
            for kind, fields in (during_first if k == 0 else ()):
                busy_seen.append(ctx.get(top.busy))
                await write(ctx, top, kind, fields)
            ctx.set(top.out.ready, 1)
            if not ctx.get(top.out.valid):
                await ctx.tick().until(top.out.valid)
            pcs = ctx.get(top.out.popcount)
            results.append([field(pcs, c, plans[-1].hw.popcount_width) for c in range(plans[-1].n_outputs)])
            await ctx.tick()
            while ctx.get(top.busy):
                await ctx.tick()
            for kind, fields in (after_first if k == 0 else ()):
                await write(ctx, top, kind, fields)

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return np.array(results), busy_seen


@pytest.mark.parametrize("configs", [("par2seq", "par2seq"), ("par2seq", "seq2par")], ids=["par-par", "par-seq"])
def test_writes_while_busy_are_ignored_and_land_when_idle(configs):
    print(f"seed={SEED}")
    rng = np.random.default_rng(SEED)
    net = small_network(SEED)
    plans = plan_network(net, 4, list(configs), storage="bitmem")
    # the same network with layer 2 (not yet computing while image 0 is in layer 1) overwritten
    other = Network([net.layers[0], Layer.from_bits(1 - net.layers[1].weight_bits(), net.layers[1].thresholds,
                                                    output="popcount", name="fc2")], net.metadata)
    rewrite = [(k, f) for k, f in program_writes(other, plans) if k is RecordKind.WEIGHT
               and f["target"] >= plans[1].cell_offset]
    images = rng.integers(0, 2, (2, 16), dtype=np.uint8)

    got, busy = run(plans, program_writes(net, plans), images, during_first=rewrite, after_first=rewrite)
    assert all(busy), "the writes were meant to come while the network is busy"
    _, want_before, _ = golden.network_forward(net, images[:1])
    _, want_after, _ = golden.network_forward(other, images[1:])
    assert not np.array_equal(want_before, golden.network_forward(other, images[:1])[1]), "the rewrite must matter"
    np.testing.assert_array_equal(got[0], want_before[0])        # busy: the writes were ignored
    np.testing.assert_array_equal(got[1], want_after[0])         # idle: the same writes landed


def test_column_writes_program_the_same_network():
    """Issue 14: a top built with column writes (the harness's boot: a row of all N cells of a
    column per write), programmed from the image's column writes, computes the golden model's
    popcounts; the second layer has fewer cells per column (N=2) than the first (N=4), so it
    takes the low parts of every write. A mixed binary/ternary network checks the zero plane."""
    print(f"seed={SEED}")
    rng = np.random.default_rng(SEED)
    net = small_network(SEED)
    ternary = Network([Layer.from_ternary(rng.integers(-1, 2, (8, 16)).astype(np.int8), rng.integers(-2, 3, 8),
                                          name="t1"), net.layers[1]], net.metadata)
    images = rng.integers(0, 2, (2, 16), dtype=np.uint8)
    for network, configs in ((net, ["par2seq", "seq2par"]), (ternary, ["par2seq", "par2seq"])):
        plans = plan_network(network, 4, configs, storage="bitmem")
        assert [p.hw.N for p in plans] == [4, 2]
        writes = program_writes(network, plans, column_writes=True)
        cells = program_writes(network, plans)
        assert len(writes) == sum(p.hw.M * 4 + p.hw.threshold_rows for p in plans)
        assert len(cells) == sum(p.cells * 4 + p.hw.threshold_rows for p in plans)
        top = NetworkTop(plans=plans, shared_cells=False, column_writes=True)
        assert "column" in top.prog.signature.members and len(top.prog.data) == 4 * 4
        got, _ = run(plans, writes, images, top=top)
        _, want, _ = golden.network_forward(network, images)
        np.testing.assert_array_equal(got, want)
