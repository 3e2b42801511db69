"""Golden model: bit-packed numpy inference on the network IR, with error maps applied.

Everything the RTL computes is computed here on packed uint64 words: XNOR is ``~(w ^ x)``,
popcount is ``np.bitwise_count``. The RTL testbenches compare every activation bit and every
popcount with these functions; nothing in the tests compares against stored constants.

Ternary layers (weights -1, 0, +1; see :mod:`hwgen.ir`) count mismatches among the non-zero
weights only, ``popcount((x ^ w) & ~zeros)``, and their "popcount" is the score
``sum x*w = nonzeros - 2 * mismatches``. Their error maps carry codes 0..3: bit 0 flips the sign
plane, bit 1 the zero plane (:mod:`hwgen.device.ternary`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .ir import ConvGeometry, Layer, pack_bits, words_for


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


def effective_weights(layer: Layer, error_map: np.ndarray | None = None):
    """What the array reads: ``(sign, nonzero)`` packed planes after the errors in ``error_map``.

    ``nonzero`` is ``None`` for a binary layer. A ternary layer's map is unpacked ``(O, I)``
    with codes 0..3 (bit 0 flips the sign, bit 1 the zero bit); a binary layer's map is 0/1.
    """
    if not layer.is_ternary:
        return (layer.weights if error_map is None else apply_error_map(layer.weights, error_map)), None
    sign, zeros = layer.weights, layer.zeros
    if error_map is not None:
        codes = np.asarray(error_map)
        if codes.shape != (layer.n_outputs, layer.n_inputs):
            raise ValueError(f"ternary error map has shape {codes.shape}, layer {layer.name!r} is "
                             f"{(layer.n_outputs, layer.n_inputs)}")
        if codes.size and int(codes.max()) > 3:
            raise ValueError(f"ternary error codes are 0..3, not {int(codes.max())}")
        sign = sign ^ pack_bits(codes & 1)
        zeros = zeros ^ pack_bits(codes >> 1)
    valid = pack_bits(np.ones((1, layer.n_inputs), dtype=np.uint8))
    return sign, ~zeros & valid


CHUNK = 128          # images per block: keeps the (chunk x outputs) temporaries in cache
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="hwgen-golden")
    return _POOL


def _mismatches(weights: np.ndarray, x_packed: np.ndarray, nonzero: np.ndarray | None = None) -> np.ndarray:
    acc = np.zeros((x_packed.shape[0], weights.shape[0]), dtype=np.uint16)
    for k in range(weights.shape[1]):   # one word at a time keeps memory at chunk x O
        diff = x_packed[:, k, None] ^ weights[None, :, k]
        acc += np.bitwise_count(diff if nonzero is None else diff & nonzero[None, :, k])
    return acc


def popcounts(weights: np.ndarray, x_packed: np.ndarray, n_inputs: int, nonzero: np.ndarray | None = None) -> np.ndarray:
    """popcount(XNOR(x, w)) for every input vector and neuron.

    weights: packed ``(O, W)``; x_packed: packed ``(B, W)``. Returns int64 ``(B, O)``.
    Counting mismatches (``w ^ x``) and subtracting from ``n_inputs`` keeps the zero padding
    bits out of the count. Blocks of :data:`CHUNK` images run on a thread pool (numpy releases
    the GIL in its ufuncs), which is what makes accuracy sweeps fast.

    With ``nonzero`` (a ternary layer's packed mask of non-zero weights) the result is the
    score ``sum x*w = nonzeros - 2 * mismatches`` over the non-zero weights.
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
        mismatches = _mismatches(weights, x_packed, nonzero)
    else:
        mismatches = np.concatenate(list(_pool().map(
            lambda s: _mismatches(weights, x_packed[s:s + CHUNK], nonzero), starts)))
    if nonzero is None:
        return n_inputs - mismatches.astype(np.int64)
    nonzeros = np.bitwise_count(np.asarray(nonzero, dtype=np.uint64)).sum(axis=1, dtype=np.int64)
    return nonzeros[None, :] - 2 * mismatches.astype(np.int64)


def layer_forward(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None):
    """One layer pass. ``x_bits`` is ``(B, I)`` or ``(I,)`` {0,1}.

    Returns ``(activations, popcounts)``: activations are {0,1} uint8 ``(B, O)`` with
    ``popcount >= threshold``; popcounts are int64 ``(B, O)`` (a ternary layer's scores). A conv layer goes to
    :func:`conv_forward` (``I`` is then its input feature map, ``O`` its pooled output map).
    """
    if layer.is_conv:
        return conv_forward(layer, x_bits, error_map)
    x_bits = np.atleast_2d(np.asarray(x_bits))
    if x_bits.shape[1] != layer.n_inputs:
        raise ValueError(f"input has {x_bits.shape[1]} bits, layer {layer.name!r} expects {layer.n_inputs}")
    weights, nonzero = effective_weights(layer, error_map)
    pc = popcounts(weights, pack_bits(x_bits), layer.n_inputs, nonzero)
    acts = (pc >= layer.thresholds[None, :]).astype(np.uint8)
    return acts, pc


def im2col(g: ConvGeometry, frames: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Packed patches ``(B, len(positions), words)`` of ``(B, H*W*C)`` feature-map bits at output
    positions ``(oy, ox)``; padded pixels carry ``g.pad_bit`` in every channel. Patch input
    ``(ky*kw + kx)*C + c`` is channel c of pixel ``(oy*stride + ky - pad_y, ox*stride + kx - pad_x)``."""
    frames = np.asarray(frames, dtype=np.uint8).reshape(-1, g.H, g.W, g.C)
    padded = np.full((len(frames), g.H + 2 * g.pad_y, g.W + 2 * g.pad_x, g.C), g.pad_bit, dtype=np.uint8)
    padded[:, g.pad_y:g.pad_y + g.H, g.pad_x:g.pad_x + g.W] = frames
    ky, kx = np.meshgrid(np.arange(g.kh), np.arange(g.kw), indexing="ij")
    rows = positions[:, 0, None] * g.stride + ky.ravel()[None, :]          # (Q, taps)
    cols = positions[:, 1, None] * g.stride + kx.ravel()[None, :]
    patches = padded[:, rows, cols, :]                                     # (B, Q, taps, C)
    return pack_bits(patches.reshape(len(frames), len(positions), g.taps * g.C))


def conv_popcounts(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None) -> np.ndarray:
    """Popcounts ``(B, positions, C_out)`` of a conv layer at every computed output position, in
    :meth:`ConvGeometry.position_order`. ``error_map`` is ``None``, one ``(O, I)`` map (the kernels
    stored once) or ``(P, O, I)``: one map per replica of a layer built with ``--parallel P``,
    where position ``q`` runs on replica ``q % P``."""
    g = layer.geometry()
    x_bits = np.atleast_2d(np.asarray(x_bits))
    if x_bits.shape[1] != layer.in_size:
        raise ValueError(f"input has {x_bits.shape[1]} bits, conv layer {layer.name!r} expects {layer.in_size}")
    maps = [None] if error_map is None else (list(error_map) if np.asarray(error_map).ndim == 3 else [error_map])
    weights = [effective_weights(layer, e) for e in maps]
    order = g.position_order()
    out = np.empty((len(x_bits), len(order), g.C_out), dtype=np.int64)
    step = max(1, (1 << 22) // max(1, len(order) * g.taps * g.C))     # images per block: ~4 MB of patch bits
    for b in range(0, len(x_bits), step):
        patches = im2col(g, x_bits[b:b + step], order)
        for r, (w, nonzero) in enumerate(weights):
            sel = slice(r, None, len(weights))
            chunk = patches[:, sel].reshape(-1, patches.shape[-1])
            out[b:b + step, sel] = popcounts(w, chunk, layer.n_inputs, nonzero).reshape(len(patches), -1, g.C_out)
    return out


def conv_forward(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None, form: str = "max"):
    """A conv layer (with its fused max-pool) on ``(B, H*W*C)`` input bits.

    Returns ``(activations, popcounts)``, both ``(B, Hp*Wp*C_out)`` in feature-map order: the
    pooled popcount is the window's largest, and the activation is ``max >= T``. ``form="or"``
    computes the activation as the hardware does, the OR of the window's thresholded bits; the
    two are equal for any integer threshold (tests check it on real and random layers).
    """
    g = layer.geometry()
    pcs = conv_popcounts(layer, x_bits, error_map).reshape(len(np.atleast_2d(x_bits)), g.pooled, g.window, g.C_out)
    pooled = pcs.max(axis=2)
    if form == "max":
        acts = pooled >= layer.thresholds
    elif form == "or":
        acts = (pcs >= layer.thresholds).any(axis=2)
    else:
        raise ValueError(f"form must be 'max' or 'or', not {form!r}")
    return acts.reshape(len(acts), -1).astype(np.uint8), pooled.reshape(len(pooled), -1)


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
