"""Hamming SEC and extended-Hamming SECDED codes: the ECC benchmark of the paper's Fig. 8(b-c).

Analytic output bit error rate (:func:`ber_out`), with channel errors independent at ``ber_in`` per
stored bit and the standard approximation that residual errors are spread uniformly over the n code
bits, so the data-bit error rate equals (expected wrong code bits per word) / n:

* SEC (Hamming, n = 2**m - 1): a word with 1 error is corrected; a word with i >= 2 errors is
  miscorrected, the decoder flipping one more bit: i + 1 wrong bits (the usual upper bound, since the
  decoder occasionally flips one of the wrong bits back).
* SECDED (extended Hamming, n = 2**m): a word with 1 error is corrected; with an even number i >= 2 of
  errors the error is detected but cannot be corrected, so the i wrong bits stay; with an odd i >= 3 it
  is miscorrected: i + 1 wrong bits.

A detected double error is counted as an error: a BNN weight memory has no good copy to fall back on
and a programming error does not go away by re-reading. This is also what makes the paper's remark hold
that SECDED(8,4) performs like the ideal 2T2R at equal redundancy (2x): ~7 p**2 at input BER p.

:func:`monte_carlo_ber` encodes and decodes random words to check the analytic curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from .errormap import check_ber


@dataclass(frozen=True)
class Code:
    """A Hamming code of ``m`` parity bits: SEC (n = 2**m - 1) or SECDED (one more overall parity bit)."""

    m: int
    secded: bool = False

    def __post_init__(self):
        if not (isinstance(self.m, int) and 2 <= self.m <= 10):
            raise ValueError(f"m (parity bits) must be an integer in [2, 10], not {self.m!r}")

    @property
    def n(self) -> int:
        return 2 ** self.m - 1 + self.secded

    @property
    def k(self) -> int:
        return 2 ** self.m - 1 - self.m

    @property
    def redundancy(self) -> float:
        """Stored bits per data bit, n/k (2T2R: 2)."""
        return self.n / self.k

    @property
    def name(self) -> str:
        return f"{'SECDED' if self.secded else 'SEC'}({self.n},{self.k})"


SEC_CODES = tuple(Code(m) for m in (3, 4, 5, 6))                       # (7,4) (15,11) (31,26) (63,57)
SECDED_CODES = tuple(Code(m, secded=True) for m in (3, 4, 5, 6))       # (8,4) (16,11) (32,26) (64,57)


def ber_out(code: Code, ber_in):
    """Data bit error rate after decoding, at channel bit error rate(s) ``ber_in`` (see module docstring)."""
    p = np.asarray(ber_in, dtype=float)
    if np.any(~((p >= 0) & (p <= 1))):
        raise ValueError("ber_in must be in [0, 1]")
    n = code.n
    i = np.arange(2, n + 1)
    wrong = i + 1 if not code.secded else np.where(i % 2 == 0, i, i + 1)
    weight = np.array([comb(n, int(j)) for j in i], dtype=float) * wrong / n
    pp = p[..., None]
    return (weight * pp ** i * (1 - pp) ** (n - i)).sum(axis=-1)


def _parity_matrix(code: Code) -> np.ndarray:
    """H of shape (m, 2**m - 1): column j is the binary of position j + 1 (parity bits at powers of 2)."""
    positions = np.arange(1, 2 ** code.m)
    return ((positions[None, :] >> np.arange(code.m)[:, None]) & 1).astype(np.uint8)


def monte_carlo_ber(code: Code, ber_in, words: int, seed: int) -> float:
    """Encode ``words`` random data words, flip every code bit with probability ``ber_in``, decode, and
    return the fraction of wrong data bits. Test use: confirms :func:`ber_out`."""
    p = check_ber(ber_in)
    rng = np.random.default_rng(seed)
    h = _parity_matrix(code)
    length = h.shape[1]
    positions = np.arange(1, length + 1)
    is_parity = (positions & (positions - 1)) == 0
    data = rng.integers(0, 2, size=(words, code.k), dtype=np.uint8)
    word = np.zeros((words, length), dtype=np.uint8)
    word[:, ~is_parity] = data
    # each parity bit (position 2**b) makes bit b of the syndrome of the whole word zero
    word[:, is_parity] = (word.astype(np.int64) @ h.T.astype(np.int64)) % 2
    if code.secded:
        word = np.concatenate([word, word.sum(axis=1, keepdims=True) % 2], axis=1).astype(np.uint8)
    received = word ^ (rng.random(word.shape) < p).astype(np.uint8)
    hamming_part = received[:, :length]
    syndrome = ((hamming_part.astype(np.int64) @ h.T.astype(np.int64)) % 2) @ (1 << np.arange(code.m))
    correct = syndrome != 0
    if code.secded:
        # odd overall parity -> single error (at the syndrome, or in the extra bit if syndrome 0);
        # even overall parity with a nonzero syndrome -> detected double error, left as read
        correct &= received.sum(axis=1) % 2 == 1
    rows = np.nonzero(correct)[0]
    hamming_part[rows, syndrome[rows] - 1] ^= 1
    return float((hamming_part[:, ~is_parity] != data).mean())
