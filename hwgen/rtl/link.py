"""Glue between layers: collect one layer's outputs into a vector, hand it to the next layer.

``VectorLink`` takes either a plain input stream (one beat holding the network's input vector)
or an :class:`Array`'s output beats (``act`` lanes placed by ``index``), collects the vector,
and emits it as the next array's input beats: the first ``n_valid`` bits, padded with ones up
to the next array's ``max_inputs`` (the padding convention of :mod:`hwgen.mapping`), sliced
into ``input_beats`` beats. A collected vector goes out from the cycle after its last beat came
in, so consecutive layers work on consecutive images at the same time.

A link has one or two vector buffers (``buffers``). With one, it takes the next vector only
after the last beat of the held one has left, so collecting and emitting take turns: one
vector occupies the link for its *span*, ``src.output_beats + dst.input_beats`` cycles (the
input link: ``1 + dst.input_beats``), and the span bounds the network's initiation interval.
With two (ping-pong), it collects the next vector into one buffer while it emits the other, so
a span only has to fit two intervals. :meth:`VectorLink.buffers_for` takes two exactly where a
span exceeds both neighbours' ``cycles_per_pass`` (a par2seq layer's n output beats followed by
a seq2par layer's n input beats: 2n), so no link bounds the interval and the others cost no
second buffer (``n_valid`` flip-flops, plus the second buffer's flag and the two buffer
pointers). Vectors leave in the order they came.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import HwConfig, check_int
from .array import Array
from .signatures import OutputSignature


class VectorLink(wiring.Component):
    """Parameters
    ----------
    n_valid : int
        Meaningful bits of the collected vector (the previous layer's neurons, or the input size).
    dst : HwConfig
        The array fed by this link.
    src : HwConfig or None
        The array whose outputs are collected; ``None`` for the network input stream.
    buffers : int or None
        Vector buffers, 1 or 2; ``None``: :meth:`buffers_for` ``(src, dst)``.

    Attributes
    ----------
    inp : In(stream of n_valid bits)  (src is None)  or  In(OutputSignature of src)
    out : Out(stream of dst.input_width bits); ``out.valid``: the link holds a collected vector
    full : Out(1), every buffer holds a collected vector: the link cannot take (``inp.ready`` is
        ``~full``); a vector still being collected does not count
    """

    def __init__(self, *, n_valid: int, dst: HwConfig, src: HwConfig | None = None, buffers: int | None = None):
        n_valid = check_int("n_valid", n_valid)
        if n_valid > dst.max_inputs:
            raise ConfigError(f"{n_valid} bits do not fit the next array's {dst.max_inputs} inputs")
        if src is not None and n_valid > src.max_outputs:
            raise ConfigError(f"{n_valid} neurons exceed the previous array's {src.max_outputs} outputs")
        buffers = self.buffers_for(src, dst) if buffers is None else check_int("link buffers", buffers, 1, 2)
        self._n_valid, self._src, self._dst, self._buffers = n_valid, src, dst, buffers
        inp = (In(stream.Signature(n_valid)) if src is None else
               In(OutputSignature(lanes=src.output_lanes, popcount_width=src.popcount_width, beats=src.output_beats)))
        super().__init__({"inp": inp, "out": Out(stream.Signature(dst.input_width)), "full": Out(1)})

    buffers = property(lambda self: self._buffers)

    @staticmethod
    def span_for(src: HwConfig | None, dst: HwConfig) -> int:
        """Cycles one vector occupies a buffer when nothing waits: its beats in, then its beats out."""
        return (1 if src is None else src.output_beats) + dst.input_beats

    @staticmethod
    def buffers_for(src: HwConfig | None, dst: HwConfig) -> int:
        """2 where one buffer would bound the initiation interval: the span exceeds both
        neighbours' ``cycles_per_pass`` (then it is under their sum minus their latencies, so
        two buffers never bound it); 1 elsewhere."""
        passes = [Array.cycles_per_pass_for(hw) for hw in (src, dst) if hw is not None]
        return 1 if VectorLink.span_for(src, dst) <= max(passes) else 2

    def elaborate(self, platform):
        m = Module()
        src, dst, n_valid, nbuf = self._src, self._dst, self._n_valid, self._buffers
        width = n_valid if src is None else src.max_outputs
        # data registers: no reset (``held`` says which hold a vector), so clock gating can stop them
        vecs = [Signal(width, name=f"vec{b}", reset_less=True) for b in range(nbuf)]
        held = Signal(nbuf, name="held")            # buffer b holds a collected vector
        take = Signal(name="take")
        take_last = Signal(name="take_last")        # the beat that completes a vector
        give = Signal(name="give")
        give_last = Signal(name="give_last")        # the beat that empties a buffer
        two = nbuf == 2
        wr = Signal(name="wr_sel") if two else None     # buffer being collected
        rd = Signal(name="rd_sel") if two else None     # buffer being emitted (the older vector)
        m.d.comb += [self.full.eq(held.all()), self.inp.ready.eq(~self.full),
                     take.eq(self.inp.valid & self.inp.ready),
                     take_last.eq(take if src is None else take & self.inp.last)]

        # ---- collect into buffer wr ----
        def sel(ptr, b):            # ptr points at buffer b (one buffer: always)
            return (ptr == b) if two else 1

        for b, vec in enumerate(vecs):
            we = Signal(name=f"we{b}")
            m.d.comb += we.eq(take & sel(wr, b))
            with m.If(we):
                if src is None:
                    m.d.sync += vec.eq(self.inp.payload)
                else:
                    m.d.sync += vec.word_select(self.inp.index, src.output_lanes).eq(self.inp.act)
        if two:
            with m.If(take_last):
                m.d.sync += wr.eq(~wr)
            with m.If(give_last):
                m.d.sync += rd.eq(~rd)
        for b in range(nbuf):
            # set and clear never meet on one buffer: wr == rd means both empty or both full
            with m.If(take_last & sel(wr, b)):
                m.d.sync += held[b].eq(1)
            with m.If(give_last & sel(rd, b)):
                m.d.sync += held[b].eq(0)

        # ---- emit buffer rd ----
        cur = Signal(width, name="cur")
        m.d.comb += cur.eq(Mux(rd, vecs[1], vecs[0]) if two else vecs[0])
        padded = Signal(dst.max_inputs, name="padded")
        pad = dst.max_inputs - n_valid
        m.d.comb += padded.eq(Cat(cur[:n_valid], Const((1 << pad) - 1, pad)) if pad else cur[:n_valid])
        # buffers fill and empty in turn, so the one at rd is held whenever any is
        m.d.comb += [self.out.valid.eq(held.any()), give.eq(self.out.valid & self.out.ready)]
        if dst.input_beats == 1:
            m.d.comb += [self.out.payload.eq(padded), give_last.eq(give)]
        else:
            beat = Signal(range(dst.input_beats), name="beat")
            m.d.comb += [self.out.payload.eq(padded.word_select(beat, dst.input_width)),
                         give_last.eq(give & (beat == dst.input_beats - 1))]
            with m.If(give):
                m.d.sync += beat.eq(Mux(beat == dst.input_beats - 1, 0, beat + 1))
        return m
