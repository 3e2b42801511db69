"""Golden model: bit-packed numpy inference on the network IR, with error maps applied.

Everything the RTL computes is computed here on packed uint64 words: XNOR is ``~(w ^ x)``,
popcount is ``np.bitwise_count``. The RTL testbenches compare every activation bit and every
popcount with these functions; nothing in the tests compares against stored constants.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .ir import Layer, pack_bits, words_for


def apply_error_map(weights: np.ndarray, error_map: np.ndarray) -> np.ndarray:
    """Flip the weight bits marked in ``error_map``.

    ``weights`` is packed ``(O, words)``; ``error_map`` is either packed the same way or an
    unpacked ``(O, I)`` {0,1} mask (1 = the device pair reads the opposite value).
    """
    weights = np.asarray(weights, dtype=np.uint64)
    error_map = np.asarray(error_map)
    if error_map.dtype != np.uint64 or error_map.shape != weights.shape:
        error_map = pack_bits(error_map)
    if error_map.shape != weights.shape:
        raise ValueError(f"error map packs to shape {error_map.shape}, weights are {weights.shape}")
    return weights ^ error_map


CHUNK = 128          # images per block: keeps the (chunk x outputs) temporaries in cache
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="hwgen-golden")
    return _POOL


def _mismatches(weights: np.ndarray, x_packed: np.ndarray) -> np.ndarray:
    acc = np.zeros((x_packed.shape[0], weights.shape[0]), dtype=np.uint16)
    for k in range(weights.shape[1]):   # one word at a time keeps memory at chunk x O
        acc += np.bitwise_count(x_packed[:, k, None] ^ weights[None, :, k])
    return acc


def popcounts(weights: np.ndarray, x_packed: np.ndarray, n_inputs: int) -> np.ndarray:
    """popcount(XNOR(x, w)) for every input vector and neuron.

    weights: packed ``(O, W)``; x_packed: packed ``(B, W)``. Returns int64 ``(B, O)``.
    Counting mismatches (``w ^ x``) and subtracting from ``n_inputs`` keeps the zero padding
    bits out of the count. Blocks of :data:`CHUNK` images run on a thread pool (numpy releases
    the GIL in its ufuncs), which is what makes accuracy sweeps fast.
    """
    weights = np.asarray(weights, dtype=np.uint64)
    x_packed = np.asarray(x_packed, dtype=np.uint64)
    if x_packed.ndim == 1:
        x_packed = x_packed[None, :]
    if weights.shape[1] != x_packed.shape[1] or weights.shape[1] != words_for(n_inputs):
        raise ValueError(f"packed widths differ: weights {weights.shape}, inputs {x_packed.shape}, "
                         f"{n_inputs} inputs")
    if n_inputs >= 1 << 16:
        raise ValueError(f"{n_inputs} inputs overflow the 16-bit mismatch counters")
    starts = range(0, x_packed.shape[0], CHUNK)
    if len(starts) <= 1:
        mismatches = _mismatches(weights, x_packed)
    else:
        mismatches = np.concatenate(list(_pool().map(lambda s: _mismatches(weights, x_packed[s:s + CHUNK]), starts)))
    return n_inputs - mismatches.astype(np.int64)


def layer_forward(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None):
    """One layer pass. ``x_bits`` is ``(B, I)`` or ``(I,)`` {0,1}.

    Returns ``(activations, popcounts)``: activations are {0,1} uint8 ``(B, O)`` with
    ``popcount >= threshold``; popcounts are int64 ``(B, O)``.
    """
    x_bits = np.atleast_2d(np.asarray(x_bits))
    if x_bits.shape[1] != layer.n_inputs:
        raise ValueError(f"input has {x_bits.shape[1]} bits, layer {layer.name!r} expects {layer.n_inputs}")
    weights = layer.weights if error_map is None else apply_error_map(layer.weights, error_map)
    pc = popcounts(weights, pack_bits(x_bits), layer.n_inputs)
    acts = (pc >= layer.thresholds[None, :]).astype(np.uint8)
    return acts, pc


def network_forward(network, x_bits: np.ndarray, error_maps=None):
    """Whole-network inference on ``(B, I)`` input bits.

    ``error_maps`` is ``None`` or one entry per layer (``None``, an unpacked ``(O, I)`` mask or
    a packed one). Returns ``(predictions, out_popcounts, activations)``: predictions are the
    argmax of the last layer's popcounts (first maximum on ties, as the RTL's argmax), and
    ``activations`` lists every hidden layer's {0,1} outputs.
    """
    if error_maps is not None and len(error_maps) != len(network.layers):
        raise ValueError(f"{len(error_maps)} error maps for {len(network.layers)} layers")
    x = np.atleast_2d(np.asarray(x_bits))
    activations = []
    pc = None
    for k, layer in enumerate(network.layers):
        acts, pc = layer_forward(layer, x, None if error_maps is None else error_maps[k])
        if layer.output == "sign":
            activations.append(acts)
        x = acts
    return pc.argmax(axis=1), pc, activations
