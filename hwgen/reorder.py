"""Neuron order for low switching activity: the same function, fewer toggling sense outputs.

In the parallel-to-sequential configuration a layer's input vector is held through its pass, and
cell column ``j`` reads neuron ``t*M + j`` in cycle ``t`` (:mod:`hwgen.mapping`). The XNOR
outputs of a cell's sense amplifiers therefore change only where the weight rows read in
consecutive cycles differ, and every change ripples through the cell's popcount adders, which are
most of a network's CMOS energy. A hidden layer's neurons can be put in any order, provided the
next layer's input columns follow: the network computes the same classes, bit for bit. This module
picks the order that makes consecutive rows alike:

- the distance of two neurons is the number of inputs where their weights differ (ternary: where
  their values differ), over the layer's stored rows;
- one open tour through all neurons, built greedily (nearest unvisited neighbour, from the neuron
  with the smallest total distance) and improved by 2-opt moves (reversing a stretch of the tour
  whenever that shortens it) until none helps or ``passes`` sweeps are done;
- the tour is cut into the M lanes' row sequences in order (lane ``j`` gets the ``j``-th stretch,
  its row ``t`` the stretch's ``t``-th neuron), which gives the new neuron order ``t*M + j``;
- a binary neuron may also be stored negated: every weight bit flipped (its popcount becomes
  ``I - popcount``) and threshold ``I - T + 1``, so it gives exactly the opposite bit, and the next
  layer's column for it negated, so that layer sees the same products. Two binary neurons are then
  ``min(d, I - d)`` apart, and the tour sets each neuron's polarity from its predecessor's.

Layers that are reordered: dense par2seq layers whose outputs feed a dense layer (the output
layer keeps the class order; conv layers keep their channel order; a seq2par layer reads input
chunks, not neurons, in consecutive cycles, so its order does not matter). The permutation is
recorded in the network's metadata (``neuron_order``: layer name -> the original index of each
new neuron; ``neuron_negated``: layer name -> the new neurons stored negated, whose bit is the
trained neuron's opposite), so a hidden neuron of the design can be traced back to the trained
network. The classes and output popcounts are the trained network's, bit for bit.

Measured on the shipped MNIST network (784-1024-1024-10, n = 32; ``hwgen rtl`` prints it): the
bits that differ between consecutive rows fall from 50.0 % to 39.8 % (fc1) and from 49.9 % to
30.3 % (fc2): 40.7 % and 32.2 % from the order alone, the rest from the polarities; the greedy
tour gives almost all of it (2-opt adds 0.2 points). The energy this
saves is measured by ``bench/bench_reorder.py`` and ``make flow`` (README).
"""

from __future__ import annotations

import numpy as np

from .hwconfig import HwConfig
from .ir import Layer, Network

ORDERS = ("activity", "model")


def row_distances(layer: Layer) -> np.ndarray:
    """``(O, O)`` int32: the inputs where two neurons' stored weights differ."""
    planes = [layer.weights] + ([layer.zeros] if layer.is_ternary else [])
    d = np.zeros((layer.n_outputs, layer.n_outputs), dtype=np.int32)
    for plane in planes:
        for a in range(layer.n_outputs):
            d[a] += np.bitwise_count(plane[a][None, :] ^ plane).sum(axis=1, dtype=np.int32)
    return d


def _greedy_tour(d: np.ndarray) -> np.ndarray:
    n = len(d)
    start = int(np.argmin(d.sum(axis=1)))
    tour = [start]
    free = np.ones(n, dtype=bool)
    free[start] = False
    for _ in range(n - 1):
        row = np.where(free, d[tour[-1]], np.iinfo(np.int32).max)
        nxt = int(np.argmin(row))
        tour.append(nxt)
        free[nxt] = False
    return np.array(tour, dtype=np.int64)


def _two_opt(d: np.ndarray, tour: np.ndarray, passes: int) -> np.ndarray:
    """Open-path 2-opt: reversing ``tour[i+1..k]`` swaps edges (i, i+1), (k, k+1) for (i, k), (i+1, k+1)."""
    tour = tour.copy()
    n = len(tour)
    for _ in range(passes):
        improved = False
        for i in range(n - 2):
            a, b = tour[i], tour[i + 1]
            ks = np.arange(i + 2, n)
            c = tour[ks]
            nxt = np.append(tour[i + 3:], -1)[: len(ks)]         # tour[k+1], -1 past the end
            old = d[a, b] + np.where(nxt >= 0, d[c, np.maximum(nxt, 0)], 0)
            new = d[a, c] + np.where(nxt >= 0, d[b, np.maximum(nxt, 0)], 0)
            gain = old - new
            k = int(np.argmax(gain))
            if gain[k] > 0:
                k = ks[k]
                tour[i + 1:k + 1] = tour[i + 1:k + 1][::-1].copy()
                improved = True
        if not improved:
            break
    return tour


