"""Seeded error maps and the 2T2R device states behind them.

A 2T2R bit is a pair of 1T1R devices (BL, BLb). Programming a 1 puts BL in HRS and BLb in LRS;
programming a 0 does the opposite. The precharge sense amplifier reads 1 when BL is the more
resistive device. A programming outcome is therefore an error exactly when the device that was
SET (meant to be LRS) ends up more resistive than the device that was RESET.

The behavioural RTL stores each device's state as a ``level_bits``-wide code that is monotonic
in log-resistance; :func:`pair_levels` draws the codes so that a pair is inverted exactly where
the error map says so. The device-physics model (distributions per programming condition) will
produce such maps from programming conditions (:mod:`.physics`); here the map comes from a BER.
"""

from __future__ import annotations

import math

import numpy as np

from .. import seeds


def check_ber(ber) -> float:
    """Return ``ber`` as a float, or raise ValueError naming the bad value."""
    try:
        value = float(ber)
    except (TypeError, ValueError):
        raise ValueError(f"bit error rate must be a number in [0, 1], not {ber!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"bit error rate must be in [0, 1], not {ber!r}")
    return value


def sample_error_map(shape, ber, seed: int, layer: int = 0) -> np.ndarray:
    """Bernoulli(ber) error mask of ``shape`` (uint8, 1 = this weight reads flipped).

    Drawn from the ``("errors", layer)`` stream of ``seed`` (:mod:`hwgen.seeds`): same shape,
    BER, seed and layer give the same map, on any machine (numpy PCG64).
    """
    ber = check_ber(ber)
    return (seeds.rng(seed, "errors", layer).random(shape) < ber).astype(np.uint8)


def pair_levels(weight_bits: np.ndarray, error_map: np.ndarray, level_bits: int, seed: int, layer: int = 0):
    """Device codes ``(lrs, hrs)`` reached by the SET and the RESET device of every pair.

    Codes are distinct and uniformly spread over ``[0, 2**level_bits)``: a correct pair has
    ``lrs < hrs``, an erroneous pair ``lrs > hrs`` (the SET device ended more resistive).
    ``weight_bits`` only fixes the shape: which physical device was SET depends on the bit, and
    that routing is done by the write driver in the RTL and by :func:`sensed_bits` here.
    Codes come from the ``("levels", layer)`` stream of ``seed``.
    """
    if level_bits < 1:
        raise ValueError(f"level_bits must be >= 1, not {level_bits!r}")
    weight_bits = np.asarray(weight_bits)
    error_map = np.asarray(error_map)
    if error_map.shape != weight_bits.shape:
        raise ValueError(f"error map shape {error_map.shape} differs from weights {weight_bits.shape}")
    rng = seeds.rng(seed, "levels", layer)
    top = 1 << level_bits
    a = rng.integers(0, top - 1, size=weight_bits.shape)
    b = a + 1 + rng.integers(0, top - 1 - a)       # b in (a, top): a < b always
    err = error_map.astype(bool)
    lrs = np.where(err, b, a).astype(np.int64)
    hrs = np.where(err, a, b).astype(np.int64)
    return lrs, hrs


def sensed_bits(weight_bits: np.ndarray, lrs: np.ndarray, hrs: np.ndarray) -> np.ndarray:
    """What the PCSA reads from pairs programmed with ``weight_bits`` and device codes.

    Mirrors the RTL write driver (bit 1: BL gets the RESET device's code) and sense
    (read 1 when BL > BLb; a tie reads 0).
    """
    w = np.asarray(weight_bits).astype(bool)
    bl = np.where(w, hrs, lrs)
    blb = np.where(w, lrs, hrs)
    return (bl > blb).astype(np.uint8)


def network_error_maps(network, ber, seed: int, replicas=None) -> list[np.ndarray]:
    """One seeded error map per layer, shaped like its logical weights ``(outputs, inputs)``,
    or ``(P, outputs, inputs)`` for a conv layer whose array is replicated P times in hardware
    (``replicas``: P per layer, e.g. ``[p.parallel for p in plans]``; each replica has its own
    devices).

    Layer k draws from stream ``("errors", k)``, so adding a layer leaves the others' maps alone.
    """
    replicas = [1] * len(network.layers) if replicas is None else list(replicas)
    return [sample_error_map(((P,) if P > 1 else ()) + (layer.n_outputs, layer.n_inputs), ber, seed, k)
            for k, (layer, P) in enumerate(zip(network.layers, replicas))]
