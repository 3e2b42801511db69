"""HfO2 OxRAM device model: programming condition -> LRS/HRS statistics -> 1T1R and 2T2R bit error rates.

Source: Hirtzlin et al., "Digital biologically plausible implementation of binarized neural networks
with differential hafnium oxide resistive memory arrays" (Front. Neurosci. 2020), referred to as
"the paper" below, with its Figs. 4-8 and Table 1.

Model
-----
Every resistance is log-normal. With ``x = ln(R / 1 ohm)``:

* LRS: ``x ~ N(mu_L, s_L)``. The SET is compliance-limited, so the LRS is set by the SET current
  ``I`` alone: ``R_L = V_C / I`` and ``s_L = S_L55 * sqrt(55 uA / I)``.
* HRS: ``x ~ N(mu_H, s_H)`` with ``R_H = R_H55 * (I / 55 uA)**N_H * exp((V_eff - 2.5 V) / V_H)``,
  where the RESET pulse length acts as an equivalent voltage ``V_eff = V + V_T * log10(t / 1 us)``.
* Pulses longer than the calibrated range (above 1 us): both log-spreads widen by
  ``1 + LONG_PULSE_SPREAD * log10(t / 1 us)`` (the slides' "stochastic" 100 us condition, Laborieux et
  al., AICAS 2020: wide, overlapping LRS and HRS distributions). This is the one device model: the
  binary 2T2R BER of a condition (binary layers, sweeps, the closed loop, the studies) and the sign
  flips of a ternary read at the nominal supply (:mod:`.ternary`) both come from these distributions.
* Aging after ``n`` programming cycles, with wear ``A = ln(1 + n / N_AGE(V, t))``: the two medians move
  symmetrically (in log) towards each other, ``ln(R_H/R_L) -> ln(R_H/R_L) / (1 + ALPHA * A)``, and both
  log-spreads grow, ``s -> s * (1 + BETA * A)`` (paper Fig. 6(a-d)).
* 1T1R read: the device is compared to a reference at the geometric midpoint of the two medians
  (paper Sec. 2.1: "a reference value intermediate between typical values of resistances in HRS and LRS").
* 2T2R read: the PCSA compares the pair (paper Sec. 2.1); it errs with probability
  :func:`pcsa_error_probability` of the pair's ratio ``R_HRS-device / R_LRS-device`` (paper Fig. 4(d)).

Only resistance *ratios* enter the bit error rates; the absolute scale (``V_C``) is there so that the
medians read as ohms in reports.

Calibration (paper anchors, checked in tests/test_device_model.py)
------------------------------------------------------------------
* Fig. 4(a) checkerboard, 55 uA / 2.5 V / 1 us: 1T1R BER 1.2e-2, 2T2R BER 2e-3, distributions overlapping
  at about 3 standard deviations. These three numbers fix ``S_L55``, ``S_H`` and ``R_H55`` (given
  ``SIGMA_PCSA``); the model gives 1T1R 1.2e-2, 2T2R 2.0e-3, overlap 3.0 sigma.
* Fig. 4(d): PCSA reliable above a ratio of ~5 -> ``SIGMA_PCSA`` (error probability 1e-3 at ratio 5).
* Fig. 5 / Table 1: SET current dominates the BER; 2T2R BER before aging < 1e-7 (200 uA / 2.5 V / 1 us),
  < 1e-5 (200 uA / 2 V / 0.1 us), < 1e-4 (200 uA / 1.5 V / 1 us) -> ``N_H`` and ``V_H``.
* Fig. 6(e) / Table 1 at 200 uA / 2.5 V / 1 us: 1T1R BER above 1e-3 after a few million cycles, 2T2R
  below 1e-3 over 7e8 cycles -> ``N_AGE_REF``, ``ALPHA``, ``BETA``; Fig. 7 / Table 1: no degradation over
  1e10 cycles at 1.5 V -> ``V_AGE``.
* Fig. 8: 2T2R below 1T1R everywhere, gap about four decades at a 2T2R BER of 1e-8. Not fitted: it
  follows from the PCSA shape and the spreads above (the model gives ~3.8 decades on the SET-current
  sweep at 2.5 V / 1 us).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..hwconfig import check_float
from .errormap import network_error_maps, sample_error_map

# --- LRS -------------------------------------------------------------------------------------------
# Assumed: R_LRS ~ V_C / I_SET, the usual compliance-limited filament relation of HfO2 OxRAM
# (Ielmini, IEEE TED 2011; Fantini et al., IMW 2013). Only ratios enter BERs, so V_C sets the ohm scale.
V_C = 0.4                      # V  -> 7.3 kOhm at 55 uA, 2 kOhm at 200 uA
# Calibrated: LRS log-spread at 55 uA, from the Fig. 4(a) checkerboard anchors (see module docstring).
S_L55 = 0.196                  # ln units (0.085 decade)
# Assumed: spread ~ 1/sqrt(number of defects in the filament) ~ 1/sqrt(I_SET) (Poisson statistics of the
# filament, Ambrogio et al. IEEE TED 2014); gives the paper's "higher SET current -> tighter LRS".
LRS_SPREAD_EXPONENT = 0.5

# --- HRS -------------------------------------------------------------------------------------------
# Calibrated: HRS median at 55 uA / 2.5 V / 1 us, from the Fig. 4(a) anchors (median ratio ~11).
R_H55 = 8.29e4                 # ohm
# Calibrated: HRS log-spread (wider than the LRS, as usual for HfO2 HRS), from the Fig. 4(a) anchors.
S_H = 0.615                    # ln units (0.267 decade)
# Calibrated (assumption of form): a stronger SET leaves a larger filament whose RESET opens a longer
# gap, so R_HRS grows with I_SET. Needed for Fig. 5 / Table 1: with R_LRS ~ 1/I alone, 55 -> 200 uA at
# 2.5 V / 1 us cannot take the 2T2R BER from 2e-3 to below 1e-7.
N_H = 0.8
# Calibrated: RESET voltage scale of ln R_HRS (R_HRS rises exponentially with the RESET stop voltage,
# Ielmini TED 2011), from Table 1's 1.5 V condition (2T2R BER < 1e-4 at 200 uA / 1 us).
V_H = 0.7                      # V per e-fold of R_HRS
# Assumed: voltage-time trade-off of RESET, ~0.1 V of RESET voltage per decade of pulse length (the
# usual range for HfO2, 0.05-0.15 V/decade). Keeps Table 1's 2 V / 0.1 us condition between the other two.
V_T = 0.1                      # V per decade of pulse length

# --- Long programming pulses ------------------------------------------------------------------------
# Assumed: log-spread growth per decade of pulse length above the calibrated range (<= 1 us): doubles
# both spreads at the slides' 100 us "stochastic" condition, whose measured LRS/HRS distributions
# overlap (Laborieux et al., AICAS 2020 slides: "Device pairs programmed in the stochastic area create
# new errors"). Without it the model extrapolates 100 us as *better* than 1 us (a deeper HRS, same
# spreads), which the slides contradict.
LONG_PULSE_SPREAD = 0.5
LONG_PULSE_FROM_US = 1.0       # the calibrated range's longest pulse (CALIBRATED below)

# --- PCSA --------------------------------------------------------------------------------------------
# Assumed form: the PCSA races the two branch discharge currents; its decision variable is the
# conductance difference normalised to the geometric-mean branch conductance,
# (G_L - G_H) / sqrt(G_L G_H) = sqrt(r) - 1/sqrt(r) with r = R_HRS-device / R_LRS-device, plus a
# Gaussian input offset of SIGMA_PCSA. This is smooth, errs with probability 1/2 at r = 1 and
# p(1/r) = 1 - p(r), and its tail falls fast above r ~ 5 (Fig. 4(d)). A logistic or Gaussian offset in
# ln r instead has a power-law / slow tail that floors the 2T2R BER near 1e-6 and cannot reach Fig. 8's
# 1e-8 with a four-decade gap.
# Calibrated: error probability 1e-3 at r = 5 (Fig. 4(d): "can make mistakes if the two resistances differ
# by less than a factor five").
SIGMA_PCSA = 0.579

# --- Aging --------------------------------------------------------------------------------------------
# Calibrated: cycles at which wear starts (200 uA / 2.5 V / 1 us) and how fast the window closes and the
# spreads widen, from Fig. 6(e): 1T1R BER > 1e-3 after a few million cycles, 2T2R < 1e-3 over 7e8 cycles.
N_AGE_REF = 3.0e4
ALPHA = 0.05
BETA = 0.02
# Calibrated: RESET-voltage acceleration of wear, from Fig. 7 (1.5 V: no degradation over 1e10 cycles,
# 2T2R BER < 1e-4 over 5e10 cycles).
V_AGE = 0.07                   # V per e-fold of N_AGE
# Assumed: wear depends on neither the pulse length nor the SET current (the paper's aging data are all
# at 200 uA / 1 us; Table 1 only bounds the 0.1 us condition's cyclability from below).

# --- Programming energy ------------------------------------------------------------------------------
# Paper Sec. 2.1: SET applies 2 V on the sense line.
V_SET = 2.0                    # V
# Assumed: the SET switches after a delay during which the cell (still HRS) draws negligible current;
# 25 ns puts the 0.1 us condition in Table 1's 20-30 pJ.
T_SET_DELAY_US = 0.025
# Assumed: the RESET current scales with the filament, i.e. with I_SET (Ielmini TED 2011: I_RESET ~ I_C);
# time-averaged it is half of I_SET as the current collapses while the gap opens. Puts the three
# Table 1 conditions in their ranges (200-400, 150-400, 20-30 pJ).
RESET_CURRENT_FRACTION = 0.5

# Paper Sec. 2.1 / Fig. 5 ranges of the programming parameters.
_RANGES = {"i_set_uA": (20.0, 200.0, "uA"), "v_reset": (1.5, 2.5, "V"), "pulse_us": (0.1, 100.0, "us")}

_erfc = np.vectorize(math.erfc, otypes=[float])


def _q(z):
    """Gaussian upper tail probability Q(z) = P(N(0,1) > z), elementwise."""
    return 0.5 * _erfc(np.asarray(z, dtype=float) / math.sqrt(2.0))


@dataclass(frozen=True)
class ProgrammingCondition:
    """One programming condition of the paper's array (Sec. 2.1, Fig. 5).

    ``i_set_uA``: SET compliance current (20-200 uA); ``v_reset``: RESET voltage (1.5-2.5 V);
    ``pulse_us``: SET and RESET pulse length (0.1-100 us).
    """

    i_set_uA: float
    v_reset: float
    pulse_us: float

    def __post_init__(self):
        for name, (lo, hi, unit) in _RANGES.items():
            object.__setattr__(self, name, check_float(name, getattr(self, name), lo, hi, unit))

    def __str__(self):
        return f"{self.i_set_uA:g} uA / {self.v_reset:g} V / {self.pulse_us:g} us"


def parse_condition(text) -> "ProgrammingCondition":
    """A condition from ``"i_set_uA,v_reset,pulse_us"`` (e.g. ``"55,2.5,1"``), or as given."""
    if isinstance(text, ProgrammingCondition):
        return text
    try:
        i_set, v_reset, pulse = (float(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"condition must be 'i_set_uA,v_reset,pulse_us' (e.g. 55,2.5,1), not {text!r}") from None
    return ProgrammingCondition(i_set_uA=i_set, v_reset=v_reset, pulse_us=pulse)


# The conditions the model is anchored to (module docstring): SET currents from the checkerboard
# (55 uA) to Table 1 (200 uA), RESET 1.5-2.5 V, pulses 0.1-1 us, and 1T1R BER up to Fig. 8's
# range. Elsewhere in the accepted ranges the model extrapolates.
CALIBRATED = {"i_set_uA": (55.0, 200.0, "uA"), "v_reset": (1.5, 2.5, "V"), "pulse_us": (0.1, 1.0, "us")}
CALIBRATED_MAX_BER_1T1R = 0.05


def calibration_warnings(cond: "ProgrammingCondition", cycles=0) -> list[str]:
    """Why the model extrapolates at ``cond`` (empty when it is inside the calibrated range)."""
    out = [f"{name} = {getattr(cond, name):g} {unit} is outside the calibrated {lo:g}-{hi:g} {unit}"
           for name, (lo, hi, unit) in CALIBRATED.items() if not lo <= getattr(cond, name) <= hi]
    if ber_1t1r(cond, cycles) > CALIBRATED_MAX_BER_1T1R:
        out.append(f"its 1T1R BER {ber_1t1r(cond, cycles):.2g} is above Fig. 8's range ({CALIBRATED_MAX_BER_1T1R:g})")
    return out


# Paper Fig. 4 and Table 1.
CHECKERBOARD = ProgrammingCondition(55, 2.5, 1)
TABLE1 = {
    "strong": ProgrammingCondition(200, 2.5, 1),
    "optimized endurance": ProgrammingCondition(200, 1.5, 1),
    "optimized programming energy": ProgrammingCondition(200, 2.0, 0.1),
}


def _check_cycles(cycles) -> float:
    try:
        value = float(cycles)
    except (TypeError, ValueError):
        raise ValueError(f"cycles must be a number >= 0, not {cycles!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"cycles must be a finite number >= 0, not {cycles!r}")
    return value


def _check_condition(cond) -> ProgrammingCondition:
    if not isinstance(cond, ProgrammingCondition):
        raise ValueError(f"expected a ProgrammingCondition, not {cond!r}")
    return cond


class StateDistributions(NamedTuple):
    """Log-normal LRS and HRS of one condition and age: ``ln R ~ N(mu, sigma)`` (R in ohm)."""

    mu_lrs: float
    sigma_lrs: float
    mu_hrs: float
    sigma_hrs: float

    @property
    def window(self) -> float:
        """ln(R_HRS median / R_LRS median)."""
        return self.mu_hrs - self.mu_lrs

    @property
    def overlap_sigma(self) -> float:
        """Number of standard deviations z at which the LRS upper tail (mu_L + z s_L) meets the HRS
        lower tail (mu_H - z s_H): how Fig. 4(a)'s "overlap at three standard deviations" reads."""
        return self.window / (self.sigma_lrs + self.sigma_hrs)


