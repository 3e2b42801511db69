"""Simulation harness of a whole network: programs it from a memory-init file, then runs a
preloaded batch of images with no Python in the per-cycle path.

- **Boot**: a ROM (``hwgen_boot_rom``, plain Verilog reading ``+HWGEN_PROGRAM=<file>`` with
  ``$readmemh``) holds the programming image: one record per weight row (with the device
  codes of both devices of every pair, which is where sampled errors live) and per threshold
  row. After reset the loader writes one record per cycle through the network's own ``prog``
  and ``thr`` ports, then raises ``booted``. A new error map is a new file, not a new build.
- **Run**: the testbench loads images (``ld_*``), sets ``count`` and pulses ``start``; the
  harness streams the images, takes every result, and stamps the cycle each image went in and
  its result came out. ``rd_addr`` reads results and stamps back.

This is a verification fixture, not part of the accelerator.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import bits_for
from .network import NetworkTop

BOOT_ROM = "hwgen_boot_rom"
KIND_END, KIND_WEIGHT, KIND_THRESHOLD = 0, 1, 2


def boot_rom_verilog() -> str:
    return f"""// hwgen boot ROM (simulation only): contents from +HWGEN_PROGRAM=<file> ($readmemh)
module {BOOT_ROM} #(parameter WIDTH = 8, parameter DEPTH = 2, parameter ABITS = 1) (
  input clk,
  input [ABITS-1:0] addr,
  output reg [WIDTH-1:0] data
);
  reg [WIDTH-1:0] mem [0:DEPTH-1];
  reg [8*4096-1:0] file;
  integer k;
  initial begin
    for (k = 0; k < DEPTH; k = k + 1) mem[k] = {{WIDTH{{1'b0}}}};
    data = {{WIDTH{{1'b0}}}};
    if ($value$plusargs("HWGEN_PROGRAM=%s", file)) $readmemh(file, mem);
    else $display("{BOOT_ROM}: no +HWGEN_PROGRAM=<file>; the network stays unprogrammed");
  end
  always @(posedge clk) data <= mem[addr];
endmodule
"""


@dataclass(frozen=True)
class RecordLayout:
    """Bit fields of one programming record (LSB first): kind, target (global cell or layer),
    row, data (weight row or threshold row), lrs codes, hrs codes (behavioural only)."""

    target_bits: int
    row_bits: int
    data_bits: int
    code_bits: int        # n * level_bits, 0 without device codes
    depth: int            # records including the end marker

    @classmethod
    def for_plans(cls, plans) -> "RecordLayout":
        """The layout for a network's layer plans (as :class:`NetworkTop` sizes its ports)."""
        n, hw0 = plans[0].hw.n, plans[0].hw
        rows = sum(p.hw.cells * n + p.hw.threshold_rows for p in plans) + 1
        return cls(target_bits=bits_for(max(NetworkTop.cells_for(plans), len(plans)) - 1),
                   row_bits=bits_for(max(n, max(p.hw.threshold_rows for p in plans)) - 1),
                   data_bits=max(n, NetworkTop.threshold_width_for(plans)),
                   code_bits=n * hw0.level_bits if hw0.storage == "behavioural" else 0,
                   depth=rows)

    @property
    def fields(self) -> list[tuple[str, int]]:
        f = [("kind", 2), ("target", self.target_bits), ("row", self.row_bits), ("data", self.data_bits)]
        return f + ([("lrs", self.code_bits), ("hrs", self.code_bits)] if self.code_bits else [])

    @property
    def width(self) -> int:
        return sum(w for _, w in self.fields)

    def offsets(self) -> dict:
        out, at = {}, 0
        for name, w in self.fields:
            out[name] = (at, w)
            at += w
        return out

    def pack(self, **values) -> int:
        word = 0
        for name, (at, w) in self.offsets().items():
            v = int(values.get(name, 0))
            if v < 0 or v >> w:
                raise ValueError(f"record field {name}={v} does not fit {w} bits")
            word |= v << at
        return word

    def as_dict(self) -> dict:
        return {"fields": [[n, w] for n, w in self.fields], "width": self.width, "depth": self.depth}


class NetworkHarness(wiring.Component):
    """Parameters
    ----------
    top : NetworkTop
    max_images : int
        Capacity of the image and result memories.

    Attributes
    ----------
    ld_en, ld_addr, ld_data : In   image ``ld_addr`` (bit i = input i)
    count, start : In              images to run; a ``start`` pulse runs them (after boot)
    booted, finished : Out(1)
    boot_records : Out(32)         programming records applied
    rd_addr : In; rd_cls, rd_popcount, rd_in_cycle, rd_out_cycle : Out  result ``rd_addr``
    """

    def __init__(self, *, top: NetworkTop, max_images: int):
        if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
            raise ConfigError(f"max_images must be a positive integer, not {max_images!r}")
        self.top = top
        self.layout = RecordLayout.for_plans(top.plans)
        self._max = max_images
        outs = top.signature.members["out"].signature.members
        super().__init__({
            "ld_en": In(1), "ld_addr": In(range(max_images)), "ld_data": In(top.plans[0].n_inputs),
            "count": In(range(max_images + 1)), "start": In(1),
            "booted": Out(1), "finished": Out(1), "boot_records": Out(32),
            "rd_addr": In(range(max_images)),
            "rd_cls": Out(outs["cls"].shape), "rd_popcount": Out(outs["popcount"].shape),
            "rd_in_cycle": Out(32), "rd_out_cycle": Out(32),
        })

    max_images = property(lambda self: self._max)

    def elaborate(self, platform):
        m = Module()
        top, lay = self.top, self.layout
        m.submodules.net = top

        # ---- boot: ROM -> prog / thr, one record per cycle ----
        addr = Signal(range(lay.depth + 1), name="boot_addr")
        record = Signal(lay.width, name="boot_record")
        have = Signal(name="boot_have")             # record holds ROM[addr - 1]
        m.submodules.rom = Instance(BOOT_ROM, p_WIDTH=lay.width, p_DEPTH=lay.depth,
                                    p_ABITS=bits_for(lay.depth - 1), i_clk=ClockSignal("sync"),
                                    i_addr=addr[:bits_for(lay.depth - 1)], o_data=record)
        f = {name: record[at:at + w] for name, (at, w) in lay.offsets().items()}
        with m.If(~self.booted):
            m.d.sync += [addr.eq(addr + 1), have.eq(1)]
            with m.If(have):
                with m.If(f["kind"] == KIND_END):
                    m.d.sync += self.booted.eq(1)
                with m.Else():
                    m.d.sync += self.boot_records.eq(self.boot_records + 1)
        apply = Signal(name="boot_apply")
        m.d.comb += apply.eq(have & ~self.booted)
        m.d.comb += [top.prog.en.eq(apply & (f["kind"] == KIND_WEIGHT)), top.prog.cell.eq(f["target"]),
                     top.prog.row.eq(f["row"]), top.prog.data.eq(f["data"])]
        if lay.code_bits:
            m.d.comb += [top.prog.lrs.eq(f["lrs"]), top.prog.hrs.eq(f["hrs"])]
        m.d.comb += [top.thr.en.eq(apply & (f["kind"] == KIND_THRESHOLD)), top.thr.layer.eq(f["target"]),
                     top.thr.row.eq(f["row"]), top.thr.data.eq(f["data"])]

        # ---- run: image memory -> network -> result memory, with cycle stamps ----
        n_in = top.plans[0].n_inputs
        out = top.out
        m.submodules.img_mem = img_mem = memory.Memory(shape=n_in, depth=self._max, init=[])
        res_width = len(out.cls) + len(out.popcount)
        m.submodules.res_mem = res_mem = memory.Memory(shape=res_width, depth=self._max, init=[])
        m.submodules.tin_mem = tin_mem = memory.Memory(shape=32, depth=self._max, init=[])
        m.submodules.tout_mem = tout_mem = memory.Memory(shape=32, depth=self._max, init=[])
        ld, feed = img_mem.write_port(), img_mem.read_port(domain="comb")
        res_w, res_r = res_mem.write_port(), res_mem.read_port(domain="comb")
        tin_w, tin_r = tin_mem.write_port(), tin_mem.read_port(domain="comb")
        tout_w, tout_r = tout_mem.write_port(), tout_mem.read_port(domain="comb")
        m.d.comb += [ld.en.eq(self.ld_en), ld.addr.eq(self.ld_addr), ld.data.eq(self.ld_data)]
        m.d.comb += [res_r.addr.eq(self.rd_addr), tin_r.addr.eq(self.rd_addr), tout_r.addr.eq(self.rd_addr),
                     self.rd_cls.eq(res_r.data[:len(out.cls)]), self.rd_popcount.eq(res_r.data[len(out.cls):]),
                     self.rd_in_cycle.eq(tin_r.data), self.rd_out_cycle.eq(tout_r.data)]

        running = Signal(name="running")
        cycle = Signal(32, name="cycle")
        count = Signal(range(self._max + 1), name="count_q")
        in_ptr = Signal(range(self._max + 1), name="in_ptr")
        out_ptr = Signal(range(self._max + 1), name="out_ptr")
        m.d.comb += [feed.addr.eq(in_ptr), top.inp.payload.eq(feed.data),
                     top.inp.valid.eq(running & (in_ptr < count)), out.ready.eq(1),
                     self.finished.eq(self.booted & ~running & ~self.start)]
        with m.If(self.start & self.booted):
            m.d.sync += [running.eq(self.count != 0), count.eq(self.count), cycle.eq(0), in_ptr.eq(0),
                         out_ptr.eq(0)]
        with m.Elif(running):
            m.d.sync += cycle.eq(cycle + 1)
            with m.If(top.inp.valid & top.inp.ready):
                m.d.comb += [tin_w.en.eq(1), tin_w.addr.eq(in_ptr), tin_w.data.eq(cycle)]
                m.d.sync += in_ptr.eq(in_ptr + 1)
            with m.If(out.valid):
                m.d.comb += [res_w.en.eq(1), res_w.addr.eq(out_ptr), res_w.data.eq(Cat(out.cls, out.popcount)),
                             tout_w.en.eq(1), tout_w.addr.eq(out_ptr), tout_w.data.eq(cycle)]
                m.d.sync += out_ptr.eq(out_ptr + 1)
                with m.If(out_ptr + 1 == count):
                    m.d.sync += running.eq(0)
        return m
