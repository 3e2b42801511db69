"""Hardware configuration: the (n, N, M, config) vocabulary shared by generator, mapping and tests.

- ``n``: each basic cell holds an n x n 2T2R memory block (row width n);
- ``N``: cells per column (the input direction), ``M``: cells per row (the output direction);
- ``config``: ``par2seq`` (up to n*N inputs, n*M outputs, M neurons per clock) or
  ``seq2par`` (up to n*n inputs streamed n per clock, N*M outputs);
- ``storage``: how the 2T2R block is described: ``behavioural`` (each bit is a pair of device
  state codes compared by the sense amplifier; for simulation with device errors), ``bitmem``
  (a plain bit memory; the synthesizable view) or ``macro`` (a black-box memory macro with the
  XNOR sense amplifiers inside, for the physical flow) or ``fpga`` (the FPGA view: programmed
  with device-state codes as the behavioural view, it stores the bit the sense amplifier reads
  from them, one bit per weight (and the zero plane of a ternary block), in a block-RAM-inferable
  memory);
- ``level_bits``: width of a device state code in the behavioural view;
- ``weights``: ``binary`` (a pair is LRS/HRS = +1 or HRS/LRS = -1; the PCSA reads XNOR(x, w)) or
  ``ternary`` (seed 004: LRS/HRS = +1, HRS/HRS = 0, HRS/LRS = -1, sensed in the same single PCSA
  operation at low supply voltage).

Ternary arithmetic. A ternary neuron's score is ``sum_i x_i w_i`` (x in {-1, +1}, w in {-1, 0,
+1}). The hardware keeps the binary datapath (counters, popcount tree, thresholds compare
unsigned counts) by counting, per column b, ``q_b = 1 + x_b*w_b`` in {0, 1, 2}: 2 for a match,
1 for a zero weight, 0 for a mismatch, i.e. ``q_b = 2*match_b + zero_b``. Every column of the
array contributes, padding included (a pad is weight 0, so q = 1), so the count is
``Q = score + max_inputs`` and the threshold bank holds ``T + max_inputs``. That offset is
:attr:`HwConfig.score_offset` (0 for binary arrays), the one place the testbenches, the mapping
and the network read it from. Per-column counts reach 2, so counters, tree and popcount port are
one bit wider than the binary ones.
"""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConfigError

CONFIGS = ("par2seq", "seq2par")
STORAGES = ("behavioural", "bitmem", "macro", "fpga")
CODED_STORAGES = ("behavioural", "fpga")   # programmed with device-state codes (lrs/hrs fields)
WEIGHTS = ("binary", "ternary")
TERNARY_MIN_LEVEL_BITS = 3    # the zero band must leave room for resolved pairs on both sides


def bits_for(value: int) -> int:
    """Bits needed to hold the unsigned value ``value`` (at least 1)."""
    return max(1, int(value).bit_length())


# Bounds of the vocabulary, stated once: every component and the CLI check against these.
N_BOUNDS = (2, 1024)          # n: an n x n block needs at least two rows to count
CELLS_BOUNDS = (1, 4096)      # N and M
LEVEL_BITS_BOUNDS = (1, 16)
# Largest design hwgen elaborates. An array elaborates every cell (measured: 0.12 s and 1.2 MB of
# Python heap per n=32 cell), so 2**22 weight bits (4096 cells of n=32) is ~8 min and ~5 GB; a
# network shares one column module per distinct N, and its cost is the programming image and
# the simulator's boot ROM (MNIST, 1.9 M bits: 16 s to generate, 2,176 column-wide boot records).
MAX_ARRAY_BITS = 1 << 22
MAX_NETWORK_BITS = 1 << 24


def index_width(count: int) -> int:
    """Width of a port that indexes ``count`` things: at least 1 bit, so that no port is ever
    zero-width (Amaranth would declare one as ``[-1:0]`` in Verilog)."""
    return bits_for(count - 1)


