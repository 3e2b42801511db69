"""Mapping a whole network onto hardware: one N x M array per layer, all with the same n.

Every layer keeps its weights in its own array (in-memory computing: weights never move), so
a network of L layers is L arrays chained by :class:`hwgen.rtl.link.VectorLink`. N and M are
chosen per layer as the smallest that fit, or validated when the user fixes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import LayerDoesNotFit
from .hwconfig import CONFIGS, HwConfig
from .ir import Network
from .mapping import check_fit
from .rtl.array import Array


@dataclass(frozen=True)
class LayerPlan:
    index: int
    name: str
    n_inputs: int
    n_outputs: int
    output: str
    hw: HwConfig
    cell_offset: int        # first global cell index of this layer (programming port)

    @classmethod
    def from_dict(cls, d: dict) -> "LayerPlan":
        return cls(d["index"], d["name"], d["n_inputs"], d["n_outputs"], d["output"], HwConfig(**d["hw"]),
                   d["cell_offset"])

    def as_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "n_inputs": self.n_inputs, "n_outputs": self.n_outputs,
                "output": self.output, "hw": self.hw.as_dict(), "cell_offset": self.cell_offset,
                "cycles_per_pass": self.cycles_per_pass}

    @property
    def cycles_per_pass(self) -> int:
        return Array.cycles_per_pass_for(self.hw)


def smallest_fit(n_inputs: int, n_outputs: int, n: int, config: str) -> tuple[int, int]:
    if config == "par2seq":
        return math.ceil(n_inputs / n), math.ceil(n_outputs / n)
    if n_inputs > n * n:
        raise LayerDoesNotFit(f"{n_inputs} inputs exceed seq2par's n*n = {n * n}; use a larger n or par2seq")
    M = math.ceil(math.sqrt(n_outputs))
    return math.ceil(n_outputs / M), M


def plan_network(network: Network, n: int, config: str = "par2seq", N: int | None = None, M: int | None = None,
                 storage: str = "behavioural", level_bits: int = 4) -> list[LayerPlan]:
    """One :class:`LayerPlan` per layer. ``config`` is one name for all layers or a list."""
    configs = [config] * len(network.layers) if isinstance(config, str) else list(config)
    if len(configs) != len(network.layers):
        raise LayerDoesNotFit(f"{len(configs)} configs given for {len(network.layers)} layers")
    plans, offset = [], 0
    for k, (layer, cfg) in enumerate(zip(network.layers, configs)):
        if cfg not in CONFIGS:
            raise LayerDoesNotFit(f"layer {k}: config must be one of {', '.join(CONFIGS)}, not {cfg!r}")
        fit_N, fit_M = smallest_fit(layer.n_inputs, layer.n_outputs, n, cfg)
        hw = HwConfig(n=n, N=N or fit_N, M=M or fit_M, config=cfg, storage=storage, level_bits=level_bits)
        try:
            check_fit(layer, hw)
        except LayerDoesNotFit as e:
            raise LayerDoesNotFit(f"layer {k} ({layer.name or 'unnamed'}, {layer.n_inputs}->{layer.n_outputs}) "
                                  f"does not fit {hw.tag()}: {e}") from None
        plans.append(LayerPlan(k, layer.name or f"layer{k}", layer.n_inputs, layer.n_outputs, layer.output, hw,
                               offset))
        offset += hw.cells
    return plans


def network_timing(plans: list[LayerPlan]) -> dict:
    """Analytic cycle counts (checked against the RTL by the network testbench).

    An image accepted in cycle 0 is in the input link at 1, where the first array takes it;
    each layer pass then takes its ``cycles_per_pass`` (n reads + pipeline latency) and hands
    its vector to the next layer's link the cycle its last output beat leaves.
    """
    passes = [p.cycles_per_pass for p in plans]
    # A link holds one vector: it takes the previous layer's output beats, then hands out the
    # next layer's input beats, and only then takes the next vector. So each link (and the
    # output stage) also bounds the initiation interval, e.g. 2n for par2seq -> seq2par.
    links = [1 + plans[0].hw.input_beats]
    links += [a.hw.output_beats + b.hw.input_beats for a, b in zip(plans, plans[1:])]
    links.append(plans[-1].hw.output_beats + 1)
    return {"cycles_per_inference": 1 + sum(passes), "initiation_interval": max(passes + links),
            "cycles_per_layer_pass": passes, "cycles_per_link": links}