def wear_cycles(cond: ProgrammingCondition) -> float:
    """Cycles ``N_AGE`` after which wear starts to show, for ``cond``.

    Wear is driven by the RESET stress, exponentially accelerated by the RESET voltage (``V_AGE``:
    Fig. 7 at 1.5 V shows none over 1e10 cycles, Fig. 6 at 2.5 V degrades after ~1e6).
    """
    cond = _check_condition(cond)
    return N_AGE_REF * math.exp((2.5 - cond.v_reset) / V_AGE)


def distributions(cond: ProgrammingCondition, cycles=0) -> StateDistributions:
    """LRS and HRS log-normal parameters for ``cond`` after ``cycles`` programming cycles (spreads
    widened above the calibrated pulse range: ``LONG_PULSE_SPREAD``)."""
    cond = _check_condition(cond)
    cycles = _check_cycles(cycles)
    current = cond.i_set_uA / 55.0
    mu_l = math.log(V_C / (cond.i_set_uA * 1e-6))
    s_l = S_L55 * current ** -LRS_SPREAD_EXPONENT
    v_eff = cond.v_reset + V_T * math.log10(cond.pulse_us)
    mu_h = math.log(R_H55) + N_H * math.log(current) + (v_eff - 2.5) / V_H
    wear = math.log1p(cycles / wear_cycles(cond))
    centre, half = (mu_l + mu_h) / 2, (mu_h - mu_l) / 2 / (1 + ALPHA * wear)
    widen = (1 + BETA * wear) * (1 + LONG_PULSE_SPREAD * max(0.0, math.log10(cond.pulse_us / LONG_PULSE_FROM_US)))
    return StateDistributions(centre - half, s_l * widen, centre + half, S_H * widen)


