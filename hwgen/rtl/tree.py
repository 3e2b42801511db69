"""The popcount tree of the par2seq configuration: sums the N partial popcounts of a column.

A balanced, registered adder tree: partials presented in cycle c give ``total`` in cycle c+1.
``total`` changes only with valid partials, so a clock-gating flow stops its clock otherwise.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import bits_for, check_int
from .adders import balanced_sum


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
        w = bits_for(self._max_partial)
        total, _ = balanced_sum(m, [self.partials.word_select(k, w) for k in range(self._N)], name="col_pc",
                                max_values=[self._max_partial] * self._N)
        with m.If(~self.hold):
            m.d.sync += self.total_valid.eq(self.valid)
        # a total holds (unclocked, and without reset: total_valid says when it is one) between
        # valid partials
        total_q = Signal(len(self.total), name="total_q", reset_less=True)
        m.d.comb += self.total.eq(total_q)
        with m.If(~self.hold & self.valid):
            m.d.sync += total_q.eq(total)
        return m
