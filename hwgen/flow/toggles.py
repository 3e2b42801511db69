"""Toggles of the sensed rows: how often the XNOR outputs of the 2T2R blocks' sense amplifiers
change over a workload, counted from the weights and the golden model's layer inputs.

A cell's popcount adders switch with its sensed row, so the block-scaled energy model prices the
cells' data energy per toggle of a sensed bit (:mod:`hwgen.flow.blockscaled`) rather than per
sense: a network whose consecutive rows are alike (:mod:`hwgen.reorder`) costs less than a
random one with the same number of senses. The count follows the arrays' read order
(:mod:`hwgen.mapping`), every row of every block read once per pass and the sensed row held
between reads:

- par2seq: the input vector is held through the pass and cell column ``j`` reads neuron
  ``t*M + j`` in cycle ``t``: the sensed row of cycle ``t`` is ``XNOR(x, W[t*M + j])``;
- seq2par: input beat ``t`` (bits ``t*n .. t*n + n - 1``) meets row ``t`` of every block, which
  holds ``W[i*M + j, t*n + b]``.

Consecutive images follow each other in every layer (the last read of one pass, then the first
of the next). The gate-level run counts the same toggles on the macros' outputs in its VCD
(``sensed_toggles`` of :func:`hwgen.flow.flatenergy.gate_level_run`), which checks this count.
"""

from __future__ import annotations

import numpy as np

from ..mapping import pad_inputs, physical_layer


def layer_sensed_rows(layer, hw, x_bits: np.ndarray) -> np.ndarray:
    """``(B, n, R)`` uint8: for each of ``B`` passes, the sensed bits of every block (R of them
    in all) after each of the pass's n reads."""
    if layer.is_ternary:
        raise ValueError("sensed-row toggles are counted for binary layers only")
    w = physical_layer(layer, hw).weight_bits().astype(np.uint8)
    x = pad_inputs(x_bits, hw)
    n, N, M = hw.n, hw.N, hw.M
    if hw.config == "par2seq":
        rows = w.reshape(n, M, N * n)                              # [t, j, input]
        return 1 - (x[:, None, None, :] ^ rows[None]).reshape(len(x), n, M * N * n)
    rows = w.reshape(N * M, n, n).transpose(1, 0, 2)                # [t, block, b]
    beats = x.reshape(len(x), n, 1, n)                             # [B, t, 1, b]
    return 1 - (beats ^ rows[None]).reshape(len(x), n, N * M * n)


def sequence_toggles(sensed: np.ndarray) -> int:
    """Toggles of a ``(B, n, R)`` sequence of sensed rows read one after another."""
    flat = sensed.reshape(-1, sensed.shape[-1])
    return int(np.count_nonzero(flat[1:] != flat[:-1]))


def network_toggles(network, plans, x_bits: np.ndarray) -> float:
    """Sensed-bit toggles per image of a dense network's arrays over the images ``x_bits``."""
    from ..golden import layer_forward

    total, x = 0, np.asarray(x_bits)
    for layer, plan in zip(network.layers, plans):
        total += sequence_toggles(layer_sensed_rows(layer, plan.hw, x))
        x = layer_forward(layer, x)[0]
    return total / len(x_bits)


def design_toggles(manifest, count: int, images=None) -> float:
    """Sensed-bit toggles per item of a design over its energy workload
    (:mod:`hwgen.flow.activity`; ``images`` as :func:`~hwgen.flow.activity.network_workload`
    takes them): an array's passes, a network's images."""
    from .activity import array_workload, network_workload

    if manifest.kind == "array":
        phys, x = array_workload(manifest.hw, count)
        return sequence_toggles(layer_sensed_rows(phys, manifest.hw, x)) / len(x)
    from ..ir import Network

    network = Network.load(manifest.path(manifest.ir_file))
    return network_toggles(network, list(manifest.layers), network_workload(network, count, images))
