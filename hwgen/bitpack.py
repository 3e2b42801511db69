"""The packed bit encoding of the network IR (:mod:`hwgen.ir`): a {0,1} vector of ``I`` bits is
``ceil(I/64)`` uint64 words, little-endian within a word (bit ``i`` is bit ``i % 64`` of word
``i // 64``), padding bits zero. Weight matrices and ternary zero masks are stored this way.
"""

from __future__ import annotations

import numpy as np

WORD = 64


def words_for(bits: int) -> int:
    return (bits + WORD - 1) // WORD


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a {0,1} array along its last axis into uint64 words (bit i -> word i//64, bit i%64)."""
    bits = np.asarray(bits)
    if bits.ndim == 0:
        raise ValueError("pack_bits needs at least one axis")
    length = bits.shape[-1]
    padded = np.zeros(bits.shape[:-1] + (words_for(length) * WORD,), dtype=np.uint8)
    padded[..., :length] = bits != 0
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u8").astype(np.uint64)


def unpack_bits(words: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint64 words -> uint8 {0,1} array with ``length`` bits."""
    words = np.ascontiguousarray(np.asarray(words, dtype=np.uint64)).astype("<u8")
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :length]