def ber_1t1r(cond: ProgrammingCondition, cycles=0) -> float:
    """Bit error rate of a 1T1R read against a reference at the geometric midpoint of the medians.

    Half the bits are LRS (error if above the reference), half HRS (error if below), as in the
    checkerboard of Fig. 4. Analytic: normal tail probabilities in log-resistance.
    """
    d = distributions(cond, cycles)
    half = d.window / 2
    return float(0.5 * (_q(half / d.sigma_lrs) + _q(half / d.sigma_hrs)))


def pcsa_error_probability(ratio):
    """Probability that the PCSA reads a pair wrong, given ``ratio`` = R(device meant HRS) / R(device
    meant LRS). 1/2 at ratio 1, ~1e-3 at 5, ~4e-7 at 10; ratio < 1 (an inverted pair) tends to 1.

    ``Q((sqrt(r) - 1/sqrt(r)) / SIGMA_PCSA)``: see the ``SIGMA_PCSA`` comment for the form and its source.
    """
    r = np.asarray(ratio, dtype=float)
    if np.any(~(r >= 0)):
        raise ValueError("resistance ratio must be >= 0 (and not NaN)")
    with np.errstate(divide="ignore"):
        margin = np.sqrt(r) - 1 / np.sqrt(r)
    return _q(margin / SIGMA_PCSA)


