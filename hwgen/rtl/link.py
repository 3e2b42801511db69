"""Glue between layers: collect one layer's outputs into a vector, hand it to the next layer.

``VectorLink`` takes either a plain input stream (one beat holding the network's input vector)
or an :class:`Array`'s output beats (``act`` lanes placed by ``index``), holds the collected
vector, and emits it as the next array's input beats: the first ``n_valid`` bits, padded with
ones up to the next array's ``max_inputs`` (the padding convention of :mod:`hwgen.mapping`),
sliced into ``input_beats`` beats. While it holds a vector it is not ready, which back-pressures
the layer before; it takes a new vector the cycle after its last beat leaves, so consecutive
layers work on consecutive images at the same time.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import HwConfig, check_int
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

    Attributes
    ----------
    inp : In(stream of n_valid bits)  (src is None)  or  In(OutputSignature of src)
    out : Out(stream of dst.input_width bits)
    full : Out(1), a vector is held
    """

    def __init__(self, *, n_valid: int, dst: HwConfig, src: HwConfig | None = None):
        n_valid = check_int("n_valid", n_valid)
        if n_valid > dst.max_inputs:
            raise ConfigError(f"{n_valid} bits do not fit the next array's {dst.max_inputs} inputs")
        if src is not None and n_valid > src.max_outputs:
            raise ConfigError(f"{n_valid} neurons exceed the previous array's {src.max_outputs} outputs")
        self._n_valid, self._src, self._dst = n_valid, src, dst
        inp = (In(stream.Signature(n_valid)) if src is None else
               In(OutputSignature(lanes=src.output_lanes, popcount_width=src.popcount_width, beats=src.output_beats)))
        super().__init__({"inp": inp, "out": Out(stream.Signature(dst.input_width)), "full": Out(1)})

    def elaborate(self, platform):
        m = Module()
        src, dst, n_valid = self._src, self._dst, self._n_valid
        width = n_valid if src is None else src.max_outputs
        vec = Signal(width, name="vec")
        take = Signal(name="take")
        m.d.comb += [self.inp.ready.eq(~self.full), take.eq(self.inp.valid & self.inp.ready)]
        if src is None:
            with m.If(take):
                m.d.sync += [vec.eq(self.inp.payload), self.full.eq(1)]
        else:
            lanes = src.output_lanes
            with m.If(take):
                m.d.sync += vec.word_select(self.inp.index, lanes).eq(self.inp.act)
            with m.If(take & self.inp.last):
                m.d.sync += self.full.eq(1)

        padded = Signal(dst.max_inputs, name="padded")
        pad = dst.max_inputs - n_valid
        m.d.comb += padded.eq(Cat(vec[:n_valid], Const((1 << pad) - 1, pad)) if pad else vec[:n_valid])
        m.d.comb += self.out.valid.eq(self.full)
        if dst.input_beats == 1:
            m.d.comb += self.out.payload.eq(padded)
            with m.If(self.out.valid & self.out.ready):
                m.d.sync += self.full.eq(0)
        else:
            beat = Signal(range(dst.input_beats), name="beat")
            m.d.comb += self.out.payload.eq(padded.word_select(beat, dst.input_width))
            with m.If(self.out.valid & self.out.ready):
                m.d.sync += beat.eq(beat + 1)
                with m.If(beat == dst.input_beats - 1):
                    m.d.sync += [beat.eq(0), self.full.eq(0)]
        return m
