"""Mapping a whole network onto hardware: one N x M array per layer, all with the same n.

Every layer keeps its weights in its own array (in-memory computing: weights never move), so
a network of L layers is L arrays chained by :class:`hwgen.rtl.link.VectorLink`. N and M are
chosen per layer as the smallest that fit, or validated when the user fixes them. Each layer's
array takes the layer's weights mode (``HwConfig.weights``: ternary for a ternary IR layer), so
a network may mix binary and ternary layers. A conv layer's
array holds its ``(C_out, kh*kw*C_in)`` kernel matrix, ``parallel`` times
(:class:`hwgen.rtl.conv.ConvLayer`); conv layers come first and hand whole feature maps on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConfigError, LayerDoesNotFit
from .hwconfig import CONFIGS, HwConfig
from .ir import ConvGeometry, Network
from .mapping import check_fit
from .rtl.array import Array
from .rtl.conv import check_parallel, conv_timing
from .rtl.link import VectorLink


@dataclass(frozen=True)
class LayerPlan:
    index: int
    name: str
    n_inputs: int
    n_outputs: int
    output: str
    hw: HwConfig
    cell_offset: int        # first global cell index of this layer (programming port)
    conv: ConvGeometry | None = None    # conv layers: the geometry (n_inputs/n_outputs: the kernel matrix)
    parallel: int = 1                   # conv layers: replicas of the array (positions per pass)

    @classmethod
    def from_dict(cls, d: dict) -> "LayerPlan":
        conv = ConvGeometry(**d["conv"]) if d.get("conv") is not None else None
        return cls(d["index"], d["name"], d["n_inputs"], d["n_outputs"], d["output"], HwConfig(**d["hw"]),
                   d["cell_offset"], conv, d.get("parallel", 1))

    def as_dict(self) -> dict:
        d = {"index": self.index, "name": self.name, "n_inputs": self.n_inputs, "n_outputs": self.n_outputs,
             "output": self.output, "hw": self.hw.as_dict(), "cell_offset": self.cell_offset,
             "cycles_per_pass": self.cycles_per_pass, "cells": self.cells,
             # derived, for readers of the manifest (ignored when loading): the layer's weights mode and
             # hardware count = golden popcount (ternary: score) + score_offset
             "weights": self.hw.weights, "score_offset": self.hw.score_offset}
        if self.conv is not None:
            d.update(conv={k: getattr(self.conv, k) for k in ConvGeometry.__dataclass_fields__},
                     parallel=self.parallel, **{k: v for k, v in self.conv_timing.items() if k != "cycles_per_pass"})
        return d

    @property
    def cycles_per_pass(self) -> int:
        return Array.cycles_per_pass_for(self.hw)

    @property
    def cells(self) -> int:
        """Basic cells of the layer: its array's, times the replicas of a conv layer."""
        return self.parallel * self.hw.cells

    @property
    def weight_bits(self) -> int:
        return self.parallel * self.hw.weight_bits

    @property
    def in_size(self) -> int:
        """Bits of the layer's input vector (a conv layer's input feature map)."""
        return self.conv.H * self.conv.W * self.conv.C if self.conv is not None else self.n_inputs

    @property
    def out_size(self) -> int:
        return self.conv.pooled * self.conv.C_out if self.conv is not None else self.n_outputs

    @property
    def conv_timing(self) -> dict:
        """Passes, latency and period of one image (:func:`hwgen.rtl.conv.conv_timing`)."""
        return conv_timing(self.conv, self.hw, self.parallel)

    def describe(self) -> str:
        if self.conv is None:
            return f"{self.n_inputs}->{self.n_outputs} on {self.hw.tag()}"
        g = self.conv
        shapes = (f"conv1d {g.W}x{g.C} k{g.kw} -> {g.Wp}x{g.C_out}" if g.H == 1 and g.kh == 1 else
                  f"conv2d {g.H}x{g.W}x{g.C} k{g.kh} -> {g.Hp}x{g.Wp}x{g.C_out}")
        return f"{shapes} (kernel matrix {self.n_outputs}x{self.n_inputs}) on {self.parallel} x {self.hw.tag()}"


def smallest_fit(n_inputs: int, n_outputs: int, n: int, config: str) -> tuple[int, int]:
    if config == "par2seq":
        return math.ceil(n_inputs / n), math.ceil(n_outputs / n)
    if n_inputs > n * n:
        raise LayerDoesNotFit(f"{n_inputs} inputs exceed seq2par's n*n = {n * n}; use a larger n or par2seq")
    M = math.ceil(math.sqrt(n_outputs))
    return math.ceil(n_outputs / M), M