def expected_pair_error(mean_log_ratio: float, sd_log_ratio: float,
                        error_probability=pcsa_error_probability, points: int = 4001) -> float:
    """E[error_probability(exp(X))] for X ~ N(mean_log_ratio, sd_log_ratio): the pair error rate.

    Trapezoidal rule over mean +- 10 sd (the Gaussian weight outside is < 1e-22), fine enough
    (sd/200) to resolve the fast-falling PCSA tail: accurate to well below 1e-9 absolute.
    """
    if not sd_log_ratio > 0:
        raise ValueError(f"sd_log_ratio must be > 0, not {sd_log_ratio!r}")
    x = np.linspace(mean_log_ratio - 10 * sd_log_ratio, mean_log_ratio + 10 * sd_log_ratio, points)
    weight = np.exp(-0.5 * ((x - mean_log_ratio) / sd_log_ratio) ** 2) / (sd_log_ratio * math.sqrt(2 * math.pi))
    return float(np.trapezoid(error_probability(np.exp(x)) * weight, x))


def ber_2t2r(cond: ProgrammingCondition, cycles=0) -> float:
    """Bit error rate of a 2T2R pair read by the PCSA: E over both devices' distributions of
    :func:`pcsa_error_probability` of their ratio. ln(R_HRS / R_LRS) is the difference of two
    independent normals, so the expectation is one numerical integral."""
    d = distributions(cond, cycles)
    return expected_pair_error(d.window, math.hypot(d.sigma_lrs, d.sigma_hrs))


