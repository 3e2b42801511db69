"""Output stage: collect the last layer's popcounts and pick the class (argmax).

Ties go to the lowest neuron index, as ``numpy.argmax`` in the golden model does. The compare
tree is balanced (log2 depth) and every stage is a named signal.
"""

from amaranth.hdl import Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import HwConfig, check_int, index_width
from .signatures import OutputSignature


class ClassSignature(wiring.Signature):
    """The network's result stream: ``valid``/``ready``, ``cls`` (argmax) and every class's
    ``popcount`` (class k at bits ``k*width +: width``)."""

    def __init__(self, *, classes: int, popcount_width: int):
        super().__init__({"valid": Out(1), "ready": In(1), "cls": Out(index_width(classes)),
                          "popcount": Out(classes * popcount_width)})


class ArgmaxOut(wiring.Component):
    """Parameters
    ----------
    classes : int
        Meaningful neurons of the last layer.
    src : HwConfig
        The last layer's array.

    Attributes
    ----------
    inp : In(OutputSignature of src); out : Out(ClassSignature)
    """

    def __init__(self, *, classes: int, src: HwConfig):
        classes = check_int("classes", classes, 1, src.max_outputs)
        self._classes, self._src = classes, src
        super().__init__({
            "inp": In(OutputSignature(lanes=src.output_lanes, popcount_width=src.popcount_width,
                                      beats=src.output_beats)),
            "out": Out(ClassSignature(classes=classes, popcount_width=src.popcount_width)),
        })

    def elaborate(self, platform):
        m = Module()
        src, classes = self._src, self._classes
        pw, lanes = src.popcount_width, src.output_lanes
        # The collected popcounts are loaded only with a beat, so clock gating stops them between
        # results. They are output ports (held at 0 after reset, as the RTL simulation shows them),
        # so the reset clears them through the enable, not over it: a register whose reset
        # overrides its enable needs the clock in every cycle.
        pcs = Signal(src.max_outputs * pw, name="pcs", reset_less=True)
        take = Signal(name="take")
        rst = ResetSignal()
        m.d.comb += [self.inp.ready.eq(~self.out.valid), take.eq(self.inp.valid & self.inp.ready)]
        for k in range(src.output_beats):
            with m.If(rst | (take & (self.inp.index == k))):
                m.d.sync += pcs.word_select(k, lanes * pw).eq(Mux(rst, 0, self.inp.popcount))
        with m.If(take & self.inp.last):
            m.d.sync += self.out.valid.eq(1)
        with m.If(self.out.valid & self.out.ready):
            m.d.sync += self.out.valid.eq(0)

        # balanced compare tree of (index, value); the left (lower index) wins ties
        level = [(k, pcs.word_select(k, pw)) for k in range(classes)]
        depth = 0
        while len(level) > 1:
            nxt = []
            for k in range(0, len(level) - 1, 2):
                (ia, va), (ib, vb) = level[k], level[k + 1]
                right = Signal(name=f"amax_l{depth}_{k // 2}_right")
                idx = Signal(index_width(classes), name=f"amax_l{depth}_{k // 2}_idx")
                val = Signal(pw, name=f"amax_l{depth}_{k // 2}_val")
                m.d.comb += [right.eq(vb > va), idx.eq(Mux(right, ib, ia)), val.eq(Mux(right, vb, va))]
                nxt.append((idx, val))
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
            depth += 1
        m.d.comb += [self.out.cls.eq(level[0][0]), self.out.popcount.eq(pcs[:classes * pw])]
        return m
