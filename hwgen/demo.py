"""The demo: the main job on shipped files, as a library call (``hwgen demo`` calls it).

Generates the RTL of a trained network (default: the shipped MNIST MLP), runs shipped test
images of its dataset through it on a simulator at BER 0 and 1e-2, checks every class and
output popcount against the golden model, and reports accuracy and cycles per inference.
"""

from __future__ import annotations

import time
from pathlib import Path

from .data import binarize, load_fixture, shipped
from .generate import generate_array, generate_network
from .hwconfig import CONFIGS, HwConfig
from .ir import Network
from .netplan import plan_network
from .verify import build_view, run_array_regression, run_network_regression
from .verify.build import build_name

DEMO_RUNS = ((0.0, 1), (1e-2, 3))      # (BER, seed)


def run_demo(*, sim: str = "verilator", out_root="rtl_out", model=None, count: int = 200, with_array: bool = False,
             build_root="sim_build", verbose: bool = False, progress: bool = True, log=print) -> dict:
    """Run the demo; returns ``{"network": [reports], "array": [reports]}``. Raises
    :class:`hwgen.errors.VerificationError` if the RTL and the golden model ever disagree."""
    model = Path(model) if model is not None else shipped("mnist_bnn.npz")
    network = Network.load(model)
    dataset = network.dataset
    plans = plan_network(network, 32)
    out_dir = Path(out_root) / f"{model.stem}_n32"
    t0 = time.perf_counter()
    manifest = generate_network(network, plans, out_dir, views=("sim", "harness"), model_path=model)
    acc = network.metadata.get("test_accuracy")
    torch_acc = f", {100 * acc:.2f}% in torch" if acc is not None else ""
    log(f"[demo] {model.name} ({dataset}{torch_acc}) -> {out_dir} ({time.perf_counter() - t0:.0f} s): "
        + ", ".join(f"{p.n_inputs}->{p.n_outputs} on {p.hw.tag()}" for p in plans))
    build = build_view(manifest, "harness", sim, Path(build_root) / build_name(manifest, "harness", sim),
                       verbose=verbose)
    log(f"[demo] {sim} build: {'reused' if build.reused else f'{build.build_s:.0f} s'} ({build.build_dir})")
    reports = []
    for ber, seed in DEMO_RUNS:
        r = run_network_regression(manifest, sim, ber=ber, seed=seed, count=count, build=build, verbose=verbose,
                                   progress=progress, log=lambda *_: None)
        reports.append(r)
        log(f"[demo] BER {ber:<5g} RTL accuracy {100 * r['accuracy']:6.2f}% on {r['images']} {dataset} images, "
            f"{r['injected_errors']} device errors: every class and output popcount equal to the golden model; "
            f"{r['cycles_per_inference']} cycles/inference, one image every {r['initiation_interval']} cycles "
            f"({r['inferences_per_s']:.0f} inferences/s simulated)")
    from .golden import network_forward

    fixture = load_fixture(dataset=dataset)
    pred, _, _ = network_forward(network, binarize(fixture.images, network.input_threshold))
    log(f"[demo] for scale, the golden model: {100 * float((pred[:count] == fixture.labels[:count]).mean()):.2f}% on "
        f"these {count}, {100 * float((pred == fixture.labels).mean()):.2f}% on all {len(pred)} shipped {dataset} "
        f"test images" + (f", {100 * acc:.2f}% on the full test set" if acc is not None else ""))
    log(f"[demo] RTL, programming image and manifest in {out_dir}; simulator build and logs in {build.build_dir}")
    arrays = []
    if with_array:
        for config in CONFIGS:
            hw = HwConfig(n=32, N=3, M=3, config=config)
            array = generate_array(hw, Path(out_root) / f"demo_{config}")
            for ber in (0.0, 1e-2):
                r = run_array_regression(array, sim, ber=ber, seed=2024, passes=64, mode="batch",
                                         build_dir=Path(build_root) / f"{sim}_demo_{config}", verbose=verbose,
                                         progress=progress, log=lambda *_: None)
                arrays.append(r)
                log(f"[demo] {hw.tag()} BER {ber:g}: {r['outputs_checked']} outputs equal to the golden model, "
                    f"{r['cycles_per_pass']} cycles per pass")
    return {"network": reports, "array": arrays, "design": str(out_dir)}
