"""Whole-network top: one :class:`Array` per dense layer, chained by :class:`VectorLink`s, ending
in :class:`ArgmaxOut`, behind the network's conv layers (:class:`ConvLayer`, each handing its
output feature map to the next in one cycle). Layers run back to back and, on consecutive
images, at the same time.

Ports (Verilog names in brackets; README "Interfaces"):

- ``prog`` [prog__en, prog__cell, prog__row, prog__data, prog__zero, prog__lrs, prog__hrs]: one
  memory row of global cell ``cell`` (layer k's cells start at its ``cell_offset``; within a
  layer, ``i*M + j``) per cycle. ``zero`` (the zero plane, 1 = weight 0) exists when some layer is
  ternary and goes to the ternary layers only; each layer takes the fields of its own port.
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
from ..hwconfig import index_width
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

    Attributes
    ----------
    prog, thr, inp, out, busy : see module docstring.
    """

    def __init__(self, *, plans, shared_cells: bool = True):
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
        self.convs = [ConvLayer(geometry=p.conv, hw=p.hw, parallel=p.parallel, shared_cells=shared_cells)
                      for p in convs]
        self.arrays = [Array(**p.hw.as_dict(), shared_cells=shared_cells) for p in dense]
        self.links = [VectorLink(n_valid=dense[0].n_inputs, dst=dense[0].hw)]
        self.links += [VectorLink(n_valid=a.n_outputs, src=a.hw, dst=b.hw) for a, b in zip(dense, dense[1:])]
        self.argmax = ArgmaxOut(classes=plans[-1].n_outputs, src=plans[-1].hw)
        self._total_cells = self.cells_for(plans)
        self._thr_width = self.threshold_width_for(plans)
        self._thr_rows = max(p.hw.threshold_rows for p in plans)
        behavioural = first.storage == "behavioural"
        super().__init__({
            "prog": In(WriteRowSignature(n=first.n, cells=self._total_cells,
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
    def threshold_width_for(plans) -> int:
        """Width of ``thr.data``: the widest layer's threshold row."""
        return max(p.hw.M * p.hw.threshold_width for p in plans)

    plans = property(lambda self: list(self._plans))
    total_cells = property(lambda self: self._total_cells)
    threshold_width = property(lambda self: self._thr_width)

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
        for k, (plan, layer) in enumerate(zip(self._plans, layers)):
            # conv_<k>: the flow tells the frame store and im2col unit from the arrays by it
            m.submodules[f"conv_{k}" if plan.conv is not None else f"layer{k}"] = layer
            local = Signal(index_width(plan.cells), name=f"prog_cell_l{k}")
            mine = Signal(name=f"prog_hit_l{k}")
            m.d.comb += [mine.eq((self.prog.cell >= plan.cell_offset) & (self.prog.cell < plan.cell_offset + plan.cells)),
                         local.eq(self.prog.cell - plan.cell_offset)]
            m.d.comb += [getattr(layer.prog, name).eq(getattr(self.prog, name))
                         for name in layer.prog.signature.members if name not in ("en", "cell")]
            m.d.comb += [layer.prog.en.eq(prog_en & mine), layer.prog.cell.eq(local)]
            m.d.comb += [layer.thr.en.eq(thr_en & (self.thr.layer == k)),
                         layer.thr.row.eq(self.thr.row),
                         layer.thr.data.eq(self.thr.data[:len(layer.thr.data)])]
            busy_terms.append(layer.busy)
        for k, (array, link) in enumerate(zip(self.arrays, self.links)):
            m.submodules[f"link{len(self.convs) + k}"] = link
            wiring.connect(m, link.out, array.inp)
            busy_terms.append(link.full)
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