def plan_network(network: Network, n: int, config: str = "par2seq", N: int | None = None, M: int | None = None,
                 storage: str = "behavioural", level_bits: int = 4, parallel=1) -> list[LayerPlan]:
    """One :class:`LayerPlan` per layer. ``config`` is one name for all layers or a list;
    ``parallel`` (replicas of every conv layer's array) one number or one per conv layer."""
    configs = [config] * len(network.layers) if isinstance(config, str) else list(config)
    if len(configs) != len(network.layers):
        raise LayerDoesNotFit(f"{len(configs)} configs given for {len(network.layers)} layers")
    convs = [layer for layer in network.layers if layer.is_conv]
    replicas = [parallel] if isinstance(parallel, int) else list(parallel)
    if not convs and any(p != 1 for p in replicas):
        raise LayerDoesNotFit("--parallel replicates conv layers; this network has none")
    if len(replicas) == 1:
        replicas = replicas * len(convs)
    if len(replicas) != len(convs):
        raise LayerDoesNotFit(f"{len(replicas)} --parallel values given for {len(convs)} conv layers")
    replicas = iter(replicas)
    plans, offset = [], 0
    for k, (layer, cfg) in enumerate(zip(network.layers, configs)):
        if cfg not in CONFIGS:
            raise LayerDoesNotFit(f"layer {k}: config must be one of {', '.join(CONFIGS)}, not {cfg!r}")
        fit_N, fit_M = smallest_fit(layer.n_inputs, layer.n_outputs, n, cfg)
        hw = HwConfig(n=n, N=N or fit_N, M=M or fit_M, config=cfg, storage=storage, level_bits=level_bits,
                      weights="ternary" if layer.is_ternary else "binary")
        try:
            check_fit(layer, hw)
        except LayerDoesNotFit as e:
            raise LayerDoesNotFit(f"layer {k} ({layer.name or 'unnamed'}, {layer.n_inputs}->{layer.n_outputs}) "
                                  f"does not fit {hw.tag()}: {e}") from None
        conv, P = None, 1
        if layer.is_conv:
            conv = layer.geometry()
            try:
                P = check_parallel(conv, next(replicas))
            except ConfigError as e:
                raise LayerDoesNotFit(f"layer {k} ({layer.name or 'unnamed'}): {e}") from None
        plans.append(LayerPlan(k, layer.name or f"layer{k}", layer.n_inputs, layer.n_outputs, layer.output, hw,
                               offset, conv, P))
        offset += plans[-1].cells
    return plans


def network_timing(plans: list[LayerPlan]) -> dict:
    """Analytic cycle counts (checked against the RTL by the network testbench).

    An image accepted in cycle 0 is in the input link at 1, where the first array takes it;
    each layer pass then takes its ``cycles_per_pass`` (n reads + pipeline latency) and hands
    its vector to the next layer's link the cycle its last output beat leaves.

    The initiation interval is the slowest stage's: a conv layer's ``period``, a dense layer's
    pass, a link or the output stage. A link holds a vector for its span (collect + emit,
    ``cycles_per_link``). A one-buffer link bounds the interval by its span; a two-buffer link
    (:meth:`hwgen.rtl.link.VectorLink.buffers_for` gives two where one would bound it) collects
    the next vector while it emits one, so its span only has to fit two intervals. The output
    stage holds the last layer's output beats plus the cycle the result is taken. None of these
    exceeds the largest conv period or layer pass (the plan tests check it for every mix of
    configurations), so that is the interval.
    """
    convs = [p for p in plans if p.conv is not None]
    plans = [p for p in plans if p.conv is None]
    conv_latency = sum(p.conv_timing["latency"] for p in convs)
    conv_periods = [p.conv_timing["period"] for p in convs]
    passes = [p.cycles_per_pass for p in plans]
    srcs = [None] + [p.hw for p in plans[:-1]]
    links = [VectorLink.span_for(a, b.hw) for a, b in zip(srcs, plans)]
    buffers = [VectorLink.buffers_for(a, b.hw) for a, b in zip(srcs, plans)]
    output_stage = plans[-1].hw.output_beats + 1
    bounds = conv_periods + passes + [-(-span // k) for span, k in zip(links, buffers)] + [output_stage]
    timing = {"cycles_per_inference": conv_latency + 1 + sum(passes),
              "initiation_interval": max(bounds),
              "cycles_per_layer_pass": passes, "cycles_per_link": links, "link_buffers": buffers,
              "cycles_per_output_stage": output_stage}
    if convs:
        # A conv layer takes the frame in cycle 0 and hands its output frame on `latency` cycles
        # later, to the next conv layer or the dense part's input link, in that same cycle; it
        # takes its next frame one cycle after (`period`).
        timing["conv_layers"] = [{"layer": p.index, "parallel": p.parallel, "cells": p.cells,
                                  **p.conv_timing} for p in convs]
    return timing
