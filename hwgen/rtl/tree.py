"""The popcount tree of the par2seq configuration: sums the N partial popcounts of a column.

A balanced, registered adder tree: partials presented in cycle c give ``total`` in cycle c+1.
``total`` changes only with valid partials, so a clock-gating flow stops its clock otherwise.

The register sits inside the sum: groups of up to :data:`GROUP` partials are added and
registered, and ``total`` adds the registered group sums after it. A column's whole sum (a
2T2R macro's sensed row, its cell's popcount, then the N partials) is the longest path of a
design, and the comparison with the threshold that follows ``total`` in the next cycle is short:
moving the last addition there buys the clock back (MNIST on sky130hd with the popcounts on
full-adder cells, :mod:`hwgen.flow.synth`: 96.1 MHz with the register after the whole sum, 109.4
MHz with groups of 16, 116.8 MHz with groups of 8) for a few flip-flops, which load when the
total would (groups of 16: 585 more for MNIST, 7,206 in all).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import bits_for, check_int
from .adders import balanced_sum

GROUP = 16      # partials added before the register; the group sums are added after it


class PopcountTree(wiring.Component):
    """Parameters
    ----------
    N : int
        Number of partial popcounts.
    max_partial : int
        Largest value of one partial (n for a cell row); widths follow from it.

    Attributes
    ----------
    partials : In(N * bits(max_partial)), partial k at bits ``k*w +: w``
    valid, hold : In(1)
    total : Out(bits(N * max_partial)); total_valid : Out(1)

    Raises
    ------
    ConfigError
        For a bad N or max_partial.
    """

    latency = 1

    def __init__(self, *, N: int, max_partial: int):
        N, max_partial = check_int("N", N), check_int("max_partial", max_partial)
        self._N, self._max_partial = N, max_partial
        super().__init__({
            "partials": In(N * bits_for(max_partial)),
            "valid": In(1),
            "hold": In(1),
            "total": Out(bits_for(N * max_partial)),
            "total_valid": Out(1),
        })

    N = property(lambda self: self._N)
    max_partial = property(lambda self: self._max_partial)

    def elaborate(self, platform):
        m = Module()
        w, top = bits_for(self._max_partial), self._max_partial
        partials = [self.partials.word_select(k, w) for k in range(self._N)]
        with m.If(~self.hold):
            m.d.sync += self.total_valid.eq(self.valid)
        # group sums hold (unclocked, and without reset: total_valid says when they are one)
        # between valid partials
        held, maxima = [], []
        for g, start in enumerate(range(0, self._N, GROUP)):
            group = partials[start:start + GROUP]
            part, part_max = balanced_sum(m, group, name=f"col_pc_g{g}", max_values=[top] * len(group))
            q = Signal(bits_for(part_max), name=f"group_q{g}", reset_less=True)
            with m.If(~self.hold & self.valid):
                m.d.sync += q.eq(part)
            held.append(q)
            maxima.append(part_max)
        total, _ = balanced_sum(m, held, name="col_pc", max_values=maxima)
        m.d.comb += self.total.eq(total)
        return m
