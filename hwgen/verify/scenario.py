"""Seeded verification scenarios: what a regression runs, rebuilt identically on both sides of
the simulator (the runner writes the programming image from it, the testbench computes the
golden model's answer from it), so they agree without exchanging anything but parameters.

- :func:`array_scenario`: a random layer mapped onto one array, its inputs, a sampled error
  map and the device states that realise it. On a ternary array (``hw.weights == "ternary"``)
  the layer is ternary (about a third zeros), the error map holds codes 0..3 sampled at rate
  ``ber`` (:func:`hwgen.device.errormap.sample_ternary_error_codes`: every misread type) and
  the device codes come from :func:`hwgen.device.errormap.ternary_pair_levels`.
- :func:`network_scenario`: a generated network design, its images, one sampled error map per
  layer (from a BER or from a programming condition of the device model). A ternary layer's map
  holds codes 0..3 drawn by :func:`hwgen.device.ternary.sample_ternary_error_map` at rates
  :class:`~hwgen.device.ternary.TernaryRates`: from a BER X by :func:`ternary_rates_for_ber`
  (every pair misread with probability X, as either other value with equal odds), from a
  condition by :func:`hwgen.device.ternary.ternary_rates` at the read supply ``vdd`` (default
  :data:`hwgen.device.ternary.V_LOW`, the ternary operating point). Binary layers keep their
  BER maps; every layer k draws from stream ``("errors", k)``.

Random streams follow :mod:`hwgen.seeds` (stimulus, errors, levels); every test logs its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import golden, seeds
from ..device import check_ber, network_error_maps, pair_levels, sample_error_map
from ..device.errormap import sample_ternary_error_codes, ternary_error_types, ternary_pair_levels
from ..hwconfig import HwConfig
from ..ir import Layer
from ..manifest import Manifest
from ..mapping import hardware_counts, pad_inputs, physical_layer, weight_planes
from ..device.ternary import TernaryRates

FILLS = ("full", "partial")


@dataclass
class ArrayScenario:
    hw: HwConfig
    seed: int
    ber: float
    layer: Layer            # the logical layer
    phys: Layer             # padded to the array size
    error_map: np.ndarray   # (max_outputs, max_inputs), 1 = pair reads flipped (ternary: codes 0..3)
    lrs: np.ndarray         # device codes reached by the SET device of every pair (ternary 0: 2nd HRS device)
    hrs: np.ndarray         # ... and by the RESET device
    x: np.ndarray           # (passes, n_inputs) logical input bits
    x_phys: np.ndarray      # (passes, max_inputs)

    def expected(self):
        """Golden activations and popcounts (ternary: scores) ``(passes, max_outputs)`` on the
        erroneous weights."""
        return golden.layer_forward(self.phys, self.x_phys, self.error_map)

    def expected_outputs(self):
        """What the array's ``out`` must carry: golden activations, and the golden popcounts
        (ternary: scores) plus ``hw.score_offset``."""
        acts, pcs = self.expected()
        return acts, hardware_counts(pcs, self.hw)

    def planes(self):
        """``(data, zero)`` bit planes of the physical layer for the programming port."""
        return weight_planes(self.phys)

    @property
    def injected_errors(self) -> int:
        return int(np.count_nonzero(self.error_map))

    def error_types(self) -> dict:
        """Ternary: ``{"+1->0": count, ...}`` of every misread type the map injects; binary: {}."""
        if not self.hw.is_ternary:
            return {}
        return {f"{s:+d}->{r:+d}".replace("+0", "0"): c
                for (s, r), c in ternary_error_types(self.phys.values(), self.error_map).items()}


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


def random_ternary_layer(rng: np.random.Generator, n_outputs: int, n_inputs: int) -> Layer:
    """Random ternary weights (-1, 0, +1 equally likely) and score thresholds, with edge cases.

    Neuron 0 has all +1 weights and threshold ``n_inputs`` (fires only on an all-ones input),
    neuron 1 all-zero weights and threshold 0 (always fires), neuron 2 threshold ``n_inputs + 1``
    (never fires), neuron 3 threshold ``-n_inputs`` (always fires); the rest have thresholds
    around 0, where activations are mixed.
    """
    w = rng.integers(-1, 2, size=(n_outputs, n_inputs)).astype(np.int8)
    spread = max(1, n_inputs // 8)
    t = rng.integers(-spread, spread + 1, size=n_outputs)
    edges = [(1, n_inputs), (0, 0), (None, n_inputs + 1), (None, -n_inputs)]
    for k, (value, thr) in enumerate(edges[:n_outputs]):
        if value is not None:
            w[k] = value
        t[k] = thr
    return Layer.from_ternary(w, t, name="random_ternary")


def array_scenario(hw: HwConfig, seed: int, ber: float, passes: int = 8, fill: str = "full") -> ArrayScenario:
    """A reproducible verification scenario.

    ``fill="full"`` uses the array's whole capacity; ``"partial"`` draws a smaller layer, so
    inputs and neurons are padded. Inputs 0 and 1 are all ones and all zeros. On a ternary
    array ``ber`` is the rate of misread pairs (every type, :func:`sample_ternary_error_codes`).
    """
    if fill not in FILLS:
        raise ValueError(f"fill must be 'full' or 'partial', not {fill!r}")
    rng = seeds.rng(seed, "stimulus")
    if fill == "full":
        n_out, n_in = hw.max_outputs, hw.max_inputs
    else:
        n_out = int(rng.integers(max(1, hw.max_outputs // 2), hw.max_outputs)) if hw.max_outputs > 1 else 1
        n_in = int(rng.integers(max(1, hw.max_inputs // 2), hw.max_inputs))
    layer = (random_ternary_layer if hw.is_ternary else random_layer)(rng, n_out, n_in)
    x = rng.integers(0, 2, size=(max(passes, 2), n_in), dtype=np.uint8)
    x[0], x[1] = 1, 0
    phys = physical_layer(layer, hw)
    if hw.is_ternary:
        error_map = sample_ternary_error_codes(phys.values(), ber, seed)
        lrs, hrs = ternary_pair_levels(phys.values(), error_map, hw.level_bits, seed)
    else:
        error_map = sample_error_map((hw.max_outputs, hw.max_inputs), ber, seed)
        lrs, hrs = pair_levels(phys.weight_bits(), error_map, hw.level_bits, seed)
    return ArrayScenario(hw=hw, seed=seed, ber=ber, layer=layer, phys=phys, error_map=error_map,
                         lrs=lrs, hrs=hrs, x=x, x_phys=pad_inputs(x, hw))


@dataclass
class NetworkScenario:
    """A whole-network regression: the design's manifest and network, images, a sampled error
    map per layer, and the golden model's answer on the erroneous weights."""

    manifest: Manifest
    network: object
    ber: float
    seed: int
    error_maps: list
    x_bits: np.ndarray      # (images, inputs)
    labels: np.ndarray
    images: str             # where the images came from
    rates: TernaryRates | None = None   # ternary layers' misread rates (None: no ternary layer)
    vdd: float | None = None            # read supply of the ternary rates (with a condition)
    note: str | None = None             # evaluation on other files than the network's (hwgen.data.evaluation_note)

    @property
    def plans(self):
        return list(self.manifest.layers)

    def expected(self):
        """Golden ``(classes, last-layer popcounts)`` for every image (a ternary last layer: scores)."""
        pred, pcs, _ = golden.network_forward(self.network, self.x_bits, self.error_maps)
        return pred, pcs

    def expected_outputs(self):
        """What the network's ``out`` must carry: the golden classes, and the last layer's golden
        popcounts (ternary: scores) plus its ``score_offset`` (:func:`hwgen.mapping.hardware_counts`;
        the offset is equal for every class, so the argmax is unchanged)."""
        pred, pcs = self.expected()
        return pred, hardware_counts(pcs, self.plans[-1].hw)

    def program(self) -> list[int]:
        """The programming image (records) realising this error map in the devices."""
        from ..program import program_records
        return program_records(self.network, self.plans, self.error_maps, self.seed)

    @property
    def injected_errors(self) -> int:
        return int(sum(int(np.count_nonzero(e)) for e in self.error_maps))


