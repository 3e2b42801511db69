import os

import pytest

from hwgen.generate import generate_array, generate_component
from hwgen.hwconfig import HwConfig
from hwgen import sim as simulators

SIMS = simulators.SIMULATORS


class Built:
    """A generated and compiled design, ready for :func:`hwgen.sim.run`."""

    def __init__(self, sim, runner, top, build_dir, manifest_path, manifest):
        self.sim, self.runner, self.top, self.build_dir = sim, runner, top, build_dir
        self.manifest_path, self.manifest = manifest_path, manifest

    def run(self, module, tag, testcase=None, **env):
        return simulators.run(self.runner, self.top, module, self.build_dir, env, tag=tag, testcase=testcase)


@pytest.fixture(scope="session")
def build_array(tmp_path_factory):
    """Generate + compile an array once per (simulator, hw) in the session."""
    cache = {}

    def get(sim, hw: HwConfig, view="sim"):
        key = (sim, hw, view)
        if key not in cache:
            root = tmp_path_factory.mktemp(f"{sim}_{view}_{hw.tag()}")
            manifest = generate_array(hw, root / "rtl", views=(view,))
            top = manifest["files"][view]["top"]
            sources = [root / "rtl" / f for f in manifest["files"][view]["verilog"]]
            runner = simulators.build(sim, sources, top, root / "build")
            cache[key] = Built(sim, runner, top, root / "build", root / "rtl" / "manifest.json", manifest)
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
            runner = simulators.build(sim, [path], name, root / "build")
            cache[key] = Built(sim, runner, name, root / "build", None, None)
        return cache[key]

    return get


def pytest_report_header(config):
    return f"hwgen RTL simulators: {', '.join(SIMS)} (WAVES={os.environ.get('WAVES', '0')})"


@pytest.fixture(scope="session")
def network_design(tmp_path_factory):
    """Generate (once per key) a network design folder with its harness view and compile it once
    per simulator. Returns ``(design_dir, built)`` where ``built`` feeds run_network_regression."""
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network
    from hwgen.verify import build_network

    designs, builds = {}, {}

    def get(sim, key, network, n, config="par2seq"):
        if key not in designs:
            root = tmp_path_factory.mktemp(f"net_{key}")
            generate_network(network, plan_network(network, n, config), root / "rtl", views=("harness",))
            designs[key] = root
        root = designs[key]
        if (sim, key) not in builds:
            builds[(sim, key)] = build_network(root / "rtl", sim, root / f"build_{sim}")
        return root / "rtl", builds[(sim, key)]

    return get
