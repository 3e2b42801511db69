"""Seeded stimulus for RTL verification: a random layer mapped onto an array, its inputs, a
sampled error map and the device states that realise it, and the golden model's answer.

The cocotb testbench rebuilds the same scenario from (hardware config, seed, BER), so pytest
and the simulator agree on it without files; the seed is logged by every test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import golden
from .device import pair_levels, sample_error_map
from .hwconfig import HwConfig
from .ir import Layer
from .mapping import pad_inputs, physical_layer


@dataclass
class ArrayScenario:
    hw: HwConfig
    seed: int
    ber: float
    layer: Layer            # the logical layer
    phys: Layer             # padded to the array size
    error_map: np.ndarray   # (max_outputs, max_inputs), 1 = pair reads flipped
    lrs: np.ndarray         # device codes reached by the SET device of every pair
    hrs: np.ndarray         # ... and by the RESET device
    x: np.ndarray           # (passes, n_inputs) logical input bits
    x_phys: np.ndarray      # (passes, max_inputs)

    def expected(self):
        """Golden activations and popcounts ``(passes, max_outputs)`` on the erroneous weights."""
        return golden.layer_forward(self.phys, self.x_phys, self.error_map)


def random_layer(rng: np.random.Generator, n_outputs: int, n_inputs: int) -> Layer:
    """Random weights and thresholds with the edge cases built in.

    Neuron 0 has all-ones weights and threshold ``n_inputs`` (fires only on a perfect match),
    neuron 1 all-zeros weights and threshold 0 (always fires), neuron 2 threshold
    ``n_inputs + 1`` (never fires); the rest have thresholds around n_inputs/2, where
    activations are mixed.
    """
    w = rng.integers(0, 2, size=(n_outputs, n_inputs), dtype=np.uint8)
    t = rng.integers(n_inputs // 2 - max(1, n_inputs // 8), n_inputs // 2 + max(1, n_inputs // 8) + 1,
                     size=n_outputs)
    edges = [(1, n_inputs), (0, 0), (None, n_inputs + 1)]
    for k, (row, thr) in enumerate(edges[:n_outputs]):
        if row is not None:
            w[k] = row
        t[k] = thr
    return Layer.from_bits(w, np.clip(t, 0, n_inputs + 1), name="random")


def array_scenario(hw: HwConfig, seed: int, ber: float, passes: int = 8, fill: str = "full") -> ArrayScenario:
    """A reproducible verification scenario.

    ``fill="full"`` uses the array's whole capacity; ``"partial"`` draws a smaller layer, so
    inputs and neurons are padded. Inputs 0 and 1 are all ones and all zeros.
    """
    if fill not in ("full", "partial"):
        raise ValueError(f"fill must be 'full' or 'partial', not {fill!r}")
    rng = np.random.default_rng(seed)
    if fill == "full":
        n_out, n_in = hw.max_outputs, hw.max_inputs
    else:
        n_out = int(rng.integers(max(1, hw.max_outputs // 2), hw.max_outputs)) if hw.max_outputs > 1 else 1
        n_in = int(rng.integers(max(1, hw.max_inputs // 2), hw.max_inputs))
    layer = random_layer(rng, n_out, n_in)
    x = rng.integers(0, 2, size=(max(passes, 2), n_in), dtype=np.uint8)
    x[0], x[1] = 1, 0
    phys = physical_layer(layer, hw)
    error_map = sample_error_map((hw.max_outputs, hw.max_inputs), ber, seed + 1_000_003)
    lrs, hrs = pair_levels(phys.weight_bits(), error_map, hw.level_bits, seed + 2_000_003)
    return ArrayScenario(hw=hw, seed=seed, ber=ber, layer=layer, phys=phys, error_map=error_map,
                         lrs=lrs, hrs=hrs, x=x, x_phys=pad_inputs(x, hw))


@dataclass
class NetworkScenario:
    """A whole-network regression: the design's network and plans, images, a sampled error map
    per layer, and the golden model's answer on the erroneous weights."""

    manifest: dict
    network: object
    plans: list
    ber: float
    seed: int
    error_maps: list
    x_bits: np.ndarray      # (images, inputs)
    labels: np.ndarray

    def expected(self):
        """Golden ``(classes, last-layer popcounts)`` for every image."""
        pred, pcs, _ = golden.network_forward(self.network, self.x_bits, self.error_maps)
        return pred, pcs

    def program(self):
        """The programming image (records) realising this error map in the devices."""
        from .program import program_records
        from .rtl.net_harness import RecordLayout
        layout = RecordLayout.for_plans(self.plans)
        return program_records(self.network, self.plans, layout, self.error_maps, self.seed), layout


def network_scenario(design_dir, ber: float, seed: int, images=None, count: int = 200, condition=None,
                     cycles: int = 0) -> NetworkScenario:
    """Rebuild the same scenario from a generated network design folder, on either side of the
    simulator. ``images`` is an npz with ``images``/``labels`` (default: the shipped fixture).

    With ``condition`` (a :class:`hwgen.device.physics.ProgrammingCondition`, or its
    ``"i_set_uA,v_reset,pulse_us"`` string) the error maps come from the device model at that
    programming condition after ``cycles`` programming cycles, and ``ber`` is ignored."""
    import json
    from pathlib import Path

    from .data import binarize, load_fixture
    from .device import check_ber, network_error_maps
    from .ir import Network
    from .netplan import LayerPlan

    design_dir = Path(design_dir)
    manifest = json.loads((design_dir / "manifest.json").read_text())
    if manifest.get("kind") != "network":
        raise ValueError(f"{design_dir} holds a {manifest.get('kind')!r} design, not a network")
    network = Network.load(design_dir / manifest["network"]["ir"])
    plans = [LayerPlan.from_dict(d) for d in manifest["network"]["layers"]]
    split = load_fixture(images) if images else load_fixture()
    if count > len(split.labels):
        raise ValueError(f"{count} images asked for, {images or 'the fixture'} holds {len(split.labels)}")
    threshold = network.metadata.get("input_threshold", 127)
    x = binarize(split.images[:count], threshold)
    if x.shape[1] != network.layers[0].n_inputs:
        raise ValueError(f"images have {x.shape[1]} pixels, the network takes {network.layers[0].n_inputs}")
    if condition is not None:
        from .device.physics import ProgrammingCondition, ber_2t2r, network_error_maps_from_condition

        if isinstance(condition, str):
            try:
                i_set, v_reset, pulse = (float(v) for v in condition.split(","))
            except ValueError:
                raise ValueError(f"condition must be 'i_set_uA,v_reset,pulse_us', not {condition!r}") from None
            condition = ProgrammingCondition(i_set_uA=i_set, v_reset=v_reset, pulse_us=pulse)
        maps = network_error_maps_from_condition(network, condition, cycles, seed)
        ber = float(ber_2t2r(condition, cycles))
    else:
        ber = check_ber(ber)
        maps = network_error_maps(network, ber, seed)
    return NetworkScenario(manifest, network, plans, ber, seed, maps, x, split.labels[:count])