def ternary_rates_for_ber(ber) -> TernaryRates:
    """The ternary misread rates a BER ``X`` stands for (``hwgen sim --ber X`` on a ternary layer):
    every pair is misread with probability X, as either of the two other values with equal odds,
    i.e. ``TernaryRates(zero_as_pm=X, pm_as_zero=X/2, sign_flip=X/2)`` (the array scenario's
    :func:`hwgen.device.errormap.sample_ternary_error_codes` splits the same way)."""
    ber = check_ber(ber)
    return TernaryRates(zero_as_pm=ber, pm_as_zero=ber / 2, sign_flip=ber / 2)


def network_layer_error_maps(network, seed: int, replicas, ber: float = 0.0, rates: TernaryRates | None = None):
    """One error map per layer: binary layers Bernoulli(``ber``) masks, ternary layers codes 0..3 at
    ``rates`` (default :func:`ternary_rates_for_ber`), each ``(O, I)`` or ``(P, O, I)`` for a layer
    replicated P times; layer k draws from stream ``("errors", k)``."""
    from ..device.ternary import sample_ternary_error_map

    rates = ternary_rates_for_ber(ber) if rates is None else rates
    maps = []
    for k, (layer, P) in enumerate(zip(network.layers, replicas)):
        shape = ((P,) if P > 1 else ()) + (layer.n_outputs, layer.n_inputs)
        if layer.is_ternary:
            maps.append(sample_ternary_error_map(np.broadcast_to(layer.values(), shape), rates, seed, k))
        else:
            maps.append(sample_error_map(shape, ber, seed, k))
    return maps