def lane_order(d: np.ndarray, M: int, passes: int = 4, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The new neuron order for an M-lane par2seq array, ``order[t*M + j]`` the original neuron
    read by lane ``j`` in cycle ``t``, and which new neurons to store negated (``negate``, bool).
    ``width`` (a binary layer's inputs): a row may be stored negated, so two neurons are
    ``min(d, width - d)`` apart and each neuron's polarity follows from its predecessor's on the
    tour; None keeps every polarity."""
    metric = d if width is None else np.minimum(d, width - d)
    tour = _two_opt(metric, _greedy_tour(metric), passes)
    flip = np.zeros(len(d), dtype=bool)                 # per original neuron: stored negated
    if width is not None:
        for a, b in zip(tour[:-1], tour[1:]):
            flip[b] = flip[a] ^ bool(d[a, b] > width - d[a, b])
    o = len(tour)
    order = np.empty(o, dtype=np.int64)
    slots = [(t, j) for j in range(M) for t in range((o - j + M - 1) // M)]     # lane by lane, rows in order
    for (t, j), neuron in zip(slots, tour):
        order[t * M + j] = neuron
    return order, flip[order]


def consecutive_difference(layer: Layer, M: int) -> float:
    """Fraction of a lane's stored bits that differ between the rows it reads in consecutive
    cycles of a pass (what the sense outputs toggle with while the input is held)."""
    d = row_distances(layer)
    o = layer.n_outputs
    pairs = [(t * M + j, (t + 1) * M + j) for j in range(M) for t in range(o) if (t + 1) * M + j < o]
    if not pairs:
        return 0.0
    a, b = np.array(pairs).T
    return float(d[a, b].sum()) / (len(pairs) * layer.n_inputs)


def reorderable(network: Network, hws: list[HwConfig]) -> list[int]:
    """Indices of the layers whose neurons may be reordered (module docstring)."""
    layers = network.layers
    return [k for k in range(len(layers) - 1)
            if not layers[k].is_conv and not layers[k + 1].is_conv and hws[k].config == "par2seq"
            and layers[k].output == "sign"]


def _take_rows(layer: Layer, order: np.ndarray, negate: np.ndarray) -> Layer:
    """The layer's neurons in ``order``; binary neurons flagged in ``negate`` stored negated: all
    weight bits flipped (popcount' = I - popcount) and threshold I - T + 1, so the neuron gives
    exactly the opposite bit (``popcount' >= I - T + 1`` is ``popcount < T``)."""
    thresholds = layer.thresholds[order].copy()
    if layer.is_ternary:
        if negate.any():
            raise ValueError("ternary neurons keep their polarity")
        return Layer.from_ternary(layer.values()[order], thresholds, output=layer.output, name=layer.name)
    bits = layer.weight_bits()[order]
    bits[negate] ^= 1
    thresholds[negate] = layer.n_inputs - thresholds[negate] + 1
    return Layer.from_bits(bits, thresholds, output=layer.output, name=layer.name)


def _take_columns(layer: Layer, order: np.ndarray, negate: np.ndarray) -> Layer:
    """The layer's input columns in ``order``; the columns flagged in ``negate`` (inputs that now
    come negated) negated too, so every product x * w, and the layer, is unchanged."""
    if layer.is_ternary:
        values = layer.values()[:, order]
        values[:, negate] *= -1
        return Layer.from_ternary(values, layer.thresholds, output=layer.output, name=layer.name)
    bits = layer.weight_bits()[:, order]
    bits[:, negate] ^= 1
    return Layer.from_bits(bits, layer.thresholds, output=layer.output, name=layer.name)


def reorder_network(network: Network, hws: list[HwConfig], passes: int = 4,
                    polarity: bool = True) -> tuple[Network, dict]:
    """``network`` with every reorderable layer's neurons in activity order (module docstring;
    ``polarity``: binary neurons may be stored negated), and ``{layer name: (fraction of
    differing bits before, after)}``. The result computes the same classes and output popcounts
    as ``network`` on every input."""
    layers = list(network.layers)
    orders, negated, stats = {}, {}, {}
    for k in reorderable(network, hws):
        layer, M = layers[k], hws[k].M
        name = layer.name or f"layer{k}"
        before = consecutive_difference(layer, M)
        width = layer.n_inputs if polarity and not layer.is_ternary else None
        order, negate = lane_order(row_distances(layer), M, passes, width)
        layers[k] = _take_rows(layer, order, negate)
        layers[k + 1] = _take_columns(layers[k + 1], order, negate)
        stats[name] = (before, consecutive_difference(layers[k], M))
        previous = network.metadata.get("neuron_order", {}).get(name)
        was = np.zeros(layer.n_outputs, dtype=bool)
        was[network.metadata.get("neuron_negated", {}).get(name, [])] = True
        orders[name] = [int(v) for v in (np.asarray(previous)[order] if previous else order)]
        negated[name] = [int(i) for i in np.flatnonzero(was[order] ^ negate)]
    if not orders:
        return network, stats
    metadata = {**network.metadata, "neuron_order": {**network.metadata.get("neuron_order", {}), **orders},
                "neuron_negated": {**network.metadata.get("neuron_negated", {}), **negated}}
    return Network(layers, metadata), stats
