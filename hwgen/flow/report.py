"""The cost report of one design on one platform: area, timing, throughput, energy per inference,
TOPS/W and accuracy, as markdown, every number read from the steps' results (which parse the
tools' outputs), never typed in.

The paper's own figures (Hirtzlin et al. 2020, seed 003: 25 nJ per MNIST digit for the
784-1024-1024-10 network, about 14 fJ per read + addition "in advanced node") appear beside
ours, labelled as the paper's.
"""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write
from .steps import read_step
from .synth import BLOCK_ORDER

PAPER_NJ_PER_DIGIT = 25.0          # seed 003, section 4.1
PAPER_FJ_PER_READ_ADD = 14.0       # seed 003, section 4.1 ("in advanced node")


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")):
        if abs(value) < scale * 1000 or prefix == "":
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def read_add_energy(energy: dict) -> float:
    """Energy per 2T2R read + its addition: RRAM sense + the cells' XNOR/counters + the tree,
    per sense (the paper's unit)."""
    per = energy["scaled"]
    senses = energy["operations_per_item"]["senses"]
    return (per["rram_j"] + per["blocks_j"].get("cells", 0) + per["blocks_j"].get("tree", 0)
            + per["blocks_j"].get("memory", 0)) / senses


def _macro_line(synth: dict) -> str:
    if not synth.get("macros"):
        return " The 2T2R memory is built of flip-flops (synth view)."
    each = ", ".join(f"{name}: {m['area_um2']:.1f} µm² each" for name, m in synth["macros"].items())
    return f" 2T2R macros: {synth.get('macro_instances', 0)} instances ({each})."


