"""Shared fixtures: designs generated and compiled once per session (and, for the large network
harness, once per machine-wide test run: a build folder shared by the pytest-xdist workers,
reused when its sources are unchanged)."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from hwgen.generate import generate_array, generate_component
from hwgen.hwconfig import HwConfig
from hwgen.verify import SIMULATORS, build, build_view
from hwgen.verify.build import build_name

SIMS = SIMULATORS


@pytest.fixture(scope="session")
def shared_builds(tmp_path_factory):
    """A folder shared by every xdist worker of this run: identical designs build once there
    (the build takes a lock and reuses an unchanged build)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "shared_builds"
    path.mkdir(exist_ok=True)
    return path


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
            cache[key] = build(sim, [path], name, root / "build")
        return cache[key]

    return get


def pytest_report_header(config):
    return f"hwgen RTL simulators: {', '.join(SIMS)} (WAVES={os.environ.get('WAVES', '0')})"


@pytest.fixture(scope="session")
def network_design(tmp_path_factory, shared_builds):
    """Generate (once per key) a network design folder with its harness view and compile it once
    per simulator (in the shared build folder, so equal Verilog compiles once per run).
    Returns ``(manifest, build)`` for run_network_regression."""
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network

    designs, builds = {}, {}

    def get(sim, key, network, n, config="par2seq"):
        if key not in designs:
            root = tmp_path_factory.mktemp(f"net_{key}")
            designs[key] = generate_network(network, plan_network(network, n, config), root / "rtl",
                                            views=("harness",))
        manifest = designs[key]
        if (sim, key) not in builds:
            builds[(sim, key)] = build_view(manifest, "harness", sim,
                                            shared_builds / build_name(manifest, "harness", sim))
        return manifest, builds[(sim, key)]

    return get


def pytest_configure(config):
    config.addinivalue_line("markers", "wheel: builds the wheel and runs an installed hwgen from an empty folder")


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
