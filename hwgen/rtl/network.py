"""Whole-network top: one :class:`Array` per dense layer, chained by :class:`VectorLink`s, ending
in :class:`ArgmaxOut`, behind the network's conv layers (:class:`ConvLayer`, each handing its
output feature map to the next in one cycle). Layers run back to back and, on consecutive
images, at the same time.

Ports (Verilog names in brackets; README "Interfaces"):

- ``prog`` [prog__en, prog__cell, prog__row, prog__data, prog__zero, prog__lrs, prog__hrs]: one
  memory row of global cell ``cell`` (layer k's cells start at its ``cell_offset``; within a
  layer, ``i*M + j``) per cycle. ``zero`` (the zero plane, 1 = weight 0) exists when some layer is
  ternary and goes to the ternary layers only; each layer takes the fields of its own port.
  With ``column_writes`` (the network harness's boot) [prog__en, prog__column, prog__row,
  prog__data, prog__zero, prog__lrs, prog__hrs]: row ``row`` of all N cells of global column
  ``column`` per cycle (layer k's columns start at ``column_offsets_for(plans)[k]``; within a
  layer, ``r*M + j`` for replica r's column j). The fields hold ``N_max`` cells' rows (the
  largest N of the layers; cell i's part of ``data``/``zero`` at ``[i*n +: n]``, of ``lrs``/``hrs``
  at ``[i*n*level_bits +: n*level_bits]``); a layer with fewer cells per column takes the low parts.
- ``thr`` [thr__en, thr__layer, thr__row, thr__data]: one threshold row of one layer; the
  layer's ``M`` thresholds sit in the low bits of ``data``.
- ``inp`` [inp__valid, inp__ready, inp__payload]: one input vector (bit i = input i; a conv
  network's input feature map in (y, x, c) order) per beat.
- ``out`` [out__valid, out__ready, out__cls, out__popcount]: the class (argmax of the last
  layer's popcounts, lowest index on ties) and every class's popcount. A ternary output layer
  gives ``Q = score + max_inputs`` (:attr:`hwgen.hwconfig.HwConfig.score_offset`, equal for every
  class, so the argmax is the score's).
- ``busy``: some layer, link or the output stage still holds work. ``prog`` and ``thr`` writes
  are ignored while ``busy`` is high (a write in the cycle an image is accepted still lands,
  before that image reaches any layer).
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import carries_codes, index_width
from .argmax import ArgmaxOut, ClassSignature
from .array import Array
from .conv import ConvLayer
from .link import VectorLink
from .signatures import WriteRowSignature


class NetworkTop(wiring.Component):
    """Parameters
    ----------
    plans : list of :class:`hwgen.netplan.LayerPlan`
        All with the same n, storage and level_bits.
    shared_cells : bool
        Passed to every :class:`Array` (shared column modules; see :mod:`.column`).
    column_writes : bool
        ``prog`` writes a row of a whole column of cells per cycle (module docstring); passed to
        every layer. False (default): one cell's row per cycle.

    Attributes
    ----------
    prog, thr, inp, out, busy : see module docstring.
    """

    def __init__(self, *, plans, shared_cells: bool = True, column_writes: bool = False):
        if not plans:
            raise ConfigError("a network needs at least one layer")
        first = plans[0].hw
        for p in plans:
            if (p.hw.n, p.hw.storage, p.hw.level_bits) != (first.n, first.storage, first.level_bits):
                raise ConfigError(f"layer {p.index} has n/storage/level_bits {p.hw.n}/{p.hw.storage}/"
                                  f"{p.hw.level_bits}, layer 0 {first.n}/{first.storage}/{first.level_bits}: "
                                  f"all layers share them")
        for a, b in zip(plans, plans[1:]):
            if a.out_size != b.in_size:
                raise ConfigError(f"layer {a.index} gives {a.out_size} outputs, layer {b.index} takes {b.in_size}")
        n_conv = sum(p.conv is not None for p in plans)
        if any(p.conv is None for p in plans[:n_conv]) or plans[-1].conv is not None:
            raise ConfigError("conv layers must come first and a dense layer last")
        self._plans = list(plans)
        convs, dense = plans[:n_conv], plans[n_conv:]
        if not isinstance(column_writes, bool):
            raise ConfigError(f"column_writes must be True or False, not {column_writes!r}")
        self._column_writes = column_writes
        self.convs = [ConvLayer(geometry=p.conv, hw=p.hw, parallel=p.parallel, shared_cells=shared_cells,
                                column_writes=column_writes)
                      for p in convs]
        self.arrays = [Array(**p.hw.as_dict(), shared_cells=shared_cells, column_writes=column_writes)
                       for p in dense]
        self.links = [VectorLink(n_valid=dense[0].n_inputs, dst=dense[0].hw)]
        self.links += [VectorLink(n_valid=a.n_outputs, src=a.hw, dst=b.hw) for a, b in zip(dense, dense[1:])]
        self.argmax = ArgmaxOut(classes=plans[-1].n_outputs, src=plans[-1].hw)
        self._total_cells = self.cells_for(plans)
        self._thr_width = self.threshold_width_for(plans)
        self._thr_rows = max(p.hw.threshold_rows for p in plans)
        behavioural = carries_codes(first.storage)
        address = ({"columns": self.columns_for(plans), "lanes": self.column_lanes_for(plans)} if column_writes
                   else {"cells": self._total_cells})
        super().__init__({
            "prog": In(WriteRowSignature(n=first.n, **address,
                                         level_bits=first.level_bits if behavioural else None,
                                         ternary=self.has_ternary_for(plans))),
            "thr": In(wiring.Signature({"en": Out(1), "layer": Out(index_width(len(plans))),
                                        "row": Out(index_width(self._thr_rows)), "data": Out(self._thr_width)})),
            "inp": In(stream.Signature(plans[0].in_size)),
            "out": Out(ClassSignature(classes=plans[-1].n_outputs, popcount_width=plans[-1].hw.popcount_width)),
            "busy": Out(1),
        })

    @staticmethod
    def has_ternary_for(plans) -> bool:
        """Some layer is ternary: ``prog`` then has the ``zero`` field (binary layers ignore it)."""
        return any(p.hw.is_ternary for p in plans)

    @staticmethod
    def cells_for(plans) -> int:
        return sum(p.cells for p in plans)

    @staticmethod
    def columns_for(plans) -> int:
        """Cell columns of the network (every replica's): the ``prog.column`` range of column writes."""
        return sum(p.parallel * p.hw.M for p in plans)

    @staticmethod
    def column_offsets_for(plans) -> list[int]:
        """First global column of each layer (column writes)."""
        offsets = [0]
        for p in plans[:-1]:
            offsets.append(offsets[-1] + p.parallel * p.hw.M)
        return offsets

    @staticmethod
    def column_lanes_for(plans) -> int:
        """Cells per column write: the largest N of the layers."""
        return max(p.hw.N for p in plans)

    @staticmethod
    def threshold_width_for(plans) -> int:
        """Width of ``thr.data``: the widest layer's threshold row."""
        return max(p.hw.M * p.hw.threshold_width for p in plans)

    plans = property(lambda self: list(self._plans))
    total_cells = property(lambda self: self._total_cells)
    threshold_width = property(lambda self: self._thr_width)
    column_writes = property(lambda self: self._column_writes)

    def cell_modules(self) -> dict:
        """Shared modules the arrays instantiate: ``{module name: component to emit}``, each once."""
        modules = {}
        for array in self.arrays + [c.arrays[0] for c in self.convs]:
            if array.columns and array.columns[0].module_name not in modules:
                modules.update(array.cell_modules())
        return modules

    def elaborate(self, platform):
        m = Module()
        busy_terms = []
        # Writes are refused while any layer, link or the output stage holds an image, as an
        # array refuses them while it computes: a write to an idle layer would otherwise change
        # the weights under an image that has not reached it yet.
        prog_en, thr_en = Signal(name="prog_en"), Signal(name="thr_en")
        m.d.comb += [prog_en.eq(self.prog.en & ~self.busy), thr_en.eq(self.thr.en & ~self.busy)]
        layers = self.convs + self.arrays
        column_offsets = self.column_offsets_for(self._plans)
        for k, (plan, layer) in enumerate(zip(self._plans, layers)):
            # conv_<k>: the flow tells the frame store and im2col unit from the arrays by it
            m.submodules[f"conv_{k}" if plan.conv is not None else f"layer{k}"] = layer
            if self._column_writes:     # global column -> the layer's column; fields: the low N lanes
                address, offset, span = "column", column_offsets[k], plan.parallel * plan.hw.M
            else:
                address, offset, span = "cell", plan.cell_offset, plan.cells
            at = getattr(self.prog, address)
            local = Signal(index_width(span), name=f"prog_{address}_l{k}")
            mine = Signal(name=f"prog_hit_l{k}")
            m.d.comb += [mine.eq((at >= offset) & (at < offset + span)),
                         local.eq(at - offset)]
            m.d.comb += [getattr(layer.prog, name).eq(getattr(self.prog, name))
                         for name in layer.prog.signature.members if name not in ("en", address)]
            m.d.comb += [layer.prog.en.eq(prog_en & mine), getattr(layer.prog, address).eq(local)]
            m.d.comb += [layer.thr.en.eq(thr_en & (self.thr.layer == k)),
                         layer.thr.row.eq(self.thr.row),
                         layer.thr.data.eq(self.thr.data[:len(layer.thr.data)])]
            busy_terms.append(layer.busy)
        for k, (array, link) in enumerate(zip(self.arrays, self.links)):
            m.submodules[f"link{len(self.convs) + k}"] = link
            wiring.connect(m, link.out, array.inp)
            busy_terms.append(link.out.valid)       # the link holds a vector (``full``: it cannot take one)
        stages = self.convs + [self.links[0]]
        wiring.connect(m, wiring.flipped(self.inp), stages[0].inp)
        for a, b in zip(stages, stages[1:]):
            wiring.connect(m, a.out, b.inp)
        for array, link in zip(self.arrays, self.links[1:]):
            wiring.connect(m, array.out, link.inp)
        m.submodules.argmax = self.argmax
        wiring.connect(m, self.arrays[-1].out, self.argmax.inp)
        wiring.connect(m, self.argmax.out, wiring.flipped(self.out))
        m.d.comb += self.busy.eq(Cat(busy_terms + [self.argmax.out.valid]).any())
        return m
