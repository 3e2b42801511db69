"""The cost report of one design on one platform: area, timing, throughput, energy per inference,
TOPS/W and accuracy, as markdown, every number read from the steps' results (which parse the
tools' outputs), never typed in.

The paper's own figures (Hirtzlin et al. 2020, seed 003: 25 nJ per MNIST digit for the
784-1024-1024-10 network, about 14 fJ per read + addition "in advanced node") appear beside
ours, labelled as the paper's, with ours also projected to that node (:func:`at_paper_node`).

Beside ``report.md`` the step writes ``energy.csv`` (J per item per block and kind) and
``energy.png``: a stacked bar per block (clock, data, leakage, RRAM), with a second design's
bars beside them when one is given to compare with (``hwgen flow --compare``).
"""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write
from .steps import read_step
from .synth import BLOCK_ORDER

PAPER_NJ_PER_DIGIT = 25.0          # seed 003, section 4.1
PAPER_FJ_PER_READ_ADD = 14.0       # seed 003, section 4.1 ("in advanced node")
PAPER_NODE_NM, PAPER_VDD = 28.0, 0.9   # that node as the macro model reads it (hwgen/flow/macro.py)
KIND_LABELS = {"clock": "clock", "data": "data", "leakage": "leakage", "rram": "RRAM reads"}


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")):
        if abs(value) < scale * 1000 or prefix == "":
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def read_add_energy(energy: dict) -> float:
    """Energy per 2T2R read + its addition of an energy step's result (its ``read_add_j``;
    :func:`hwgen.flow.energy.read_add_energy`)."""
    from .energy import read_add_energy as per_sense

    return energy.get("read_add_j") or per_sense(energy["scaled"], energy["operations_per_item"]["senses"])


def at_paper_node(energy: dict, platform: str, n: int) -> dict:
    """Our energy per item projected to the paper's node and supply (28 nm, 0.9 V): the CMOS part
    by C V^2 (C with the feature size), the RRAM reads by the macro model's own formula at that
    node (:func:`hwgen.flow.macro.sense_energy_at`). A projection, not a synthesis at 28 nm."""
    from .macro import macro_model, sense_energy_at
    from .platform import get_platform

    plat = get_platform(platform)
    model = macro_model(n, plat)
    cmos_k = (PAPER_NODE_NM / plat.process_nm) * (PAPER_VDD / model.supply_v) ** 2
    rram_k = sense_energy_at(n, PAPER_NODE_NM, PAPER_VDD) / model.sense_energy_j
    per = energy["scaled"]
    senses = energy["operations_per_item"]["senses"]
    rram_read_add = per["block_kinds_j"]["memory"]["rram"]
    cmos_read_add = read_add_energy(energy) * senses - rram_read_add
    return {"cmos_factor": cmos_k, "rram_factor": rram_k, "total_j": per["cmos_j"] * cmos_k + per["rram_j"] * rram_k,
            "read_add_j": (cmos_read_add * cmos_k + rram_read_add * rram_k) / senses}


def energy_rows(label: str, energy: dict) -> list[dict]:
    """``energy.csv`` rows: J per item per block and kind."""
    per = energy["scaled"]["block_kinds_j"]
    return [{"design": label, "block": b, "kind": k, "joules_per_" + energy["item"]: per[b][k]}
            for b in BLOCK_ORDER for k in KIND_LABELS if per[b][k]]