def check_int(name: str, value, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``, or :class:`ConfigError` naming ``name`` and the value.

    The one validation helper for integer parameters of components and configurations.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
            or (high is not None and value > high):
        if high is not None:
            bound = f"an integer in [{low}, {high}]"
        else:
            bound = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ConfigError(f"{name} must be {bound}, not {value!r}")
    return int(value)


def check_float(name: str, value, low: float, high: float, unit: str = "", *, noun: str = "a number",
                error: type[Exception] = ValueError) -> float:
    """``value`` as a finite float in ``[low, high]``, or ``error`` naming ``name`` and the value:
    ``{name} must be {noun} in [low, high] {unit}, not ...`` when it is no number, ``{name} must be
    in [...]`` when it is NaN, infinite or out of range.

    The one validation helper for bounded float parameters (device conditions, rates, supplies).
    """
    bounds = f"[{low:g}, {high:g}]" + (f" {unit}" if unit else "")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise error(f"{name} must be {noun} in {bounds}, not {value!r}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise error(f"{name} must be in {bounds}, not {value!r}")
    return number


def zero_band(level_bits: int) -> int:
    """Half-width D of the ternary PCSA's zero band, in device-code steps: a pair whose codes
    differ by at most D reads 0 (both devices HRS), by more it reads the sign of BL - BLb.

    D is a quarter of the code range, ``2**(level_bits - 2)``: LRS-like codes live in the lowest
    quarter and HRS-like codes in the upper half (:func:`hwgen.device.errormap.ternary_pair_levels`),
    so an LRS/HRS pair is always more than D apart, and two HRS codes can still be drawn within D.
    """
    level_bits = check_int("level_bits", level_bits, TERNARY_MIN_LEVEL_BITS, LEVEL_BITS_BOUNDS[1])
    return 1 << (level_bits - 2)


def carries_codes(storage: str) -> bool:
    """The storage is programmed with device-state codes (``lrs``/``hrs`` fields of the write port)."""
    return storage in CODED_STORAGES


def check_weights(weights) -> str:
    if weights not in WEIGHTS:
        raise ConfigError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
    return weights


@dataclass(frozen=True)
class HwConfig:
    n: int
    N: int
    M: int
    config: str = "par2seq"
    storage: str = "behavioural"
    level_bits: int = 4
    weights: str = "binary"

    def __post_init__(self):
        for name, bounds in (("n", N_BOUNDS), ("N", CELLS_BOUNDS), ("M", CELLS_BOUNDS)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), *bounds))
        if self.config not in CONFIGS:
            raise ConfigError(f"config must be one of {', '.join(CONFIGS)}, not {self.config!r}")
        if self.storage not in STORAGES:
            raise ConfigError(f"storage must be one of {', '.join(STORAGES)}, not {self.storage!r}")
        object.__setattr__(self, "level_bits", check_int("level_bits", self.level_bits, *LEVEL_BITS_BOUNDS))
        check_weights(self.weights)
        if self.is_ternary and self.level_bits < TERNARY_MIN_LEVEL_BITS:
            raise ConfigError(f"ternary weights need level_bits >= {TERNARY_MIN_LEVEL_BITS} (the PCSA's zero band is "
                              f"a quarter of the device-code range), not {self.level_bits}")

    # -- capacities -----------------------------------------------------------------------
    @property
    def max_inputs(self) -> int:
        return self.n * self.N if self.config == "par2seq" else self.n * self.n

    @property
    def max_outputs(self) -> int:
        return self.n * self.M if self.config == "par2seq" else self.N * self.M

    @property
    def cells(self) -> int:
        return self.N * self.M

    @property
    def weight_bits(self) -> int:
        """2T2R pairs in the array: N*M cells of n*n."""
        return self.cells * self.n * self.n

    @property
    def is_ternary(self) -> bool:
        return self.weights == "ternary"

    @property
    def column_max(self) -> int:
        """Largest count one sensed column adds: 1 (XNOR) or 2 (ternary q = 1 + x*w)."""
        return 2 if self.is_ternary else 1

    @property
    def score_offset(self) -> int:
        """Hardware count minus the golden model's popcount/score: 0 for binary arrays,
        ``max_inputs`` for ternary ones (``Q = score + max_inputs``; thresholds are loaded as
        ``T + max_inputs``). See :func:`hwgen.mapping.hardware_thresholds`."""
        return self.max_inputs if self.is_ternary else 0

    @property
    def zero_band(self) -> int:
        """The ternary sense's zero band D (:func:`zero_band`)."""
        if not self.is_ternary:
            raise ConfigError("a binary array has no zero band (weights='binary')")
        return zero_band(self.level_bits)

    @property
    def popcount_width(self) -> int:
        return bits_for(self.max_inputs * self.column_max)

    @property
    def threshold_width(self) -> int:
        # thresholds span 0 .. max_inputs + 1, so a neuron can be forced to -1 as well as +1;
        # ternary: T + max_inputs spans 0 .. 2 * max_inputs + 1
        return bits_for(self.max_inputs * self.column_max + 1)

    @property
    def input_width(self) -> int:
        """Bits per input beat: the whole vector (par2seq) or one n-bit slice (seq2par)."""
        return self.n * self.N if self.config == "par2seq" else self.n

    @property
    def input_beats(self) -> int:
        return 1 if self.config == "par2seq" else self.n

    @property
    def output_lanes(self) -> int:
        """Neurons per output beat: M (par2seq, n beats) or N*M (seq2par, one beat)."""
        return self.M if self.config == "par2seq" else self.N * self.M

    @property
    def output_beats(self) -> int:
        return self.n if self.config == "par2seq" else 1

    @property
    def threshold_rows(self) -> int:
        """Threshold memory rows; row r holds neurons r*M .. r*M+M-1 (both configs)."""
        return self.n if self.config == "par2seq" else self.N

    def as_dict(self) -> dict:
        return asdict(self)

    def header_params(self) -> dict:
        """The parameters a generated file's header names: :meth:`as_dict`, without ``weights``
        for a binary array (binary Verilog stays byte-identical to hwgen before ternary mode)."""
        d = self.as_dict()
        if not self.is_ternary:
            del d["weights"]
        return d

    def tag(self) -> str:
        return f"{self.config}_n{self.n}_N{self.N}_M{self.M}" + ("_ternary" if self.is_ternary else "")
