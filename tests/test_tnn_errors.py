"""The TNN study's error measurements (hwgen.study.tnnerrors): errors confined to a layer, the
first layer's own rates, the spread's statistics, the crossovers, and the read model's G_res factor."""

import numpy as np
import pytest

from hwgen.device.physics import CHECKERBOARD
from hwgen.device.ternary import TernaryRates, ternary_rates
from hwgen.golden import network_forward
from hwgen.ir import Layer, Network
from hwgen.study import tnnerrors


def ternary_net(seed=3):
    rng = np.random.default_rng(seed)
    sizes = (64, 32, 10)
    layers = [Layer.from_ternary(rng.integers(-1, 2, (o, i)).astype(np.int8),
                                 np.zeros(o, dtype=np.int64), output="sign" if k < 1 else "popcount", name=f"fc{k + 1}")
              for k, (i, o) in enumerate(zip(sizes, sizes[1:]))]
    return Network(layers=layers, metadata={})


def test_first_rates_change_only_the_first_layer():
    print("seed=3 (weights), 11 (maps)")
    net = ternary_net()
    values = [lyr.values() for lyr in net.layers]
    a = tnnerrors._maps(net, values, 0.0, TernaryRates(0.1, 0.1, 0.01), 11, 0)
    b = tnnerrors._maps(net, values, 0.0, TernaryRates(0.1, 0.1, 0.01), 11, 0, first_rates=TernaryRates(0.4, 0.0, 0.0))
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[0], b[0])
    assert np.isin(b[0][values[0] != 0], (0,)).all()       # no +-1 errors in layer 0 at those rates


def test_errors_in_one_layer_only():
    print("seed=3 (weights), 7 (maps)")
    net = ternary_net()
    x = np.random.default_rng(5).integers(0, 2, (200, 64)).astype(np.uint8)
    labels = network_forward(net, x)[0]
    rates = TernaryRates(0.3, 0.3, 0.05)
    for k in range(2):
        acc = tnnerrors.error_accuracies(net, x, labels, 0.0, rates, 2, 7, layer=k, more=False)
        maps = tnnerrors._maps(net, [lyr.values() for lyr in net.layers], 0.0, rates, 7, 0)
        only = [m if j == k else None for j, m in enumerate(maps)]
        assert acc[0] == float((network_forward(net, x, only)[0] == labels).mean()) < 1.0


def test_spread_statistics():
    s = tnnerrors.spread([0.9, 0.5, 0.8, 0.7], "a")
    assert s["a_min"] == 0.5 and s["a_median"] == pytest.approx(0.75) and s["a_maps"] == 4
    assert s["a_q1"] == pytest.approx(np.percentile([0.5, 0.7, 0.8, 0.9], 25)) and s["a"] == pytest.approx(0.725)


def test_crossover_is_interpolated_where_the_sign_changes():
    rows = [{"dataset": "d", "size": 8, "training": "plain", "axis": "vdd", "value": v, "tnn_minus_bnn": y}
            for v, y in ((0.9, 0.02), (0.95, 0.01), (1.0, -0.01))]
    (c,) = tnnerrors.crossovers(rows)
    assert c["crossover"] == pytest.approx(0.975) and c["tnn_leads_below"]
    assert tnnerrors.crossovers(rows[:2]) == []


def test_g_res_factor_moves_errors_between_the_two_zero_types():
    base, lower, higher = (ternary_rates(CHECKERBOARD, 0.9, 0, k) for k in (1.0, 0.5, 2.0))
    assert base == ternary_rates(CHECKERBOARD, 0.9)
    assert lower.zero_as_pm > base.zero_as_pm > higher.zero_as_pm
    assert lower.pm_as_zero < base.pm_as_zero < higher.pm_as_zero
    with pytest.raises(ValueError, match="g_res_scale"):
        ternary_rates(CHECKERBOARD, 0.9, 0, 0.0)