def plot_energy(path, results: dict, title: str) -> Path:
    """Stacked bars of energy per item per block and kind, one bar per result (``{label: energy
    step result}``) side by side in each block's group: all kinds (left), and the CMOS kinds
    alone (right: the RRAM reads would hide them)."""
    import numpy as np
    from matplotlib.patches import Patch

    from ..outputs import new_figure, save_figure

    labels = list(results)
    blocks = [b for b in BLOCK_ORDER if any(sum(r["scaled"]["block_kinds_j"][b].values()) for r in results.values())]
    fig, axes = new_figure((min(16.0, 6.0 + 0.8 * len(blocks) * len(labels)), 4.8), ncols=2)
    width = 0.8 / len(labels)
    x = np.arange(len(blocks))
    colors = {"clock": "#d62728", "data": "#1f77b4", "leakage": "#7f7f7f", "rram": "#2ca02c"}
    hatches = ["", "//", "xx", "..", "\\\\", "oo", "++", "--"]
    for ax, kinds in zip(axes, (tuple(KIND_LABELS), ("clock", "data", "leakage"))):
        top = max(sum(r["scaled"]["block_kinds_j"][b][kind] for kind in kinds) for r in results.values()
                  for b in blocks) * 1e9
        for k, label in enumerate(labels):
            bottom = np.zeros(len(blocks))
            per = results[label]["scaled"]["block_kinds_j"]
            offset = (k - (len(labels) - 1) / 2) * width
            for kind in kinds:
                values = np.array([per[b][kind] * 1e9 for b in blocks])
                ax.bar(x + offset, values, width, bottom=bottom, color=colors[kind], hatch=hatches[k % len(hatches)],
                       edgecolor="white", linewidth=0.5)
                bottom += values
            for xi, total in zip(x, bottom):
                if total > 0.02 * top:           # smaller bars are unreadable; energy.csv has them
                    ax.annotate(f"{total:.3g}", (xi + offset, total), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, blocks, fontsize=8)
        ax.set_ylabel(f"nJ per {next(iter(results.values()))['item']}")
        ax.set_title("all energy" if len(kinds) == 4 else "CMOS only (clock, data, leakage)", fontsize=9)
    handles = [Patch(color=colors[k], label=name) for k, name in KIND_LABELS.items()]
    if len(labels) > 1:
        handles += [Patch(facecolor="white", edgecolor="black", hatch=hatches[k % len(hatches)],
                          label=f"{label}: {results[label]['scaled']['total_j'] * 1e9:.3g} nJ")
                    for k, label in enumerate(labels)]
    axes[0].legend(handles=handles, fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _macro_line(synth: dict) -> str:
    if not synth.get("macros"):
        return " The 2T2R memory is built of flip-flops (synth view)."
    each = ", ".join(f"{m.get('instances', '?')} × {name} ({m['area_um2']:.1f} µm² each)"
                     for name, m in synth["macros"].items())
    return f" RRAM macros: {each}."


def _area(um2: float) -> str:
    return f"{um2 / 1e6:.3f} mm²" if um2 >= 1e5 else f"{um2:,.0f} µm²"


def build_report(folder, regression: dict | None = None, no_energy: tuple | None = None,
                 compare: dict | None = None) -> str:
    """Markdown of the synth, sta and energy results in ``folder`` (``<design>/flow/<platform>_<view>``).
    ``no_energy`` is ``(why, cycles per image)`` for a design whose energy is not modelled;
    ``compare`` is ``{label: (synth, sta, energy)}`` of other runs to set beside this one."""
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
    weights = synth["blocks"]["memory"]["area_um2"] if synth.get("macros") else 0.0
    gating = (f" {synth['clock_gates']} clock-gating cells; {synth['gated_flops']} of the flip-flops are clocked "
              f"only when they load." if synth.get("clock_gates") is not None else "")
    lines += [f"| **total** | **{synth['cells']}** | **{synth['area_um2']:.1f}** | |", "",
              f"Without the weight macros: {_area(synth['area_um2'] - weights)}. "
              f"Flip-flops: {synth['flops']}." + gating + _macro_line(synth), "",
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
              f"n={energy['characterisation']['n']}, {energy['characterisation']['cells']} cells, flat gate-level"
              + (f"; the trees on a {'-'.join(map(str, energy['characterisation']['tree_network']))} network, "
                 f"whose trees hold two group sums as this design's do"
                 if energy['characterisation'].get('tree_network') else "") + ").",
              "", "| block | clock | data | leakage | RRAM reads | total |", "|---|---:|---:|---:|---:|---:|"]
    for name in BLOCK_ORDER:
        if per["blocks_j"].get(name):
            kinds = per["block_kinds_j"][name]
            label = {"memory": "weight macros (pins; senses)", "thresholds": "thresholds (macro)"}.get(name, name)
            lines.append(f"| {label} | " + " | ".join(_si(kinds[k], "J") if kinds[k] else "–" for k in KIND_LABELS)
                         + f" | {_si(per['blocks_j'][name], 'J')} |")
    kinds = per["kinds_j"]
    rram = energy.get("rram_per_item_j", {})
    lines += ["| **total** | " + " | ".join(_si(kinds[k], "J") for k in KIND_LABELS)
              + f" | **{_si(per['total_j'], 'J')}** |", "",
              f"CMOS {_si(per['cmos_j'], 'J')} (clock {kinds['clock'] / per['cmos_j']:.0%} of it), RRAM reads "
              f"{_si(per['rram_j'], 'J')}: {energy['operations_per_item']['senses']:,.0f} weight senses × "
              f"{_si(energy['sense_energy_j'], 'J')}"
              + (f" and {energy['operations_per_item'].get('threshold_bits', 0):,.0f} threshold bits read "
                 f"({_si(rram.get('thresholds', 0), 'J')})." if rram else "."), "",
              f"- {_si(read_add_energy(energy), 'J')} per read + add: a weight's RRAM sense (and the macro's pins), "
              f"its popcount in the cell and its share of the tree, per synapse (the paper's unit)",
              f"- {_si(energy['energy_per_operation_j'], 'J')} per operation: the whole "
              f"design's energy per {item} over 2 operations (an XNOR and an add) per synapse, "
              f"{energy['tops_per_w']:.3g} TOPS/W",
              "", "![energy per block and kind](energy.png) (`energy.csv`: the numbers)"]
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
    if compare:
        lines += _compare_lines(synth, sta, energy, compare)
    if synth["kind"] == "network" and synth["platform"] in ("sky130hd", "nangate45"):
        node = at_paper_node(energy, synth["platform"], energy["characterisation"]["n"])
        total, read_add = per["total_j"], read_add_energy(energy)
        lines += ["", "## Beside the paper", "",
                  f"The paper (seed 003 §4.1) gives {PAPER_NJ_PER_DIGIT:g} nJ per MNIST digit and ~{PAPER_FJ_PER_READ_ADD:g} "
                  f"fJ per read + add \"in advanced node\" (Cadence Encounter on its own netlist and VCDs); hwgen's "
                  f"macro model reads that as {PAPER_NODE_NM:g} nm at {PAPER_VDD:g} V.", "",
                  f"| | this design ({synth['platform']}) | projected to {PAPER_NODE_NM:g} nm, {PAPER_VDD:g} V | paper |",
                  "|---|---:|---:|---:|",
                  f"| energy per {item} | {_si(total, 'J')} ({total / (PAPER_NJ_PER_DIGIT * 1e-9):.2f}×) | "
                  f"{_si(node['total_j'], 'J')} ({node['total_j'] / (PAPER_NJ_PER_DIGIT * 1e-9):.2f}×) | "
                  f"{PAPER_NJ_PER_DIGIT:g} nJ |",
                  f"| per read + add | {_si(read_add, 'J')} ({read_add / (PAPER_FJ_PER_READ_ADD * 1e-15):.2f}×) | "
                  f"{_si(node['read_add_j'], 'J')} ({node['read_add_j'] / (PAPER_FJ_PER_READ_ADD * 1e-15):.2f}×) | "
                  f"~{PAPER_FJ_PER_READ_ADD:g} fJ |", "",
                  f"The projection scales CMOS by C·V² (×{node['cmos_factor']:.3f}) and the RRAM reads by the macro "
                  f"model at that node (×{node['rram_factor']:.3f}). What still differs: this is pre-layout (no clock "
                  f"tree, no wires) with zero-delay activity (no glitches); the RRAM read is a model that counts both "
                  f"bit lines' full swings (an upper bound); the paper's counters, tree and threshold memory are its "
                  f"own netlist, whose activity and storage we do not know."]
    return "\n".join(lines) + "\n"


def _compare_lines(synth, sta, energy, compare: dict) -> list[str]:
    """A table of this run beside others (``{label: (synth, sta, energy)}``)."""
    runs = {"this run": (synth, sta, energy), **compare}

    def cells(s, t, e):
        weights = s["blocks"]["memory"]["area_um2"] if s.get("macros") else 0.0
        per = e["scaled"] if e else None
        return [_area(s["area_um2"] - weights), f"{t['fmax_mhz']:.1f} MHz" if t.get("fmax_mhz") else "–",
                f"{e['cycles_per_item']:g}" if e else "–", _si(per["total_j"], "J") if per else "–",
                _si(per["cmos_j"], "J") if per else "–",
                f"{per['kinds_j']['clock'] / per['cmos_j']:.0%}" if per else "–", _si(per["rram_j"], "J") if per else "–",
                str(s["flops"])]
    lines = ["", "## Compared", "", "| | area w/o weight macros | fmax | cycles | energy | CMOS | clock share of CMOS | "
             "RRAM reads | flip-flops |", "|---|" + "---:|" * 8]
    for label, run in runs.items():
        lines.append(f"| {label} | " + " | ".join(cells(*run)) + " |")
    return lines


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


def load_run(folder) -> tuple[dict, dict, dict | None]:
    """``(synth, sta, energy or None)`` results of a flow folder (``<design>/flow/<platform>_<view>``)."""
    folder = Path(folder)
    energy = read_step(folder / "energy", "energy") if (folder / "energy").is_dir() else None
    return read_step(folder / "synth", "synth"), read_step(folder / "sta", "sta"), energy


def write_report(folder, regression: dict | None = None, no_energy: tuple | None = None,
                 compare: dict | None = None) -> Path:
    """``report.md`` in ``folder``, and for a design with energy ``energy.csv``/``energy.png``;
    ``compare``: ``{label: flow folder}`` of other runs to set beside this one."""
    folder = Path(folder)
    runs = {label: load_run(other) for label, other in (compare or {}).items()}
    path = atomic_write(folder / "report.md", build_report(folder, regression, no_energy, runs))
    if not no_energy:
        from ..outputs import write_csv

        synth, _, energy = load_run(folder)
        results = {"this run": energy, **{label: run[2] for label, run in runs.items() if run[2]}}
        write_csv(folder / "energy.csv", [row for label, e in results.items() for row in energy_rows(label, e)])
        plot_energy(folder / "energy.png", results, f"{synth['top']} on {synth['platform']}: energy per {energy['item']}")
    return path
