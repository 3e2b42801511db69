"""Seeds: one integer per run, every random stream derived from it by name.

The rule, stated once: stream ``name`` at index path ``(i, j, ...)`` of run seed ``seed`` is
``numpy.random.SeedSequence(seed, spawn_key=(STREAMS[name], i, j, ...))``, which is exactly the
child that ``SeedSequence(seed).spawn(...)`` gives at that position (spawned children differ
only by their spawn key). Streams are independent of each other and of their order of use, so
the golden model, the programming image writer and the cocotb testbench (a separate process)
draw the same error map from the same ``(seed, "errors", layer)`` without exchanging files.

Stream numbers are fixed forever: add new names at the end, never renumber.
"""

from __future__ import annotations

import numpy as np

STREAMS = {
    "stimulus": 0,      # random layers / weights / thresholds / input vectors of a test scenario
    "errors": 1,        # error maps, index = layer (an array is layer 0)
    "levels": 2,        # device-state codes realising an error map, index = layer
    "backpressure": 3,  # out.ready patterns of stream-mode testbenches
    "sweep": 4,         # per-point seeds of a BER sweep, index = (BER point, repeat)
}
SEED_MAX = 2**63 - 1


def check_seed(seed) -> int:
    """``seed`` as an int in [0, 2**63 - 1], or ValueError naming the value."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed must be an integer in [0, 2**63 - 1], not {seed!r}")
    return int(seed)


def seed_sequence(seed: int, stream: str, *index: int) -> np.random.SeedSequence:
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; known: {', '.join(STREAMS)}")
    return np.random.SeedSequence(check_seed(seed), spawn_key=(STREAMS[stream], *map(int, index)))


def rng(seed: int, stream: str, *index: int) -> np.random.Generator:
    """The generator of one named stream (PCG64, the same on every machine)."""
    return np.random.default_rng(seed_sequence(seed, stream, *index))


def child_seed(seed: int, stream: str, *index: int) -> int:
    """A 32-bit run seed derived from ``seed``: for work that is itself a run (a sweep point), so
    that the point can be reproduced alone by passing this number as its ``--seed``."""
    return int(seed_sequence(seed, stream, *index).generate_state(1, np.uint32)[0])
