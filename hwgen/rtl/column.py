"""A column of N basic cells, the unit that a large array shares as one Verilog module.

Amaranth elaborates every component instance into its own Verilog module, so a network built
from cell components has one module per cell (1856 for MNIST), each compiled on its own. A
column (N cells: one per input slice, sharing the row address and control) is one module per
distinct N: the MNIST network becomes 65 instances of 2 modules, which the generator marks for
Verilator not to inline (:func:`hwgen.generate.column_marks`).

``CellColumn`` is the column itself (elaborated once by the generator, as the module
``column_module_name(...)``); ``SharedColumn`` has the same ports and elaborates to an instance
of that module. Weights of a shared column arrive through the programming port. A ternary
column (``weights="ternary"``) is another module (name suffix ``_ternary``): its programming port
has ``zero`` and its counts are one bit wider (:mod:`.cell`).

Column writes (``column_writes=True``, module name suffix ``_colwrite``; the network harness's
boot): ``prog`` carries row ``row`` of all N cells in one write, cell i's part of every field at
``[i*w +: w]`` (``data``/``zero``: w = n; ``lrs``/``hrs``: w = n*level_bits), and there is no
``prog_sel``: every cell takes its own static slice when ``prog.en`` is high (the array enables
only the addressed column). Otherwise ``prog`` is one cell's row, broadcast, and ``prog_sel``
picks the cell(s) that take it. Either way a write lands at the clock edge of the cycle ``en`` is
high.
"""

from amaranth.hdl import Cat, ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import CELLS_BOUNDS, CONFIGS, N_BOUNDS, bits_for, carries_codes, check_int, check_weights, index_width
from .cell import BasicCell, cell_count_max, read_flags
from .signatures import WriteRowSignature


def column_module_name(n: int, N: int, config: str, storage: str, level_bits: int, weights: str = "binary",
                       column_writes: bool = False) -> str:
    levels = f"_k{level_bits}" if carries_codes(storage) else ""
    return (f"hwgen_col_{config}_n{n}_N{N}_{storage}{levels}" + ("_ternary" if weights == "ternary" else "")
            + ("_colwrite" if column_writes else ""))


def column_signature(n: int, N: int, config: str, storage: str, level_bits: int,
                     weights: str = "binary", column_writes: bool = False) -> wiring.Signature:
    width = bits_for(cell_count_max(n, config == "seq2par", weights))
    prog = WriteRowSignature(n=n, level_bits=level_bits if carries_codes(storage) else None,
                             ternary=weights == "ternary", lanes=N if column_writes else 1)
    # cell mode: prog_sel says which cell(s) of the column take the write
    sel = {} if column_writes else {"prog_sel": In(N)}
    return wiring.Signature({
        "prog": In(prog),
        **sel,
        "rd_en": In(1),
        "rd_row": In(index_width(n)),
        "x": In(N * n if config == "par2seq" else n),   # par2seq: cell i gets x[i*n +: n]
        "first": In(1),
        "hold": In(1),
        "count": Out(N * width),                    # cell i's count at bits i*width +: width
        "count_valid": Out(1),
    })


def _check(n, N, config, weights="binary", column_writes=False):
    check_int("n", n, *N_BOUNDS)
    check_int("N", N, *CELLS_BOUNDS)
    if config not in CONFIGS:
        raise ConfigError(f"config must be one of {', '.join(CONFIGS)}, not {config!r}")
    check_weights(weights)
    if not isinstance(column_writes, bool):
        raise ConfigError(f"column_writes must be True or False, not {column_writes!r}")