_BER = {"1t1r": ber_1t1r, "2t2r": ber_2t2r}


def _ber_function(structure: str):
    if structure not in _BER:
        raise ValueError(f"structure must be one of {', '.join(_BER)}, not {structure!r}")
    return _BER[structure]


class ProgrammingEnergy(NamedTuple):
    """Energy of one SET and one RESET pulse (pJ); a 2T2R bit write does one of each."""

    set_pj: float
    reset_pj: float

    @property
    def bit_pj(self) -> float:
        return self.set_pj + self.reset_pj


def programming_energy_pj(cond: ProgrammingCondition) -> ProgrammingEnergy:
    """SET energy ``V_SET * I_SET * (t - T_SET_DELAY)`` and RESET energy
    ``V_RESET * RESET_CURRENT_FRACTION * I_SET * t`` (constants and sources above; Table 1)."""
    cond = _check_condition(cond)
    current_a = cond.i_set_uA * 1e-6
    set_j = V_SET * current_a * (cond.pulse_us - T_SET_DELAY_US) * 1e-6
    reset_j = cond.v_reset * RESET_CURRENT_FRACTION * current_a * cond.pulse_us * 1e-6
    return ProgrammingEnergy(set_j * 1e12, reset_j * 1e12)


def cyclability(cond: ProgrammingCondition, structure: str = "2t2r", max_ber: float = 1e-3,
                max_cycles: float = 1e16) -> float:
    """Programming cycles until the BER of ``structure`` exceeds ``max_ber`` (Table 1's definition).

    0 if it already does when fresh, ``inf`` if it does not within ``max_cycles``. The BER rises
    monotonically with cycles, so this bisects on log10(cycles) to 1e-3 decade.
    """
    ber = _ber_function(structure)
    if ber(cond, 0) > max_ber:
        return 0.0
    if ber(cond, max_cycles) <= max_ber:
        return math.inf
    lo, hi = 0.0, math.log10(max_cycles)
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ber(cond, 10 ** mid) <= max_ber else (lo, mid)
    return 10 ** lo


def sample_error_map_from_condition(shape, cond: ProgrammingCondition, cycles, seed: int,
                                    structure: str = "2t2r") -> np.ndarray:
    """Seeded error map (uint8, 1 = weight reads flipped) at the BER ``cond`` gives after ``cycles``.

    Same as :func:`sample_error_map` at ``ber_2t2r`` (or ``ber_1t1r``): same inputs, same map.
    """
    return sample_error_map(shape, _ber_function(structure)(cond, cycles), seed)


def network_error_maps_from_condition(network, cond: ProgrammingCondition, cycles, seed: int,
                                      replicas=None) -> list[np.ndarray]:
    """:func:`network_error_maps` at the 2T2R BER of ``cond`` after ``cycles`` (same streams)."""
    return network_error_maps(network, ber_2t2r(cond, cycles), seed, replicas)