def network_scenario(manifest: Manifest, ber: float = 0.0, seed: int = 1, images=None, count: int = 200,
                     condition=None, cycles=0, vdd=None) -> NetworkScenario:
    """The scenario of a generated network design (``manifest``, or its folder).

    ``images`` is an image set (.npz, :func:`hwgen.data.load_images`) or a dataset folder (its
    test split); by default the shipped test slice of the network's dataset (a user dataset: its
    folder's test split). Images of another dataset or shape are refused
    (:func:`hwgen.data.network_images`). With ``condition`` (a
    :class:`hwgen.device.physics.ProgrammingCondition`, or its ``"i_set_uA,v_reset,pulse_us"``
    text) the error maps come from the device model at that condition after ``cycles``
    programming cycles, and ``ber`` is ignored; ternary layers then take
    :func:`hwgen.device.ternary.ternary_rates` at the read supply ``vdd`` (default ``V_LOW``).
    Without a condition, ternary layers take :func:`ternary_rates_for_ber` of ``ber``.
    """
    from ..data import binarize, network_images
    from ..ir import Network

    if not isinstance(manifest, Manifest):
        manifest = Manifest.load(manifest)
    if manifest.kind != "network":
        raise ValueError(f"{manifest.folder} holds an {manifest.kind} design, not a network")
    network = Network.load(manifest.path(manifest.ir_file))
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive number of images, not {count!r}")
    split, source, note = network_images(network, manifest.folder.name, images, count)
    x = binarize(split.images, network.input_threshold)
    if x.shape[1] != network.input_size:
        raise ValueError(f"images have {x.shape[1]} pixels, the network takes {network.input_size}")
    replicas = [p.parallel for p in manifest.layers]
    ternary = any(layer.is_ternary for layer in network.layers)
    rates = None
    if condition is not None:
        from ..device.physics import ber_2t2r, parse_condition
        from ..device.ternary import V_LOW, ternary_rates

        condition = parse_condition(condition)
        ber = float(ber_2t2r(condition, cycles))
        if ternary:
            vdd = V_LOW if vdd is None else float(vdd)
            rates = ternary_rates(condition, vdd, cycles)
    else:
        if vdd is not None:
            raise ValueError("vdd (the ternary read supply) applies with a programming condition")
        ber = check_ber(ber)
        if ternary:
            rates = ternary_rates_for_ber(ber)
    if ternary:
        maps = network_layer_error_maps(network, seed, replicas, ber, rates)
    else:
        maps = network_error_maps(network, ber, seed, replicas)     # the binary networks' streams, as before
    return NetworkScenario(manifest, network, ber, seeds.check_seed(seed), maps, x, split.labels, source,
                           rates, vdd if ternary and condition is not None else None, note)
