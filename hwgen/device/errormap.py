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

import numpy as np

from .. import seeds
from ..hwconfig import check_float, zero_band


def check_ber(ber) -> float:
    """Return ``ber`` as a float, or raise ValueError naming the bad value."""
    return check_float("bit error rate", ber, 0.0, 1.0)


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


# -- ternary pairs (seed 004: LRS/HRS = +1, HRS/HRS = 0, HRS/LRS = -1) ---------------------------
#
# A ternary error map is uint8 (O, I) of codes 0..3 (:func:`hwgen.golden.effective_weights`):
# bit 0 flips the stored sign bit, bit 1 the stored zero bit. A stored zero has sign bit 0, so a
# +/-1 read as 0 is code 2, a 0 read as -1 code 2 and a 0 read as +1 code 3; a sign flip is code 1.
# The behavioural RTL (:mod:`hwgen.rtl.rram`) writes +1 as (BL, BLb) = (hrs, lrs), -1 as (lrs,
# hrs) and 0 as (hrs, lrs), and reads 0 when |BL - BLb| <= D (:func:`hwgen.hwconfig.zero_band`),
# else the sign of BL - BLb.

TERNARY_MISREADS = ((1, -1), (1, 0), (-1, 1), (-1, 0), (0, 1), (0, -1))   # (stored, read) error types


def _check_values(values) -> np.ndarray:
    values = np.asarray(values)
    if values.size and not np.isin(values, (-1, 0, 1)).all():
        raise ValueError("ternary weights must be -1, 0 or +1")
    return values.astype(np.int8)


def ternary_read(values, error_codes) -> np.ndarray:
    """What pairs storing ``values`` (-1, 0, +1) read under ``error_codes`` (0..3): the code
    contract of :func:`hwgen.golden.effective_weights`, as an int8 matrix of -1, 0, +1."""
    values = _check_values(values)
    codes = np.asarray(error_codes).astype(np.int64)
    if codes.shape != values.shape:
        raise ValueError(f"error codes shape {codes.shape} differs from weights {values.shape}")
    if codes.size and (codes.min() < 0 or codes.max() > 3):
        raise ValueError(f"ternary error codes are 0..3, not {int(codes.max()) if codes.max() > 3 else int(codes.min())}")
    sign = (values > 0) ^ (codes & 1).astype(bool)
    zero = (values == 0) ^ (codes >> 1).astype(bool)
    return np.where(zero, 0, np.where(sign, 1, -1)).astype(np.int8)


def sample_ternary_error_codes(values, rate, seed: int, layer: int = 0) -> np.ndarray:
    """A simple seeded ternary error map for tests: each pair is misread with probability
    ``rate``, as one of the two other values with equal odds (a +/-1 flips its sign, code 1, or
    reads 0, code 2; a 0 reads -1, code 2, or +1, code 3). Drawn from the ``("errors", layer)``
    stream; the device model's sampler (:mod:`hwgen.device.ternary`) keeps the same code contract.
    """
    values = _check_values(values)
    rate = check_ber(rate)
    rng = seeds.rng(seed, "errors", layer)
    hit = rng.random(values.shape) < rate
    other = rng.random(values.shape) < 0.5
    codes = np.where(values == 0, np.where(other, 3, 2), np.where(other, 2, 1))
    return np.where(hit, codes, 0).astype(np.uint8)


def ternary_error_types(values, error_codes) -> dict:
    """``{(stored, read): count}`` of the misreads an error map causes, for every type of
    :data:`TERNARY_MISREADS` (zero counts included)."""
    values = _check_values(values)
    read = ternary_read(values, error_codes)
    return {(s, r): int(np.count_nonzero((values == s) & (read == r))) for s, r in TERNARY_MISREADS}


def ternary_pair_levels(values, error_codes, level_bits: int, seed: int, layer: int = 0):
    """Device codes ``(lrs, hrs)`` of every ternary pair such that the behavioural sense reads
    exactly :func:`ternary_read` (i.e. ``golden.effective_weights``) of ``error_codes``.

    With D the zero band, codes are drawn from three ranges: LRS-like low codes in
    ``[0, D)``, HRS-like high codes in ``[2D, 4D)`` (the upper half), and a second HRS code
    within D of a high one. Let ``d = hrs - lrs`` (which is BL - BLb for +1 and 0, BLb - BL for
    -1):

    - a pair read as stored +/-1: ``lrs`` low, ``hrs`` high, so ``d > D``;
    - read as the opposite sign: swapped, ``d < -D`` (the SET device ended the more resistive);
    - a zero read as 0 (both devices RESET) and a +/-1 read as 0 (the SET device stayed
      HRS-like): two high codes, ``|d| <= D`` (``lrs`` then carries the second HRS code);
    - a zero read as +1: ``d > D``; as -1: ``d < -D`` (one device ended LRS-like).

    Codes come from the ``("levels", layer)`` stream of ``seed``.
    """
    values = _check_values(values)
    band = zero_band(level_bits)
    read = ternary_read(values, error_codes)
    rng = seeds.rng(seed, "levels", layer)
    top = 1 << level_bits
    low = rng.integers(0, band, size=values.shape)
    high = rng.integers(2 * band, top, size=values.shape)
    near_lo, near_hi = np.maximum(2 * band, high - band), np.minimum(top - 1, high + band)
    near = near_lo + rng.integers(0, near_hi - near_lo + 1)
    # the sign of d each pair needs: +1 (d > D), -1 (d < -D), 0 (|d| <= D)
    want = np.where(read == 0, 0, np.where(values == 0, read, values * read))
    lrs = np.where(want > 0, low, np.where(want < 0, high, near)).astype(np.int64)
    hrs = np.where(want < 0, low, high).astype(np.int64)
    return lrs, hrs


def ternary_sensed(values, lrs, hrs, level_bits: int) -> np.ndarray:
    """What the ternary PCSA reads (int8 -1, 0, +1) from pairs programmed with ``values`` and
    device codes: mirrors the RTL write driver (-1 puts ``lrs`` in BL and ``hrs`` in BLb; +1 and
    0 the opposite) and sense (0 when ``|BL - BLb| <= D``, else the sign of ``BL - BLb``)."""
    values = _check_values(values)
    lrs, hrs = np.asarray(lrs, dtype=np.int64), np.asarray(hrs, dtype=np.int64)
    minus = values < 0
    diff = np.where(minus, lrs, hrs) - np.where(minus, hrs, lrs)
    band = zero_band(level_bits)
    return np.where(diff > band, 1, np.where(diff < -band, -1, 0)).astype(np.int8)
