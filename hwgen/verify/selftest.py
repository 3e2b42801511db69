"""The FPGA self-test top: the network's ``fpga`` view (its batch harness with the 2T2R blocks as
block RAM) on a board, with a clock, a reset, a UART transmitter and eight LEDs.

After reset the harness boots from its boot ROM (the programming image, sampled error map
included, is in the bitstream); then this block copies the preloaded images (a ROM in the
bitstream) into the harness, runs them as one batch, and sends every result over the UART
(8N1, ``divisor`` clock cycles per bit; 25 MHz / 217 = 115200 baud):

- per image k: ``0xA5``, ``k`` (one byte), then the harness's captured word ``Cat(cls,
  popcount)`` (the class, then every class's popcount), ``ceil(width / 8)`` bytes, least
  significant first;
- at the end: ``0x5A`` and the batch's cycle count (four bytes, least significant first).

:func:`decode_uart` turns the bytes back into classes, popcounts and cycles. LEDs: 0 booted,
1 batch finished, 2 all sent, 7..4 the first image's class (low four bits).

A verification block, not part of the accelerator; untested on hardware.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, ResetSignal, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import Out

from ..errors import ConfigError
from ..hwconfig import check_int

SYNC_IMAGE, SYNC_END = 0xA5, 0x5A
DEFAULT_DIVISOR = 217           # 25 MHz (ULX3S) / 115200 baud


def word_bytes(out_width: int) -> int:
    return (out_width + 7) // 8


class SelfTestTop(wiring.Component):
    """Parameters
    ----------
    harness : str
        Module name of the harness (the design's ``fpga`` view top).
    ports : list of dict
        The harness's ports (``name``, ``dir``, ``width``; the manifest's ``ports["fpga"]``).
    images : list of int
        Input words (bit i = input i) to run, at most 256 and at most the harness's capacity.
    divisor : int
        Clock cycles per UART bit.

    Attributes
    ----------
    uart_tx : Out(1); led : Out(8)
    """

    def __init__(self, *, harness: str, ports: list, images: list, divisor: int = DEFAULT_DIVISOR):
        self._ports = {p["name"]: p for p in ports}
        for name in ("ld__en", "ld__addr", "ld__data", "count", "start", "finished", "rd__addr", "rd__data",
                     "cycles", "booted"):
            if name not in self._ports:
                raise ConfigError(f"the harness {harness} has no port {name}: give the fpga view's ports")
        if not images or len(images) > 256 or len(images) >= 1 << self._ports["count"]["width"]:
            raise ConfigError(f"the self-test runs 1 to 256 images, at most the harness's capacity; not {len(images)}")
        self._harness, self._images = harness, [int(x) for x in images]
        self._divisor = check_int("divisor", divisor, 1, 1 << 16)
        super().__init__({"uart_tx": Out(1, init=1), "led": Out(8)})

    def elaborate(self, platform):
        m = Module()
        p = self._ports
        sig = {name: Signal(q["width"], name=f"h_{name}") for name, q in p.items() if name not in ("clk", "rst")}
        conns = {"i_clk": ClockSignal("sync"), "i_rst": ResetSignal("sync")}
        for name, q in p.items():
            if name not in ("clk", "rst"):
                conns[("i_" if q["dir"] == "in" else "o_") + name] = sig[name]
        m.submodules.net = Instance(self._harness, **conns)

        count = len(self._images)
        in_width, out_width = p["ld__data"]["width"], p["rd__data"]["width"]
        rom = memory.Memory(shape=in_width, depth=count, init=self._images)
        m.submodules.images = rom
        rd = rom.read_port()

        k = Signal(range(count + 2), name="k")
        nbytes = max(word_bytes(out_width) + 2, 5)
        shift = Signal(8 * nbytes, name="tx_word")
        left = Signal(range(nbytes + 1), name="tx_left")
        first_cls = Signal(4, name="first_cls")
        sent = Signal(name="sent")

        # UART transmitter: 8N1, LSB first
        tx_go, tx_busy = Signal(name="tx_go"), Signal(name="tx_busy")
        frame = Signal(10, name="tx_frame", init=0x3FF)
        bits = Signal(range(11), name="tx_bits")
        div = Signal(range(self._divisor), name="tx_div")
        m.d.comb += [self.uart_tx.eq(frame[0]), tx_busy.eq(bits != 0)]
        with m.If(tx_go & ~tx_busy):
            m.d.sync += [frame.eq(Cat(Const(0, 1), shift[:8], Const(1, 1))), bits.eq(10), div.eq(self._divisor - 1)]
        with m.Elif(tx_busy):
            with m.If(div == 0):
                m.d.sync += [frame.eq(Cat(frame[1:], Const(1, 1))), bits.eq(bits - 1), div.eq(self._divisor - 1)]
            with m.Else():
                m.d.sync += div.eq(div - 1)

        m.d.comb += [self.led.eq(Cat(sig["booted"][0], sig["finished"][0] & (k != 0), sent, Const(0, 1), first_cls)),
                     sig["count"].eq(count), sig["ld__data"].eq(rd.data), rd.addr.eq(k)]
        with m.FSM(name="selftest"):
            with m.State("BOOT"):
                with m.If(sig["finished"][0]):
                    m.d.sync += k.eq(0)
                    m.next = "READ"
            with m.State("READ"):           # the image ROM's word k arrives next cycle
                m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += [sig["ld__en"].eq(1), sig["ld__addr"].eq(k)]
                m.d.sync += k.eq(k + 1)
                m.next = "START" if count == 1 else "READ"
                with m.If(k == count - 1):
                    m.next = "START"
            with m.State("START"):
                m.d.comb += sig["start"].eq(1)
                m.next = "RUN"
            with m.State("RUN"):
                with m.If(sig["finished"][0]):
                    m.d.sync += k.eq(0)
                    m.next = "FETCH"
            with m.State("FETCH"):          # the captured word k (read back combinationally)
                m.d.comb += sig["rd__addr"].eq(k)
                m.d.sync += [shift.eq(Cat(Const(SYNC_IMAGE, 8), k[:8], sig["rd__data"])), left.eq(nbytes)]
                with m.If(k == 0):
                    m.d.sync += first_cls.eq(sig["rd__data"][:4])
                m.next = "SEND"
            with m.State("SEND"):
                with m.If(left == 0):
                    m.d.sync += k.eq(k + 1)
                    with m.If(k == count):
                        m.d.sync += sent.eq(1)
                        m.next = "DONE"
                    with m.Elif(k == count - 1):
                        m.d.sync += [shift.eq(Cat(Const(SYNC_END, 8), sig["cycles"])), left.eq(nbytes)]
                    with m.Else():
                        m.next = "FETCH"
                with m.Elif(~tx_busy):
                    m.d.comb += tx_go.eq(1)
                    m.d.sync += [shift.eq(shift >> 8), left.eq(left - 1)]
            with m.State("DONE"):
                pass
        return m


def decode_uart(data: bytes, count: int, out_width: int, cls_width: int, classes: int, popcount_width: int) -> dict:
    """The self-test's UART bytes (:class:`SelfTestTop`) as ``{"classes", "popcounts", "cycles"}``.

    Every image record and the end record take the same number of bytes (the longer of the two
    padded with zeros). Raises ``ValueError`` on a malformed stream."""
    nbytes = max(word_bytes(out_width) + 2, 5)
    if len(data) < (count + 1) * nbytes:
        raise ValueError(f"{len(data)} bytes; {count} images and the end record need {(count + 1) * nbytes}")
    classes_out, pcs = [], []
    for k in range(count):
        rec = data[k * nbytes:(k + 1) * nbytes]
        if rec[0] != SYNC_IMAGE or rec[1] != k % 256:
            raise ValueError(f"record {k} starts {rec[:2].hex()}, not a5{k % 256:02x}")
        word = int.from_bytes(rec[2:], "little")
        classes_out.append(word & ((1 << cls_width) - 1))
        pcs.append([(word >> (cls_width + c * popcount_width)) & ((1 << popcount_width) - 1) for c in range(classes)])
    end = data[count * nbytes:(count + 1) * nbytes]
    if end[0] != SYNC_END:
        raise ValueError(f"the end record starts {end[:1].hex()}, not 5a")
    return {"classes": classes_out, "popcounts": pcs, "cycles": int.from_bytes(end[1:5], "little")}


def selftest_verilog(manifest, images, divisor: int = DEFAULT_DIVISOR, name: str = "hwgen_fpga_selftest") -> str:
    """The self-test top's Verilog for a design's fpga view, running the input words ``images``."""
    from ..generate import to_verilog
    from ..manifest import check_identifier

    check_identifier("self-test top", name)
    entry = manifest.view("fpga")
    top = SelfTestTop(harness=entry.top, ports=manifest.ports["fpga"], images=images, divisor=divisor)
    return to_verilog(top, name, "FPGA self-test top", {"harness": entry.top, "images": len(images),
                                                         "divisor": divisor})