def build_report(folder, regression: dict | None = None, no_energy: tuple | None = None) -> str:
    """Markdown of the synth, sta and energy results in ``folder`` (``<design>/flow/<platform>_<view>``).
    ``no_energy`` is ``(why, cycles per image)`` for a design whose energy is not modelled."""
    folder = Path(folder)
    synth = read_step(folder / "synth", "synth")
    sta = read_step(folder / "sta", "sta")
    energy = None if no_energy else read_step(folder / "energy", "energy")
    item = energy["item"] if energy else "image"
    items = {"pass": "passes", "image": "images"}.get(item, item + "s")
    per = energy["scaled"] if energy else None
    cycles = energy["cycles_per_item"] if energy else no_energy[1]
    fmax = sta["fmax_mhz"]
    lines = [f"# Cost of `{synth['top']}` on {synth['platform']} ({synth['view']} view)", "",
             f"Design: `{synth['design']}` ({synth['kind']}). Clock constraint {synth['period_ns']:g} ns. "
             f"Numbers below come from Yosys (`stat -liberty`), OpenSTA and the energy model "
             f"(gate-level activity, Liberty energies, the 2T2R macro model).", "",
             "## Area", "", "| block | cells | area (µm²) | share |", "|---|---:|---:|---:|"]
    blocks_area = sum(b["area_um2"] for b in synth["blocks"].values()) or 1.0
    for name in BLOCK_ORDER:
        b = synth["blocks"][name]
        if b["cells"]:
            lines.append(f"| {name} | {b['cells']} | {b['area_um2']:.1f} | {b['area_um2'] / blocks_area:.1%} |")
    lines += [f"| **total** | **{synth['cells']}** | **{synth['area_um2']:.1f}** | |", "",
              f"Flip-flops: {synth['flops']}." + _macro_line(synth), "",
              "## Timing (pre-layout, ideal clock)", "",
              f"OpenSTA after {sta.get('fanout_buffers', 0)} fanout buffers (nets of more than "
              f"{sta.get('fanout_limit')} loads driven through buffer trees, as place and route would; timed only, "
              f"not in area or energy)." if sta.get("fanout_buffers") else "OpenSTA on the netlist as mapped.", "",
              f"- worst setup slack {sta['setup_slack_ns']:.3f} ns, worst hold slack {sta['hold_slack_ns']:.3f} ns "
              f"({'met' if sta['met'] else 'VIOLATED'})",
              f"- critical path: {sta['setup_path']['start']} → {sta['setup_path']['end']}, "
              f"{sta['critical_ns']:.3f} ns",
              f"- fmax {fmax:.1f} MHz" if fmax else "- fmax: not defined (no constrained path)", "",
              "## Throughput", "",
              f"- {cycles:g} cycles per {item} at full throughput"
              + (f" (manifest; {regression['cycles_per_inference_measured']} measured)"
                 if regression and regression.get("cycles_per_inference_measured") else " (manifest)")]
    if fmax:
        lines.append(f"- {fmax * 1e6 / cycles:,.0f} {items}/s at fmax")
    if energy is None:
        lines += ["", f"## Energy per {item}", "", f"Not modelled: {no_energy[0]}."]
        return "\n".join(lines + _regression_lines(regression)) + "\n"
    lines += ["", f"## Energy per {item}", "",
              f"Block-scaled at full throughput and the {synth['period_ns']:g} ns clock "
              f"(characterised on a {'-'.join(map(str, energy['characterisation']['network']))} network, "
              f"n={energy['characterisation']['n']}, {energy['characterisation']['cells']} cells, flat gate-level).",
              "", "| block | energy |", "|---|---:|"]
    for name in BLOCK_ORDER:
        if per["blocks_j"].get(name):
            label = "2T2R macros' input pins" if name == "memory" else name
            lines.append(f"| {label} (CMOS) | {_si(per['blocks_j'][name], 'J')} |")
    lines += [f"| 2T2R senses (RRAM) | {_si(per['rram_j'], 'J')} |",
              f"| **total** | **{_si(per['total_j'], 'J')}** |", "",
              f"By kind: clock {_si(per['kinds_j']['clock'], 'J')}, data {_si(per['kinds_j']['data'], 'J')}, "
              f"leakage {_si(per['kinds_j']['leakage'], 'J')}, RRAM {_si(per['rram_j'], 'J')} "
              f"({energy['operations_per_item']['senses']:,.0f} senses × {_si(energy['sense_energy_j'], 'J')}).", "",
              f"- {energy['tops_per_w']:.3g} TOPS/W (an XNOR and an add per synapse: 2 operations)",
              f"- {_si(read_add_energy(energy), 'J')} per read + add (RRAM sense + XNOR/counter + tree, per synapse)"]
    same = energy.get("same_run")
    if same:
        lines += ["", f"Check on the same run ({same['items']} {items}, {same['cycles']} cycles): flat gate-level "
                  f"{_si(same['flat']['total_j'], 'J')} per {item}, block-scaled {_si(same['scaled']['total_j'], 'J')} "
                  f"({same['deviation']:+.1%})."]
    est = energy.get("structural_estimate")
    if est:
        lines += ["", f"The netlist-free estimate Fig. 10 uses (clock and leakage also scaled per unit of hardware "
                  f"from the characterisation): {_si(est['total_j'], 'J')} per {item} ({est['deviation']:+.1%}; "
                  f"CMOS part {est['cmos_deviation']:+.1%})."]
    lines += _regression_lines(regression)
    if synth["kind"] == "network":
        lines += ["", "## Beside the paper", "",
                  "| | this design | paper (130 nm design, seed 003 §4.1) |", "|---|---:|---:|",
                  f"| energy per {item} | {_si(per['total_j'], 'J')} | {PAPER_NJ_PER_DIGIT:g} nJ per MNIST digit |",
                  f"| per read + add | {_si(read_add_energy(energy), 'J')} | ~{PAPER_FJ_PER_READ_ADD:g} fJ (advanced node) |"]
    return "\n".join(lines) + "\n"


def _regression_lines(regression: dict | None) -> list[str]:
    if regression and "accuracy" in regression:
        return ["", "## Accuracy (RTL regression)", "",
                f"- {regression['simulator']}: {regression['accuracy']:.2%} on {regression.get('images')} test images "
                f"at BER {regression.get('ber', 0):g}; every class and popcount equal to the golden model"]
    if regression:
        return ["", "## RTL regression", "",
                f"- {regression['simulator']}: {regression.get('passes')} passes at BER {regression.get('ber', 0):g}, "
                f"every activation and popcount equal to the golden model (an array has no accuracy)"]
    return []


def write_report(folder, regression: dict | None = None, no_energy: tuple | None = None) -> Path:
    return atomic_write(Path(folder) / "report.md", build_report(folder, regression, no_energy))
