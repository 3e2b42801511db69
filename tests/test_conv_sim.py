"""Conv layers in Amaranth's own simulator (no Verilog simulator, seconds): small conv networks
programmed through the network's ports, several images back to back, for many replica counts,
both array configurations and a gather-bound layer (more kernel taps than cycles per pass).
Every output popcount equals the golden model's, and the measured latency and result interval
equal :func:`hwgen.netplan.network_timing`, which the manifest records."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.errors import ConfigError, LayerDoesNotFit
from hwgen.ir import Layer, Network
from hwgen.mapping import field, to_int
from hwgen.netplan import network_timing, plan_network
from hwgen.program import program_writes
from hwgen.rtl.conv import ConvLayer, check_parallel

from test_network_sim import write

SEED = 31


def tiny_network(seed, conv1d=False):
    rng = np.random.default_rng(seed)

    def layer(o, i, **conv):
        return Layer.from_bits(rng.integers(0, 2, (o, i)), np.clip(rng.integers(i // 2 - 2, i // 2 + 3, o), 0, i + 1),
                               **conv)

    if conv1d:     # kernel 7 on n=2 arrays: 7 taps to gather, 5 cycles per pass
        convs = [layer(3, 14, kind="conv1d", in_shape=(9, 2), kernel=7, padding=3, pool=2),
                 layer(4, 12, kind="conv1d", in_shape=(4, 3), kernel=4, stride=1, padding=1, pad_bit=1)]
    else:
        convs = [layer(4, 9, kind="conv2d", in_shape=(6, 7, 1), kernel=3, padding=1, pool=2),
                 layer(5, 36, kind="conv2d", in_shape=(3, 3, 4), kernel=3, stride=2, padding=1, pad_bit=1)]
    out = Layer.from_bits(rng.integers(0, 2, (3, convs[-1].out_size)), np.zeros(3, dtype=int), output="popcount")
    return Network(convs + [out], {"input_threshold": 127})


def run(net, plans, images, column_writes=False):
    """Program the network (one cell row per write, or a row of a whole cell column with
    ``column_writes``), offer ``images`` back to back; returns (popcounts, accept cycles, result
    cycles)."""
    from hwgen.rtl.network import NetworkTop

    top = NetworkTop(plans=plans, shared_cells=False, column_writes=column_writes)
    results, taken, done = [], [], []

    async def source(ctx):
        for kind, fields in program_writes(net, plans, column_writes):
            await write(ctx, top, kind, fields)
        ctx.set(top.out.ready, 1)
        for x in images:
            ctx.set(top.inp.payload, to_int(x))
            ctx.set(top.inp.valid, 1)
            await ctx.tick().until(top.inp.ready)
        ctx.set(top.inp.valid, 0)

    async def monitor(ctx):
        cycle = 0
        async for _, _, accept, valid, pcs in ctx.tick().sample(top.inp.valid & top.inp.ready, top.out.valid,
                                                                 top.out.popcount):
            cycle += 1
            if accept:
                taken.append(cycle)
            if valid:
                done.append(cycle)
                results.append([field(pcs, c, plans[-1].hw.popcount_width) for c in range(plans[-1].n_outputs)])

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(monitor, background=True)
    sim.run_until(1e-6 * (len(program_writes(net, plans, column_writes)) + 2 * (len(images) + 1)
                          * network_timing(plans)["cycles_per_inference"]))
    return np.array(results), taken, done


@pytest.mark.parametrize("conv1d,n,config,parallel", [
    (False, 4, "par2seq", 1), (False, 4, "par2seq", 2), (False, 4, "par2seq", [4, 2]), (False, 4, "par2seq", [8, 4]),
    (False, 3, "par2seq", [1, 3]), (False, 6, "seq2par", 1), (False, 6, "seq2par", [2, 4]),
    (True, 2, "par2seq", 1), (True, 4, "seq2par", [2, 3]),
], ids=lambda v: str(v))
def test_conv_network_matches_golden_and_timing(conv1d, n, config, parallel):
    print(f"seed={SEED}")
    net = tiny_network(SEED, conv1d)
    plans = plan_network(net, n, config, storage="bitmem", parallel=parallel)
    rng = np.random.default_rng(SEED)
    images = rng.integers(0, 2, (4, net.input_size), dtype=np.uint8)
    images[0] = 1
    got, taken, done = run(net, plans, images)
    _, want, _ = golden.network_forward(net, images)
    np.testing.assert_array_equal(got, want)
    timing = network_timing(plans)
    assert [b - a for a, b in zip(taken, done)][:1] == [timing["cycles_per_inference"]]
    assert {b - a for a, b in zip(done, done[1:])} == {timing["initiation_interval"]}
    if conv1d and n == 2:       # the first layer's gather (7 taps) is slower than its pass (5 cycles)
        first = plans[0].conv_timing
        assert first["cycles_per_pass"] < plans[0].conv.taps
        assert first["latency"] > first["passes"] * first["cycles_per_pass"] + plans[0].conv.taps


@pytest.mark.parametrize("conv1d,n,config,parallel", [(False, 4, "par2seq", [4, 2]), (True, 4, "seq2par", [2, 3])],
                         ids=lambda v: str(v))
def test_column_writes_program_every_replica(conv1d, n, config, parallel):
    """Issue 14: the boot's column writes (global column = the layer's first column + r*M + j)
    reach every replica's own columns; the popcounts equal the golden model's."""
    print(f"seed={SEED}")
    net = tiny_network(SEED, conv1d)
    plans = plan_network(net, n, config, storage="bitmem", parallel=parallel)
    images = np.random.default_rng(SEED).integers(0, 2, (2, net.input_size), dtype=np.uint8)
    got, _, _ = run(net, plans, images, column_writes=True)
    np.testing.assert_array_equal(got, golden.network_forward(net, images)[1])


def test_replicas_run_their_own_positions():
    """With P replicas, position q of the visiting order runs on replica q % P: an error map that
    flips every weight of replica 1 only changes the odd positions (golden model)."""
    net = tiny_network(SEED)
    layer = net.layers[0]
    x = np.random.default_rng(SEED).integers(0, 2, (3, layer.in_size), dtype=np.uint8)
    clean = golden.conv_popcounts(layer, x)
    maps = np.zeros((2, layer.n_outputs, layer.n_inputs), dtype=np.uint8)
    maps[1] = 1
    flipped = golden.conv_popcounts(layer, x, maps)
    np.testing.assert_array_equal(flipped[:, 0::2], clean[:, 0::2])
    np.testing.assert_array_equal(flipped[:, 1::2], layer.n_inputs - clean[:, 1::2])


def test_parallel_must_fit_the_pool_window():
    g = tiny_network(SEED).layers[0].geometry()      # 2x2 pool, 36 positions
    assert [check_parallel(g, p) for p in (1, 2, 4, 8, 36)] == [1, 2, 4, 8, 36]
    with pytest.raises(ConfigError, match="--parallel 3 must divide the 2x2 pool window"):
        check_parallel(g, 3)
    with pytest.raises(ConfigError, match="--parallel 40 exceeds the layer's 36 output positions"):
        check_parallel(g, 40)
    with pytest.raises(LayerDoesNotFit, match="this network has none"):
        plan_network(Network([Layer.from_bits(np.zeros((2, 4)), [0, 0], output="popcount")]), 4, parallel=2)
    with pytest.raises(LayerDoesNotFit, match="3 --parallel values given for 2 conv layers"):
        plan_network(tiny_network(SEED), 4, parallel=[1, 2, 4])
    with pytest.raises(ConfigError, match="ConvLayer takes a ConvGeometry"):
        ConvLayer(geometry=None, hw=None)
