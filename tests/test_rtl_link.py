"""Double-buffered links (issue 14), in Amaranth's own simulator (seconds, no Verilog simulator).

A :class:`VectorLink` with two buffers collects the next vector while it emits the held one, so a
par2seq layer (n output beats) followed by a seq2par layer (n input beats) no longer runs at 2n
per image. The link alone: every beat it emits is its input vector padded and sliced as the
mapping says, under random back-pressure on both sides, and ``full`` is exactly "cannot take".
Whole networks, every mix of par2seq/seq2par (binary and ternary layers, a conv front end): every
output equals the golden model, and the measured latency and result interval equal
:func:`hwgen.netplan.network_timing`, whose interval is the largest conv period or layer pass.
"""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.errors import ConfigError
from hwgen.hwconfig import HwConfig
from hwgen.ir import Layer, Network
from hwgen.mapping import input_beats, output_neurons, pad_inputs, to_int
from hwgen.netplan import network_timing, plan_network
from hwgen.rtl.array import Array
from hwgen.rtl.link import VectorLink
from test_conv_sim import run as run_network

SEED = 14


def hw(config, n=4, N=3, M=2):
    return HwConfig(n=n, N=N, M=M, config=config, storage="bitmem")


# -- the link alone --------------------------------------------------------------------------------
def run_link(link, src, dst, vectors, in_busy=0.0, out_busy=0.0, seed=SEED):
    """Offer ``vectors`` (bits of the link's source ``src``) as source beats and take the output beats,
    one process driving both sides; the source idles / the sink stalls with the given
    probabilities (a beat once offered stays offered until taken). Returns (output beats, the
    cycle each vector's last beat left, per-cycle samples (full, inp.ready, out.valid, vectors
    held: completely taken minus completely emitted))."""
    rng = np.random.default_rng(seed)
    if src is None:
        beats = [(to_int(v), {}) for v in vectors]
    else:
        order = output_neurons(src)
        beats = [(to_int(v[order[t]]), {"index": t, "last": int(t == src.output_beats - 1)})
                 for v in vectors for t in range(src.output_beats)]
    per_in = 1 if src is None else src.output_beats
    got, left, samples = [], [], []

    async def bench(ctx):
        k, offered, cycle = 0, False, 0
        while len(got) < len(vectors) * dst.input_beats:
            if k < len(beats) and not offered:
                offered = rng.random() >= in_busy
            ctx.set(link.inp.valid, int(offered))
            if offered:
                payload, extra = beats[k]
                ctx.set(link.inp.payload if src is None else link.inp.act, payload)
                for name, value in extra.items():
                    ctx.set(getattr(link.inp, name), value)
            ready = int(rng.random() >= out_busy)
            ctx.set(link.out.ready, ready)
            samples.append((ctx.get(link.full), ctx.get(link.inp.ready), ctx.get(link.out.valid),
                            k // per_in - len(got) // dst.input_beats))
            if ready and ctx.get(link.out.valid):
                got.append(ctx.get(link.out.payload))
                if len(got) % dst.input_beats == 0:
                    left.append(cycle)
            if offered and ctx.get(link.inp.ready):
                k, offered = k + 1, False
            await ctx.tick()
            cycle += 1

    sim = Simulator(link)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return got, left, samples


LINKS = {
    # (source config or None, destination config, n_valid)
    "input-par": (None, "par2seq", 10),
    "input-seq": (None, "seq2par", 11),
    "par-seq": ("par2seq", "seq2par", 7),
    "par-par": ("par2seq", "par2seq", 8),
    "seq-seq": ("seq2par", "seq2par", 5),
    "seq-par": ("seq2par", "par2seq", 6),
}


@pytest.mark.parametrize("buffers", [1, 2])
@pytest.mark.parametrize("case", LINKS)
def test_link_emits_padded_vectors_in_order_under_back_pressure(case, buffers):
    src_cfg, dst_cfg, n_valid = LINKS[case]
    src, dst = (None if src_cfg is None else hw(src_cfg)), hw(dst_cfg)
    link = VectorLink(n_valid=n_valid, src=src, dst=dst, buffers=buffers)
    rng = np.random.default_rng(SEED)
    width = n_valid if src is None else src.max_outputs
    vectors = rng.integers(0, 2, (9, width), dtype=np.uint8)
    want = [to_int(b) for b in input_beats(pad_inputs(vectors[:, :n_valid], dst), dst).reshape(-1, dst.input_width)]
    for in_busy, out_busy in ((0.0, 0.0), (0.3, 0.5), (0.6, 0.1)):
        got, _, samples = run_link(link, src, dst, vectors, in_busy, out_busy)
        assert got == want, f"in_busy={in_busy} out_busy={out_busy}"
        for full, ready, valid, held in samples:
            assert ready == 1 - full                      # full: cannot take
            assert full == (held == buffers)              # ... exactly when every buffer holds a vector
            assert valid == (held > 0)                    # out.valid: some vector is held


@pytest.mark.parametrize("case", LINKS)
def test_two_buffers_overlap_collecting_and_emitting(case):
    """Free-running (source always valid, sink always ready): one buffer passes a vector every
    ``in + out`` beats (its span), two every ``max(in, out)``."""
    src_cfg, dst_cfg, n_valid = LINKS[case]
    src, dst = (None if src_cfg is None else hw(src_cfg)), hw(dst_cfg)
    beats_in = 1 if src is None else src.output_beats
    width = n_valid if src is None else src.max_outputs
    vectors = np.random.default_rng(SEED).integers(0, 2, (6, width), dtype=np.uint8)
    for buffers, period in ((1, beats_in + dst.input_beats), (2, max(beats_in, dst.input_beats))):
        assert VectorLink.span_for(src, dst) == beats_in + dst.input_beats
        _, left, _ = run_link(VectorLink(n_valid=n_valid, src=src, dst=dst, buffers=buffers), src, dst, vectors)
        assert {b - a for a, b in zip(left, left[1:])} == {period}, (buffers, left)


def test_buffers_where_one_would_bound_the_interval():
    for n in (2, 3, 4, 8, 32):
        par, seq = hw("par2seq", n), hw("seq2par", n)
        pairs = [(None, par), (None, seq), (par, par), (par, seq), (seq, seq), (seq, par)]
        for src, dst in pairs:
            span = VectorLink.span_for(src, dst)
            passes = [Array.cycles_per_pass_for(h) for h in (src, dst) if h is not None]
            assert VectorLink.buffers_for(src, dst) == (1 if span <= max(passes) else 2)
            assert span < 2 * max(passes)                   # two buffers always suffice
        # only a par2seq layer's n output beats followed by a seq2par layer's n input beats
        want = 2 if 2 * n > Array.cycles_per_pass_for(par) else 1
        assert [VectorLink.buffers_for(s, d) for s, d in pairs] == [1, 1, 1, want, 1, 1]
    assert VectorLink(n_valid=4, dst=hw("seq2par", 8), src=hw("par2seq", 8)).buffers == 2
    assert VectorLink(n_valid=4, dst=hw("par2seq", 8), src=hw("par2seq", 8)).buffers == 1
    with pytest.raises(ConfigError, match=r"link buffers must be an integer in \[1, 2\], not 3"):
        VectorLink(n_valid=4, dst=hw("par2seq"), buffers=3)


# -- whole networks -------------------------------------------------------------------------------
def dense_network(sizes, seed, ternary=()):
    """Random dense layers (layer k ternary when k is in ``ternary``), activations mixed."""
    rng = np.random.default_rng(seed)
    layers = []
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        out = "popcount" if k == len(sizes) - 2 else "sign"
        if k in ternary:
            layers.append(Layer.from_ternary(rng.integers(-1, 2, (b, a)).astype(np.int8),
                                             rng.integers(-2, 3, b), output=out, name=f"fc{k + 1}"))
        else:
            layers.append(Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(a // 2 - 2, a // 2 + 3, b),
                                          output=out, name=f"fc{k + 1}"))
    return Network(layers, {"input_threshold": 127})


def conv_front_network(seed):
    """A conv2d layer (4x5x1, 3x3 padding 1, 2x2 pool -> 2x2x4) in front of dense 16 -> 9 -> 4."""
    rng = np.random.default_rng(seed)
    conv = Layer.from_bits(rng.integers(0, 2, (4, 9)), rng.integers(3, 7, 4), kind="conv2d", in_shape=(4, 5, 1),
                           kernel=3, padding=1, pool=2, name="c1")
    dense = dense_network([16, 9, 4], seed + 1).layers
    return Network([conv, *dense], {"input_threshold": 127})


NETWORKS = {f"n8-{'-'.join(c[:3] for c in cfgs)}": (dense_network([20, 9, 7, 4], SEED, ternary=(1,)), 8, list(cfgs))
            for cfgs in itertools.product(["par2seq", "seq2par"], repeat=3)}
NETWORKS["n4-par-seq"] = (dense_network([12, 9, 4], SEED), 4, ["par2seq", "seq2par"])     # 2n == pass: one buffer
NETWORKS["conv-par-seq"] = (conv_front_network(SEED), 6, ["par2seq", "par2seq", "seq2par"])


@pytest.mark.parametrize("case", NETWORKS)
def test_network_interval_is_the_largest_pass(case):
    net, n, configs = NETWORKS[case]
    print(f"seed={SEED} case={case}")
    plans = plan_network(net, n, configs, storage="bitmem")
    timing = network_timing(plans)
    assert timing["initiation_interval"] == max([c["period"] for c in timing.get("conv_layers", [])]
                                                + timing["cycles_per_layer_pass"])
    images = np.random.default_rng(SEED).integers(0, 2, (8, net.input_size), dtype=np.uint8)
    got, taken, done = run_network(net, plans, images)
    np.testing.assert_array_equal(got, golden.network_forward(net, images)[1])
    assert done[0] - taken[0] == timing["cycles_per_inference"]
    assert {b - a for a, b in zip(done, done[1:])} == {timing["initiation_interval"]}
