"""Port groups of the batch harness, described from the host (the testbench) side."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import index_width

STAMP_WIDTH = 32        # cycle stamps and counters: 4 G cycles per batch


class LoadSignature(wiring.Signature):
    """Write word ``addr`` of a preloaded memory: ``en``, ``addr``, ``data``."""

    def __init__(self, *, depth: int, width: int):
        super().__init__({"en": Out(1), "addr": Out(index_width(depth)), "data": Out(width)})


class ReadbackSignature(wiring.Signature):
    """Read entry ``addr`` back, combinationally: the captured ``data`` word, and the cycle stamps
    of item ``addr`` (``in_cycle``: its first input word was taken; ``out_cycle``: it was done)."""

    def __init__(self, *, depth: int, width: int):
        super().__init__({"addr": Out(index_width(depth)), "data": In(width),
                          "in_cycle": In(STAMP_WIDTH), "out_cycle": In(STAMP_WIDTH)})
