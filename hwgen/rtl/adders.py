"""Balanced adder trees with every intermediate sum a named signal.

Naming matters for simulation speed: an unnamed sum is re-emitted inline wherever it is used,
and Icarus then re-evaluates it per bit (measured 19x slower). Balanced trees keep the logic
depth at log2 of the operand count.
"""

from amaranth.hdl import Signal

from ..hwconfig import bits_for


def balanced_sum(m, terms, *, name: str, max_values=None):
    """Add ``terms`` (values) pairwise, level by level, into named combinational signals.

    ``max_values`` gives the largest value each term can take (default: all ones of its
    width); widths follow from it, so no bit is wasted and none is lost. Returns
    ``(signal, max_value)``.
    """
    terms = list(terms)
    if not terms:
        raise ValueError("balanced_sum needs at least one term")
    if max_values is None:
        max_values = [(1 << len(t)) - 1 for t in terms]
    level = list(zip(terms, max_values))
    depth = 0
    while len(level) > 1:
        nxt = []
        for k in range(0, len(level) - 1, 2):
            (a, amax), (b, bmax) = level[k], level[k + 1]
            total = amax + bmax
            s = Signal(bits_for(total), name=f"{name}_l{depth}_{k // 2}")
            m.d.comb += s.eq(a + b)
            nxt.append((s, total))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    return level[0]
