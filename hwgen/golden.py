"""Golden model: bit-packed inference on the network IR, with error maps applied.

Everything the RTL computes is computed here on packed uint64 words: XNOR is ``~(w ^ x)``,
popcount is LLVM's ``ctpop`` in a numba kernel (one implementation for every layer kind: see
"the XOR-popcount kernel" below). The RTL testbenches compare every activation bit and every
popcount with these functions; nothing in the tests compares against stored constants.

Ternary layers (weights -1, 0, +1; see :mod:`hwgen.ir`) count mismatches among the non-zero
weights only, ``popcount((x ^ w) & ~zeros)``, and their "popcount" is the score
``sum x*w = nonzeros - 2 * mismatches``. Their error maps carry codes 0..3: bit 0 flips the sign
plane, bit 1 the zero plane (:mod:`hwgen.device.ternary`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from .bitpack import pack_bits, words_for
from .errors import ConfigError
from .ir import ConvGeometry, Layer


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


# -- the XOR-popcount kernel ---------------------------------------------------------------------
#
# One numba kernel, :func:`_dense_stack`, serves every path: a run of dense layers of the network
# (:func:`network_forward`: per image, all layers in one call, each layer's activations packed
# straight into the next layer's input words, thresholds applied inside) and a single layer's
# popcounts (:func:`popcounts`, a stack of one layer: layer_forward, conv_popcounts). Weights are
# laid out transposed, ``(W, O)``, so the innermost loop runs over outputs contiguous in memory
# and LLVM vectorises it (vpopcntq on AVX-512 VPOPCNTDQ hosts; numba compiles for the host CPU);
# a tile of TILE images shares every weight load. Per layer, ``score = base - mult * mismatches``:
# a binary layer has base = n_inputs, mult = 1 (the XNOR popcount); a ternary layer counts
# mismatches under its non-zero mask and has base = nonzeros per neuron, mult = 2. Padding bits of
# the last word are masked off in both the inputs and the weights, so they never count.
# The kernel releases the GIL; blocks of images run on a thread pool (not numba's parallel=True:
# its workqueue layer aborts when two Python threads call in at once, and GNU OpenMP does not
# survive fork, while a plain thread pool does both).

TILE = 4                 # images per weight load (the kernel's inner loop is unrolled for 4)
BLOCK = 256              # images per thread-pool task
_META = 7                # columns of the layer table: see _dense_stack
_POOL = None


def _jit(fn):
    """``njit`` with an on-disk cache; where no cache directory is writable (a read-only install
    with no user cache), numba refuses ``cache=True`` at decoration time: compile without it."""
    try:
        return numba.njit(nogil=True, cache=True, error_model="numpy")(fn)
    except RuntimeError:
        return numba.njit(nogil=True, error_model="numpy")(fn)


@intrinsic
def _popcount32(typingctx, x):
    """LLVM ``ctpop`` of a 64-bit word, as int32 (the accumulator type)."""
    if isinstance(x, types.Integer) and x.bitwidth == 64:
        def codegen(context, builder, sig, args):
            return builder.trunc(builder.ctpop(args[0]), context.get_value_type(types.int32))
        return types.int32(x), codegen
    return None


@_jit
def _mismatch_tile(cur, weights, nonzero, acc):
    """``acc[t, o]`` = mismatches of tile image ``cur[t]`` with neuron o, under the mask
    ``nonzero`` when it has rows. ``weights[k, o]`` is word k of neuron o."""
    n_words, n_out = weights.shape
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    for o in range(n_out):
        a0[o] = 0
        a1[o] = 0
        a2[o] = 0
        a3[o] = 0
    for k in range(n_words):
        x0, x1, x2, x3 = cur[0, k], cur[1, k], cur[2, k], cur[3, k]
        w = weights[k]
        if nonzero.shape[0] == 0:
            for o in range(n_out):
                a0[o] += _popcount32(x0 ^ w[o])
                a1[o] += _popcount32(x1 ^ w[o])
                a2[o] += _popcount32(x2 ^ w[o])
                a3[o] += _popcount32(x3 ^ w[o])
        else:
            m = nonzero[k]
            for o in range(n_out):
                a0[o] += _popcount32((x0 ^ w[o]) & m[o])
                a1[o] += _popcount32((x1 ^ w[o]) & m[o])
                a2[o] += _popcount32((x2 ^ w[o]) & m[o])
                a3[o] += _popcount32((x3 ^ w[o]) & m[o])


@_jit
def _dense_stack(x, in_mask, words, base, thresholds, meta, acts_out, scores_out, b0, b1):
    """Images ``b0:b1`` of packed inputs ``x`` (B, W) through the layers of ``meta``, one row per
    layer: n_words, n_out, weight offset, mask offset (-1: binary), base/threshold offset, mult,
    acts offset (-1: not wanted); the offsets index the flat arrays ``words`` (each layer's
    ``(n_words, n_out)`` block), ``base``/``thresholds`` and ``acts_out`` (``offset*B`` is where the
    layer's ``(B, n_out)`` block starts). The last layer's scores go to ``scores_out[b*n_out + o]``;
    every other layer is thresholded (``score >= threshold``) into the next layer's packed input.

    Indexing is by row views and loop variables, never ``offset + o``: numba wraps negative
    indices, and a sum it cannot prove non-negative keeps LLVM from vectorising the loop."""
    n_layers = meta.shape[0]
    wmax = 1
    omax = 1
    for l in range(n_layers):
        wmax = max(wmax, meta[l, 0], (meta[l, 1] + 63) // 64)
        omax = max(omax, meta[l, 1])
    cur = np.zeros((TILE, wmax), np.uint64)
    nxt = np.zeros((TILE, wmax), np.uint64)
    acc = np.zeros((TILE, omax), np.int32)
    bits = np.zeros((TILE, omax), np.uint8)
    no_mask = np.zeros((0, 0), np.uint64)
    w_in = meta[0, 0]
    for t0 in range(b0, b1, TILE):
        n = min(TILE, b1 - t0)
        for t in range(TILE):
            for k in range(w_in):
                cur[t, k] = x[t0 + t, k] if t < n else np.uint64(0)
            cur[t, w_in - 1] &= in_mask
        for l in range(n_layers):
            n_words, n_out, woff, nzoff, boff, mult, aoff = (meta[l, 0], meta[l, 1], meta[l, 2], meta[l, 3],
                                                             meta[l, 4], meta[l, 5], meta[l, 6])
            size = n_words * n_out
            weights = words[woff:woff + size].reshape((n_words, n_out))
            nonzero = no_mask if nzoff < 0 else words[nzoff:nzoff + size].reshape((n_words, n_out))
            _mismatch_tile(cur, weights, nonzero, acc)
            lbase = base[boff:boff + n_out]
            if l == n_layers - 1:
                for t in range(n):
                    at = acc[t]
                    out = scores_out[(t0 + t) * n_out:(t0 + t + 1) * n_out]
                    for o in range(n_out):
                        out[o] = lbase[o] - mult * at[o]
                break
            lthr = thresholds[boff:boff + n_out]
            for t in range(TILE):
                bt = bits[t]
                at = acc[t]
                for o in range(n_out):
                    bt[o] = 1 if lbase[o] - mult * at[o] >= lthr[o] else 0
                for w in range((n_out + 63) // 64):
                    chunk = bt[64 * w:min(n_out, 64 * w + 64)]
                    word = np.uint64(0)
                    for j in range(chunk.shape[0]):
                        word |= np.uint64(chunk[j]) << np.uint64(j)
                    nxt[t, w] = word
                if aoff >= 0 and t < n:
                    start = aoff * x.shape[0] + (t0 + t) * n_out
                    out8 = acts_out[start:start + n_out]
                    for o in range(n_out):
                        out8[o] = bt[o]
            cur, nxt = nxt, cur


def _pool():
    """The thread pool, one per process (a forked child, e.g. a sweep worker, gets its own: the
    parent's worker threads do not exist there). ``HWGEN_GOLDEN_THREADS`` sets its size (default:
    the usable cores, at most 4), e.g. 1 for worker processes that already fill the cores."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = os.environ.get("HWGEN_GOLDEN_THREADS", "").strip()
        if threads and not (threads.isdigit() and 0 < int(threads) <= 256):
            raise ConfigError(f"HWGEN_GOLDEN_THREADS must be a whole number in 1..256, not {threads!r}")
        threads = int(threads) if threads else max(1, min(4, cores))
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hwgen-golden"))
    return _POOL[1]


def _last_word_mask(n_inputs: int) -> np.uint64:
    return np.uint64((1 << ((n_inputs - 1) % 64 + 1)) - 1)


def _stack(layers, want_acts=()):
    """Lay out ``[(weights (O, W), nonzero (O, W) or None, n_inputs, thresholds), ...]`` for
    :func:`_dense_stack`: transposed weights (padding bits cleared) in one word array, the table
    ``meta`` and the base/threshold arrays. ``want_acts``: layer indices whose bits to return."""
    blocks, base, thr, meta = [], [], [], np.zeros((len(layers), _META), dtype=np.int64)
    off = boff = aoff = 0
    for l, (weights, nonzero, n_inputs, thresholds) in enumerate(layers):
        n_out, n_words = weights.shape
        last = _last_word_mask(n_inputs)
        w = np.array(np.asarray(weights).T, dtype=np.uint64, order="C")   # a copy: the layer stays untouched
        w[-1] &= last
        blocks.append(w.ravel())
        meta[l, :4] = n_words, n_out, off, -1
        off += w.size
        if nonzero is None:
            base.append(np.full(n_out, n_inputs, dtype=np.int64))
            meta[l, 5] = 1
        else:
            m = np.array(np.asarray(nonzero).T, dtype=np.uint64, order="C")
            m[-1] &= last
            blocks.append(m.ravel())
            meta[l, 3] = off
            off += m.size
            base.append(np.bitwise_count(m).sum(axis=0, dtype=np.int64))
            meta[l, 5] = 2
        thr.append(np.zeros(n_out, dtype=np.int64) if thresholds is None else np.asarray(thresholds, dtype=np.int64))
        meta[l, 4] = boff
        boff += n_out
        meta[l, 6] = -1
        if l in want_acts:
            meta[l, 6] = aoff
            aoff += n_out
    return np.concatenate(blocks), np.concatenate(base), np.concatenate(thr), meta, aoff


def _run_stack(layers, x_packed: np.ndarray, want_acts=()):
    """Run packed inputs ``(B, W)`` through :func:`_dense_stack`; returns the last layer's int64
    scores ``(B, O)`` and ``{layer index: uint8 (B, O) activations}`` for ``want_acts``."""
    words, base, thr, meta, n_acts = _stack(layers, want_acts)
    x = np.ascontiguousarray(x_packed, dtype=np.uint64)
    if x.ndim == 1:
        x = x[None, :]
    batch = len(x)
    acts = np.empty(batch * n_acts, dtype=np.uint8)
    scores = np.empty(batch * int(meta[-1, 1]), dtype=np.int64)
    mask = _last_word_mask(layers[0][2])
    run = lambda s: _dense_stack(x, mask, words, base, thr, meta, acts, scores, s, min(batch, s + BLOCK))  # noqa: E731
    starts = range(0, batch, BLOCK)
    if len(starts) <= 1:
        for s in starts:
            run(s)
    else:
        for _ in _pool().map(run, starts):
            pass
    out = {l: acts[batch * meta[l, 6]:batch * (meta[l, 6] + meta[l, 1])].reshape(batch, meta[l, 1])
           for l in want_acts}
    return scores.reshape(batch, meta[-1, 1]), out


def popcounts(weights: np.ndarray, x_packed: np.ndarray, n_inputs: int, nonzero: np.ndarray | None = None) -> np.ndarray:
    """popcount(XNOR(x, w)) for every input vector and neuron.

    weights: packed ``(O, W)``; x_packed: packed ``(B, W)``. Returns int64 ``(B, O)``.
    Mismatches (``w ^ x``) are counted and subtracted from ``n_inputs``; the padding bits beyond
    ``n_inputs`` are masked off and never count. Blocks of :data:`BLOCK` images run the numba
    kernel on a thread pool.

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
    if nonzero is not None and np.shape(nonzero) != weights.shape:
        raise ValueError(f"non-zero mask has shape {np.shape(nonzero)}, weights are {weights.shape}")
    if n_inputs < 1 or weights.shape[0] < 1 or len(x_packed) == 0:
        return np.zeros((len(x_packed), weights.shape[0]), dtype=np.int64)
    scores, _ = _run_stack([(weights, nonzero, n_inputs, None)], x_packed)
    return scores


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


def _conv_blocks(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None):
    """:func:`conv_popcounts` in blocks of images: yields ``(start, popcounts)`` with popcounts
    ``(b, positions, C_out)`` of images ``start .. start + b - 1`` (about 4 MB of patch bits a block,
    so a caller that reduces each block never holds the whole ``(B, positions, C_out)`` array)."""
    g = layer.geometry()
    x_bits = np.atleast_2d(np.asarray(x_bits))
    if x_bits.shape[1] != layer.in_size:
        raise ValueError(f"input has {x_bits.shape[1]} bits, conv layer {layer.name!r} expects {layer.in_size}")
    maps = [None] if error_map is None else (list(error_map) if np.asarray(error_map).ndim == 3 else [error_map])
    weights = [effective_weights(layer, e) for e in maps]
    order = g.position_order()
    step = max(1, (1 << 22) // max(1, len(order) * g.taps * g.C))     # images per block: ~4 MB of patch bits
    for b in range(0, len(x_bits), step):
        patches = im2col(g, x_bits[b:b + step], order)
        out = np.empty((len(patches), len(order), g.C_out), dtype=np.int64)
        for r, (w, nonzero) in enumerate(weights):
            sel = slice(r, None, len(weights))
            chunk = patches[:, sel].reshape(-1, patches.shape[-1])
            out[:, sel] = popcounts(w, chunk, layer.n_inputs, nonzero).reshape(len(patches), -1, g.C_out)
        yield b, out


def conv_popcounts(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None) -> np.ndarray:
    """Popcounts ``(B, positions, C_out)`` of a conv layer at every computed output position, in
    :meth:`ConvGeometry.position_order`. ``error_map`` is ``None``, one ``(O, I)`` map (the kernels
    stored once) or ``(P, O, I)``: one map per replica of a layer built with ``--parallel P``,
    where position ``q`` runs on replica ``q % P``."""
    g = layer.geometry()
    x_bits = np.atleast_2d(np.asarray(x_bits))
    out = np.empty((len(x_bits), len(g.position_order()), g.C_out), dtype=np.int64)
    for b, block in _conv_blocks(layer, x_bits, error_map):
        out[b:b + len(block)] = block
    return out


def conv_forward(layer: Layer, x_bits: np.ndarray, error_map: np.ndarray | None = None, form: str = "max"):
    """A conv layer (with its fused max-pool) on ``(B, H*W*C)`` input bits.

    Returns ``(activations, popcounts)``, both ``(B, Hp*Wp*C_out)`` in feature-map order: the
    pooled popcount is the window's largest, and the activation is ``max >= T``. ``form="or"``
    computes the activation as the hardware does, the OR of the window's thresholded bits; the
    two are equal for any integer threshold (tests check it on real and random layers). The pooling
    runs block by block on :func:`_conv_blocks`' popcounts.
    """
    if form not in ("max", "or"):
        raise ValueError(f"form must be 'max' or 'or', not {form!r}")
    g = layer.geometry()
    x_bits = np.atleast_2d(np.asarray(x_bits))
    pooled = np.empty((len(x_bits), g.pooled, g.C_out), dtype=np.int64)
    acts = np.empty((len(x_bits), g.pooled, g.C_out), dtype=bool)
    for b, block in _conv_blocks(layer, x_bits, error_map):
        pcs = block.reshape(len(block), g.pooled, g.window, g.C_out)
        rows = slice(b, b + len(block))
        pooled[rows] = pcs.max(axis=2)
        acts[rows] = pooled[rows] >= layer.thresholds if form == "max" else (pcs >= layer.thresholds).any(axis=2)
    return acts.reshape(len(acts), -1).astype(np.uint8), pooled.reshape(len(pooled), -1)


def network_forward(network, x_bits: np.ndarray, error_maps=None):
    """Whole-network inference on ``(B, I)`` input bits.

    ``error_maps`` is ``None`` or one entry per layer (``None``, an unpacked ``(O, I)`` mask or
    a packed one). Returns ``(predictions, out_popcounts, activations)``: predictions are the
    argmax of the last layer's popcounts (first maximum on ties, as the RTL's argmax), and
    ``activations`` lists every hidden layer's {0,1} outputs.

    Every run of consecutive dense layers goes through the kernel in one call per block of
    images (activations stay packed between its layers); conv layers go through
    :func:`conv_forward`. The results equal :func:`layer_forward` applied layer by layer.
    """
    layers = network.layers
    if error_maps is not None and len(error_maps) != len(layers):
        raise ValueError(f"{len(error_maps)} error maps for {len(layers)} layers")
    x = np.atleast_2d(np.asarray(x_bits))
    activations = []
    pc = None
    k = 0
    while k < len(layers):
        if layers[k].is_conv:
            x, pc = conv_forward(layers[k], x, None if error_maps is None else error_maps[k])
            if layers[k].output == "sign":
                activations.append(x)
            k += 1
            continue
        if x.shape[1] != layers[k].n_inputs:
            raise ValueError(f"input has {x.shape[1]} bits, layer {layers[k].name!r} expects {layers[k].n_inputs}")
        end = k + 1
        while end < len(layers) and not layers[end].is_conv:
            if layers[end].n_inputs != layers[end - 1].n_outputs:
                raise ValueError(f"input has {layers[end - 1].n_outputs} bits, layer {layers[end].name!r} expects "
                                 f"{layers[end].n_inputs}")
            end += 1
        stack = [(*effective_weights(layer, None if error_maps is None else error_maps[i]), layer.n_inputs,
                  layer.thresholds) for i, layer in enumerate(layers[k:end], start=k)]
        # the stack's last layer only yields scores: its bits, where needed, come from them below
        want = [i - k for i in range(k, end - 1)]
        pc, acts = _run_stack(stack, pack_bits(x), want)
        for i in range(k, end):
            x = acts[i - k] if i < end - 1 else (pc >= layers[i].thresholds[None, :]).astype(np.uint8)
            if layers[i].output == "sign":
                activations.append(x)
        k = end
    return pc.argmax(axis=1), pc, activations