class CellColumn(wiring.Component):
    """Parameters
    ----------
    n, N, config, storage, level_bits, weights : see :class:`hwgen.hwconfig.HwConfig`.
    column_writes : bool
        ``prog`` writes row ``row`` of every cell at once (see the module docstring).
    init : list of N array-likes (n, n), optional
        Initial weights of each cell (:class:`BasicCell`'s ``init``); an array whose cells are
        elaborated in place (not a shared module) takes them.

    Attributes
    ----------
    prog, prog_sel : row write into the cells selected by ``prog_sel`` (when ``prog.en``); with
        column writes, ``prog`` only: row ``row`` of every cell (cell i's slice)
    rd_en, rd_row, x, first, hold : as :class:`BasicCell`, shared by the column
    count : Out(N counts); count_valid : Out(1)
    """

    def __init__(self, *, n: int, N: int, config: str, storage: str = "behavioural", level_bits: int = 4,
                 weights: str = "binary", column_writes: bool = False, init=None):
        _check(n, N, config, weights, column_writes)
        if init is not None and len(init) != N:
            raise ConfigError(f"init must hold the contents of the column's {N} cells, not {len(init)}")
        self._n, self._N, self._config = n, N, config
        self._column_writes = column_writes
        self.cells = [BasicCell(n=n, accumulate=config == "seq2par", storage=storage, level_bits=level_bits,
                                weights=weights, control="shared", init=None if init is None else init[i])
                      for i in range(N)]
        super().__init__(column_signature(n, N, config, storage, level_bits, weights, column_writes))

    column_writes = property(lambda self: self._column_writes)

    def elaborate(self, platform):
        m = Module()
        n = self._n
        # the read's flags, registered once for the N cells (which share the read)
        live = ~self.hold
        sense_valid, sense_first = read_flags(m, self.rd_en, self.first, live)
        if self._config == "par2seq":           # counts of the sensed row: no counter register
            m.d.comb += self.count_valid.eq(sense_valid)
        else:
            with m.If(live):
                m.d.sync += self.count_valid.eq(sense_valid)
        for i, cell in enumerate(self.cells):
            m.submodules[f"cell_{i}"] = cell
            if self._column_writes:
                # cell i's static slice of every per-cell field (data, zero, lrs, hrs)
                for name in cell.prog.signature.members:
                    if name not in ("en", "row"):
                        part = getattr(cell.prog, name)
                        m.d.comb += part.eq(getattr(self.prog, name).word_select(i, len(part)))
                m.d.comb += [cell.prog.row.eq(self.prog.row), cell.prog.en.eq(self.prog.en)]
            else:
                m.d.comb += [getattr(cell.prog, name).eq(getattr(self.prog, name))
                             for name in cell.prog.signature.members if name != "en"]
                m.d.comb += cell.prog.en.eq(self.prog.en & self.prog_sel[i])
            m.d.comb += [cell.rd_en.eq(self.rd_en), cell.rd_row.eq(self.rd_row), cell.first.eq(self.first),
                         cell.hold.eq(self.hold), cell.sense_valid.eq(sense_valid), cell.sense_first.eq(sense_first),
                         cell.x.eq(self.x.word_select(i, n) if self._config == "par2seq" else self.x)]
        m.d.comb += self.count.eq(Cat(cell.count for cell in self.cells))
        return m


class SharedColumn(wiring.Component):
    """Same parameters and ports as :class:`CellColumn`; an instance of its shared module."""

    def __init__(self, *, n: int, N: int, config: str, storage: str = "behavioural", level_bits: int = 4,
                 weights: str = "binary", column_writes: bool = False):
        _check(n, N, config, weights, column_writes)
        self._params = dict(n=n, N=N, config=config, storage=storage, level_bits=level_bits, weights=weights,
                            column_writes=column_writes)
        self._module = column_module_name(n, N, config, storage, level_bits, weights, column_writes)
        super().__init__(column_signature(n, N, config, storage, level_bits, weights, column_writes))

    module_name = property(lambda self: self._module)

    def module(self) -> CellColumn:
        """The component whose Verilog is the shared module."""
        return CellColumn(**self._params)

    def elaborate(self, platform):
        m = Module()
        ports = {"i_clk": ClockSignal("sync"), "i_rst": ResetSignal("sync")}
        for path, member, value in self.signature.flatten(self):
            ports[("i_" if member.flow == wiring.In else "o_") + "__".join(str(p) for p in path)] = value
        m.submodules.column = Instance(self._module, **ports)
        return m
