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

from .errors import ConfigError

CONFIGS = ("par2seq", "seq2par")
STORAGES = ("behavioural", "bitmem", "macro")


def bits_for(value: int) -> int:
    """Bits needed to hold the unsigned value ``value`` (at least 1)."""
    return max(1, int(value).bit_length())


def _positive_int(name, value, low=1, high=None):
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"{name} must be an integer {bound}, not {value!r}")


@dataclass(frozen=True)
class HwConfig:
    n: int
    N: int
    M: int
    config: str = "par2seq"
    storage: str = "behavioural"
    level_bits: int = 4

    def __post_init__(self):
        _positive_int("n", self.n, low=2, high=1024)
        _positive_int("N", self.N, high=4096)
        _positive_int("M", self.M, high=4096)
        if self.config not in CONFIGS:
            raise ConfigError(f"config must be one of {', '.join(CONFIGS)}, not {self.config!r}")
        if self.storage not in STORAGES:
            raise ConfigError(f"storage must be one of {', '.join(STORAGES)}, not {self.storage!r}")
        _positive_int("level_bits", self.level_bits, high=16)

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
