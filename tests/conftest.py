"""Shared fixtures: designs generated and compiled once per session (and, for the large network
harness, once per machine-wide test run: a build folder shared by the pytest-xdist workers,
reused when its sources are unchanged)."""

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from hwgen.generate import generate_array, generate_component
from hwgen.hwconfig import HwConfig
from hwgen.verify import SIMULATORS, build, build_view
from hwgen.verify.build import build_name

SIMS = SIMULATORS


def run_root(tmp_path_factory) -> Path:
    """The folder shared by every xdist worker of this run (each worker's base temp is inside it)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session")
def shared_builds(tmp_path_factory):
    """A folder shared by every xdist worker of this run: identical designs build once there
    (the build takes a lock and reuses an unchanged build)."""
    path = run_root(tmp_path_factory) / "shared_builds"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def compiler_cache(tmp_path_factory):
    """Verilator builds compile through ccache (when installed) into a cache of this run, shared by
    the workers: every build compiles the same Verilator runtime (about a third of a small design's
    build), and tests that build identical Verilog in other folders hit it whole. Set
    ``OBJCACHE`` yourself to choose (``OBJCACHE=`` turns it off)."""
    if "OBJCACHE" in os.environ or shutil.which("ccache") is None:
        yield None
        return
    path = run_root(tmp_path_factory) / "ccache"
    saved = {k: os.environ.get(k) for k in ("OBJCACHE", "CCACHE_DIR")}
    os.environ.update(OBJCACHE="ccache", CCACHE_DIR=str(path))
    yield path
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def build_array(tmp_path_factory):
    """Generate + compile an array once per (simulator, hw, view) in the session; returns a Build."""
    cache = {}

    def get(sim, hw: HwConfig, view="sim"):
        key = (sim, hw, view)
        if key not in cache:
            root = tmp_path_factory.mktemp(f"{sim}_{view}_{hw.tag()}")
            manifest = generate_array(hw, root / "rtl", views=(view,))
            cache[key] = build_view(manifest, view, sim, root / "build")
        return cache[key]

    return get


@pytest.fixture(scope="session")
def build_component(tmp_path_factory):
    """Generate + compile a single component once per (simulator, name) in the session."""
    cache = {}

    def get(sim, name, make, params):
        key = (sim, name)
        if key not in cache:
            root = tmp_path_factory.mktemp(f"{sim}_{name}")
            path = generate_component(make(**params), root / "rtl", name, params)
            cache[key] = build(sim, [path], name, root / "build", one_unit=True)     # a small design
        return cache[key]

    return get


def pytest_report_header(config):
    return f"hwgen RTL simulators: {', '.join(SIMS)} (WAVES={os.environ.get('WAVES', '0')})"


@pytest.fixture(scope="session")
def network_folder(tmp_path_factory):
    """Generate (once per key in the session) a network design folder with its harness view;
    returns its manifest. Tests that only read a design take it from here, and share it with the
    regressions of :func:`network_design` under the same key."""
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network

    designs = {}

    def get(key, network, n, config="par2seq", parallel=1, level_bits=4):
        if key not in designs:
            root = tmp_path_factory.mktemp(f"net_{key}")
            designs[key] = generate_network(network, plan_network(network, n, config, parallel=parallel,
                                                                  level_bits=level_bits),
                                            root / "rtl", views=("harness",))
        return designs[key]

    return get


@pytest.fixture(scope="session")
def network_design(network_folder, shared_builds):
    """A network design folder (:func:`network_folder`) compiled once per simulator (in the shared
    build folder, so equal Verilog compiles once per run). Returns ``(manifest, build)`` for
    run_network_regression."""
    builds = {}

    def get(sim, key, network, n, config="par2seq", parallel=1, level_bits=4):
        manifest = network_folder(key, network, n, config, parallel, level_bits)
        if (sim, key) not in builds:
            builds[(sim, key)] = build_view(manifest, "harness", sim,
                                            shared_builds / build_name(manifest, "harness", sim))
        return manifest, builds[(sim, key)]

    return get


def sim_ber_cases(bers):
    """``(sim, ber, seed)`` parameters of a network regression run at each ``(ber, seed)`` of ``bers``
    on both simulators. Verilator runs every BER in `make test`; Icarus (a network's boot and images
    take it 10-30 s a run) runs the last one (with device errors) in `make test` and the others,
    repetitions of the same check, in `make long`."""
    return [pytest.param(sim, ber, seed, id=f"{sim}-ber{ber:g}",
                         marks=[pytest.mark.long] if sim == "icarus" and k < len(bers) - 1 else [])
            for sim in SIMS for k, (ber, seed) in enumerate(bers)]


def case_sim_ber_cases(cases, bers, icarus=None):
    """``(case, sim, ber, seed)`` parameters: :func:`sim_ber_cases` for each case, and on Icarus only
    for the cases in ``icarus`` (default: all) in `make test`; Icarus on the other cases reads the
    same Verilog as Verilator and runs in `make long`."""
    params = []
    for case in cases:
        for p in sim_ber_cases(bers):
            sim, ber, seed = p.values
            long = bool(p.marks) or (sim == "icarus" and icarus is not None and case not in icarus)
            params.append(pytest.param(case, sim, ber, seed, id=f"{p.id}-{case}",
                                       marks=[pytest.mark.long] if long else []))
    return params


# The order in which `make test` (``--dist loadfile --no-loadscope-reorder``) hands test files to its
# two workers: the longest first (measured; each builds MNIST-sized or several network simulators),
# so the short files fill in at the end and both workers finish together. Files not listed follow
# in collection order.
LONGEST_FIRST = ("test_fpga.py", "test_rtl_ternary_network.py", "test_rtl_network.py", "test_dataset_pipeline.py", "test_brevitas.py", "test_rtl_array.py", "test_rtl_conv.py",
                 "test_wheel.py", "test_rtl_ternary.py", "test_rtl_cell_tree.py", "test_bad_input_commands.py",
                 "test_flow_checks.py", "test_flow_cost.py", "test_train_conv.py", "test_distributed.py",
                 "test_pnr.py", "test_bad_input.py", "test_conv_sim.py", "test_rtl_mnist.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    order = {id(item): k for k, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), order[id(item)]))


def pytest_configure(config):
    config.addinivalue_line("markers", "wheel: builds the wheel and runs an installed hwgen from an empty folder")


def sky130():
    """The sky130hd platform, or a skip when its Liberty/LEF files are not beside the clone (../shared)."""
    from hwgen.errors import ConfigError
    from hwgen.flow.platform import get_platform

    try:
        return get_platform("sky130hd")
    except ConfigError as e:
        pytest.skip(f"sky130hd files not found: {e}")


def random_network(seed: int, sizes=(784, 32, 10)):
    """A random binary MLP (popcount output layer) with thresholds near half the inputs."""
    from hwgen.ir import Layer, Network

    rng = np.random.default_rng(seed)
    layers = []
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        last = k == len(sizes) - 2
        layers.append(Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(a // 2 - a // 16, a // 2 + a // 16, b),
                                      output="popcount" if last else "sign", name=f"fc{k + 1}"))
    return Network(layers, {"input_threshold": 127})


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def write_idx(path, array):
    """A gzipped IDX file of uint8 ``array``."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def idx_dataset(folder, n_train=60, n_test=20, max_label=9, seed=5):
    """The four IDX files of a tiny dataset (random pixels and labels) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        labels = rng.integers(0, 10, n)
        labels[0] = max_label
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


def random_conv_network(kind: str, seed: int):
    """A small random conv network on MNIST-sized inputs, with the edge cases of the conv path:

    - ``conv2d``: 3x3 stride 2 padding 1 (pad -1) with a 3x3 pool that drops the last rows and
      columns (14 -> 4), then 3x3 padding 1 padded with +1 and a 2x2 pool, then dense 40 -> 10;
    - ``conv1d``: the image as 28 time steps of 28 channels, kernel 5 padding 2 with a pool of 2,
      then kernel 3 stride 2 without padding (odd length 14 -> 6), then dense 72 -> 10.

    Thresholds sit near half the inputs, so activations are mixed.
    """
    from hwgen.ir import Layer, Network

    rng = np.random.default_rng(seed)

    def layer(o, i, **conv):
        return Layer.from_bits(rng.integers(0, 2, (o, i)),
                               np.clip(rng.integers(i // 2 - i // 8 - 1, i // 2 + i // 8 + 2, o), 0, i + 1), **conv)

    if kind == "conv2d":
        layers = [layer(6, 9, kind="conv2d", in_shape=(28, 28, 1), kernel=3, stride=2, padding=1, pool=3, name="c1"),
                  layer(10, 54, kind="conv2d", in_shape=(4, 4, 6), kernel=3, padding=1, pad_bit=1, pool=2, name="c2")]
    elif kind == "conv1d":
        layers = [layer(16, 140, kind="conv1d", in_shape=(28, 28), kernel=5, padding=2, pool=2, name="c1"),
                  layer(12, 48, kind="conv1d", in_shape=(14, 16), kernel=3, stride=2, name="c2")]
    else:
        raise ValueError(kind)
    layers.append(Layer.from_bits(rng.integers(0, 2, (10, layers[-1].out_size)), np.zeros(10, dtype=int),
                                  output="popcount", name="out"))
    return Network(layers, {"dataset": "mnist", "input_threshold": 127})


def random_ternary_network(kind: str, seed: int, output: str = "ternary"):
    """A small random ternary network on MNIST-sized inputs (weights -1/0/+1 equally likely,
    thresholds on the score near 0, so activations are mixed):

    - ``dense``: 784 -> 24 -> 10, every layer ternary;
    - ``conv2d``: a ternary 3x3 stride 2 conv with padding 1 (pad -1) and a 3x3 pool that drops the
      last rows and columns (28 -> 14 -> 4), then a dense 96 -> 10 output layer;
    - ``mixed``: 784 -> 24 ternary, then a binary 24 -> 10 output layer.

    ``output="binary"`` makes the output layer of ``dense`` and ``conv2d`` binary (mixed networks).
    """
    from hwgen.ir import Layer, Network

    rng = np.random.default_rng(seed)

    def ternary(o, i, **kw):
        spread = max(1, i // 8)
        return Layer.from_ternary(rng.integers(-1, 2, (o, i)).astype(np.int8), rng.integers(-spread, spread + 1, o),
                                  **kw)

    def binary(o, i, **kw):
        return Layer.from_bits(rng.integers(0, 2, (o, i)), np.clip(rng.integers(i // 2 - i // 8 - 1, i // 2 + i // 8 + 2,
                                                                                o), 0, i + 1), **kw)

    if kind == "mixed":
        kind, output = "dense", "binary"
    if kind == "dense":
        layers = [ternary(24, 784, name="fc1")]
    elif kind == "conv2d":
        layers = [ternary(6, 9, kind="conv2d", in_shape=(28, 28, 1), kernel=3, stride=2, padding=1, pool=3, name="c1")]
    else:
        raise ValueError(kind)
    last = ternary if output == "ternary" else binary
    layers.append(last(10, layers[-1].out_size, output="popcount", name="out"))
    return Network(layers, {"dataset": "mnist", "input_threshold": 127})


def check_network_run(r, design, count, ber):
    """What every network regression asserts beyond the testbench's own golden comparison: all
    ``count`` images' 11 outputs (class + 10 popcounts) checked, errors drawn when the BER says so,
    and the measured cycles per inference and initiation interval equal to the manifest's."""
    print(r)
    assert r["outputs_checked"] == count * 11
    if ber == 0 or ber >= 1e-2:     # a small network may draw no error at 1e-3
        assert (r["injected_errors"] > 0) == (ber > 0)
    assert r["cycles_per_inference"] == design.timing["cycles_per_inference"]
    assert r["initiation_interval"] == design.timing["initiation_interval"]
