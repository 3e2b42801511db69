"""Port groups shared by the components. Each is described from the side that drives it
(the host for programming and inputs, the array for outputs); receivers use ``In(...)``."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import index_width


class WriteRowSignature(wiring.Signature):
    """Program one memory row: ``en``, ``row``, ``data`` (n weight bits, 1 = +1), plus

    - ``zero`` (n bits, 1 = the weight is 0) for ternary weights (``ternary=True``); a zero is
      written with its ``data`` bit 0 (:mod:`hwgen.ir`'s encoding);
    - ``cell`` (flat cell index i*M + j) when ``cells`` is given, or ``column`` (a column index)
      when ``columns`` is given (column writes, below);
    - ``lrs``/``hrs`` (n device-state codes each, column b at bits ``b*level_bits +:
      level_bits``) in the behavioural view: the states the SET and the RESET device of every
      pair reach. The write driver routes them by ``data`` (and ``zero``).

    With ``lanes`` > 1 one write carries row ``row`` of ``lanes`` cells (a column write): every
    field but ``en``, ``row`` and the address is ``lanes`` times as wide, cell k's part at
    ``[k*w +: w]`` (w the one-cell width).

    Multi-field ports are flat vectors rather than Amaranth views: a view becomes one alias
    wire per field in Verilog, and Icarus re-propagates every alias on each partial update
    (measured: 17 ms per programming write on a 3x3 array).
    """

    def __init__(self, *, n: int, level_bits: int | None = None, cells: int | None = None,
                 columns: int | None = None, lanes: int = 1, ternary: bool = False):
        if cells is not None and columns is not None:
            raise ConfigError("a write addresses a cell or a column, not both")
        members = {"en": Out(1), "row": Out(index_width(n)), "data": Out(lanes * n)}
        if ternary:
            members["zero"] = Out(lanes * n)
        if cells is not None:
            members["cell"] = Out(index_width(cells))
        if columns is not None:
            members["column"] = Out(index_width(columns))
        if level_bits is not None:
            members["lrs"] = Out(lanes * n * level_bits)
            members["hrs"] = Out(lanes * n * level_bits)
        super().__init__(members)


class ThresholdLoadSignature(wiring.Signature):
    """Load one threshold row: ``en``, ``row``, ``data`` (``lanes`` thresholds; lane k at
    bits ``k*width +: width``)."""

    def __init__(self, *, rows: int, lanes: int, width: int):
        super().__init__({"en": Out(1), "row": Out(index_width(rows)), "data": Out(lanes * width)})


class OutputSignature(wiring.Signature):
    """Activations and popcounts of ``lanes`` neurons per beat, with valid/ready.

    Lane k's popcount is at bits ``k*popcount_width +: popcount_width``. ``index`` numbers
    the beat within a pass and ``last`` marks its final beat.
    """

    def __init__(self, *, lanes: int, popcount_width: int, beats: int):
        super().__init__({
            "valid": Out(1),
            "ready": In(1),
            "act": Out(lanes),
            "popcount": Out(lanes * popcount_width),
            "index": Out(index_width(beats)),
            "last": Out(1),
        })
