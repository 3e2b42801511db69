"""Hardware configuration: the (n, N, M, config) vocabulary shared by generator, mapping and tests.

- ``n``: each basic cell holds an n x n 2T2R memory block (row width n);
- ``N``: cells per column (the input direction), ``M``: cells per row (the output direction);
- ``config``: ``par2seq`` (up to n*N inputs, n*M outputs, M neurons per clock) or
  ``seq2par`` (up to n*n inputs streamed n per clock, N*M outputs);
- ``storage``: how the 2T2R block is described: ``behavioural`` (each bit is a pair of device
  state codes compared by the sense amplifier; for simulation with device errors), ``bitmem``
  (a plain bit memory; the synthesizable view) or ``macro`` (a black-box memory macro with the
  XNOR sense amplifiers inside, for the physical flow);
- ``level_bits``: width of a device state code in the behavioural view.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ConfigError

CONFIGS = ("par2seq", "seq2par")
STORAGES = ("behavioural", "bitmem", "macro")


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
# the simulator's boot ROM (MNIST, 1.9 M bits: 16 s to generate, 59.5 k boot records).
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


@dataclass(frozen=True)
class HwConfig:
    n: int
    N: int
    M: int
    config: str = "par2seq"
    storage: str = "behavioural"
    level_bits: int = 4

    def __post_init__(self):
        for name, bounds in (("n", N_BOUNDS), ("N", CELLS_BOUNDS), ("M", CELLS_BOUNDS)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), *bounds))
        if self.config not in CONFIGS:
            raise ConfigError(f"config must be one of {', '.join(CONFIGS)}, not {self.config!r}")
        if self.storage not in STORAGES:
            raise ConfigError(f"storage must be one of {', '.join(STORAGES)}, not {self.storage!r}")
        object.__setattr__(self, "level_bits", check_int("level_bits", self.level_bits, *LEVEL_BITS_BOUNDS))

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
    def popcount_width(self) -> int:
        return bits_for(self.max_inputs)

    @property
    def threshold_width(self) -> int:
        # thresholds span 0 .. max_inputs + 1, so a neuron can be forced to -1 as well as +1
        return bits_for(self.max_inputs + 1)

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

    def tag(self) -> str:
        return f"{self.config}_n{self.n}_N{self.N}_M{self.M}"
