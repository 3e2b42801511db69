"""Sweeps and RTL regressions on dask.distributed (hwgen.farm): the results of 2 workers equal
those of one process, a worker killed mid-run loses nothing (its tasks run again), and the
farm options fail with one line. Every cluster here is a LocalCluster of 2 worker processes
on this machine (its scheduler address stands in for a remote one)."""

import csv
import logging
import os
import re
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.data import MODELS_DIR, binarize, load_fixture
from hwgen.errors import ConfigError
from hwgen.farm import Farm, check_address, chunks
from hwgen.ir import Network
from hwgen.study.sweep import sweep_rows
from hwgen.verify import run_network_regression
from hwgen.verify.build import build_name
from hwgen.verify.regression import run_network_regression_farm

from conftest import random_network

distributed = pytest.importorskip("distributed")

SHIPPED = MODELS_DIR / "mnist_bnn.npz"
SAME = ("images", "accuracy", "injected_errors", "outputs_checked", "cycles_per_inference", "initiation_interval",
        "boot_cycles", "seed", "ber", "images_from", "ok")


class KillingFarm(Farm):
    """A Farm whose tasks wait at a gate (a dask Event) until this process has SIGKILLed one worker
    process that holds tasks: no task can finish before the kill, so the victim's tasks are lost
    mid-run for sure. Its nanny starts a new worker; the scheduler runs the lost tasks again."""

    killed = None

    def map(self, fn, items, shared=None, **kw):
        from distributed import Event

        name = f"hwgen-test-gate-{uuid.uuid4().hex}"
        gate = Event(name, client=self.client)

        def gated(item, data):          # a closure: pickled by value, the workers need not import this file
            from distributed import Event

            Event(name).wait()
            return fn(item, data)

        def kill():
            try:
                for _ in range(600):    # bounded: until both workers hold a task (at most ~60 s)
                    busy = {w: list(keys) for w, keys in self.client.processing().items() if keys}
                    if len(busy) == 2:
                        break
                    time.sleep(0.1)
                victim = sorted(busy)[0]
                pid = self.client.run(os.getpid, workers=[victim])[victim]
                os.kill(pid, signal.SIGKILL)
                self.killed = (victim, pid, busy[victim])
                print(f"killed worker {victim} (pid {pid}) holding {busy[victim]}")
            finally:
                gate.set()

        killer = threading.Thread(target=kill)
        killer.start()
        try:
            return super().map(gated, items, shared, **kw)
        finally:
            killer.join()


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(r, expect, code=1):
    assert r.exit_code == code, r.output
    lines = [line for line in r.output.strip().splitlines() if line.strip()]
    assert "Traceback" not in r.output and lines[-1].startswith("Error:") and expect in lines[-1], r.output
    return lines[-1]


def tiny_network(seed: int, sizes=(784, 32, 10)) -> Network:
    """The 784-32-10 random network of test_rtl_network (same seed, same build)."""
    return random_network(seed, sizes)


@pytest.fixture(scope="module")
def shipped():
    net = Network.load(SHIPPED)
    split = load_fixture()
    return net, binarize(split.images[:200], net.input_threshold), split.labels[:200]


# -- options ------------------------------------------------------------------------------------
def test_addresses_and_chunks():
    assert check_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert check_address("tls://head.cluster:8786") == "tls://head.cluster:8786"
    assert check_address("tcp://[::1]:8786") == "tcp://[::1]:8786"
    for bad in ("head", "tcp://head", "http://head:8786", "head:0", "head:99999", "a b:1", ""):
        with pytest.raises(ValueError, match="scheduler address"):
            check_address(bad)
    assert [list(c) for c in chunks(7, 3)] == [[0, 1], [2, 3], [4, 5, 6]]
    assert [len(c) for c in chunks(2, 5)] == [1, 1]
    with pytest.raises(ValueError, match="workers"):
        Farm(workers=0)
    with pytest.raises(ValueError, match="remote scheduler"):
        Farm("head:8786", 2)


def test_farm_option_errors(tmp_path, monkeypatch):
    model = SHIPPED
    base = ("sweep", "--model", model, "--bers", "0", "--count", 10, "--out", tmp_path / "r")
    one_line_error(invoke(*base, "--scheduler", "not an address"), "scheduler address", code=2)
    one_line_error(invoke(*base, "--workers", 0), "--workers", code=2)
    one_line_error(invoke(*base, "--workers", 2, "--scheduler", "tcp://127.0.0.1:8786"),
                   "--workers sizes a local cluster", code=2)
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):      # nothing listens on port 1
        one_line_error(invoke(*base, "--scheduler", "tcp://127.0.0.1:1"),
                       "cannot reach the dask scheduler at tcp://127.0.0.1:1")
    monkeypatch.setattr("hwgen.farm.WORKER_WAIT_S", 1)
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0", silence_logs=logging.ERROR) as empty:
        one_line_error(invoke(*base, "--scheduler", empty.scheduler_address), "has no worker")
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "harness", "-o", tmp_path / "arr").exit_code == 0
    one_line_error(invoke("sim", tmp_path / "arr", "--workers", 2), "--workers applies to network designs", code=2)
    one_line_error(invoke("sim", tmp_path / "arr", "--batches", 2), "--batches applies to network designs", code=2)


# -- sweep --------------------------------------------------------------------------------------
@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model")
def test_sweep_on_two_workers_equals_one_process(tmp_path, monkeypatch):
    """The CLI sweep on a LocalCluster of 2 workers writes the same CSV as --workers 1."""
    monkeypatch.setattr("hwgen.data.default_data_dir", lambda dataset="mnist": None)   # the shipped slice
    seed = 21
    print(f"seed={seed}")
    csvs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        r = invoke("sweep", "--model", SHIPPED, "--bers", "0,1e-2,5e-2", "--repeats", 3, "--count", 200,
                   "--seed", seed, "--out", out, "--workers", workers)
        assert r.exit_code == 0, r.output
        assert ("local cluster of 2 worker processes" in r.output) == (workers == 2), r.output
        csvs[workers] = (out / "fig9_accuracy_vs_ber_runs.csv").read_text()
    assert csvs[1] == csvs[2]
    rows = list(csv.DictReader(csvs[1].splitlines()))
    assert len(rows) == 7 and len({row["seed"] for row in rows}) == 7


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model")
def test_sweep_survives_a_killed_worker(shipped):
    """A worker killed while it holds sweep tasks: the tasks run again elsewhere and every row
    equals the in-process sweep."""
    net, x, y = shipped
    seed = 22
    print(f"seed={seed}")
    bers = (0.0, 1e-3, 1e-2, 3e-2, 6e-2)
    reference = sweep_rows({"net": net}, x, y, bers, 4, seed, progress=False)
    with KillingFarm(workers=2) as farm:
        rows = sweep_rows({"net": net}, x, y, bers, 4, seed, farm, progress=False)
        assert farm.killed is not None, "no worker held a task when the first one finished"
        assert len(farm.client.nthreads()) >= 1
    assert rows == reference
    assert len(rows) == 17


# -- RTL regression -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(network_design):
    """The 784-32-10 network on n=32 arrays, harness view, built for Verilator (shared build), and
    the report of one in-process run of 16 images with device errors, the reference."""
    design, built = network_design("verilator", "par2seq-par2seq", tiny_network(77), 32, ["par2seq", "par2seq"])
    print(f"reference: seed={RTL_SEED} ber={RTL_BER}")
    one = run_network_regression(design, "verilator", ber=RTL_BER, seed=RTL_SEED, count=RTL_COUNT, build=built)
    print(one)
    assert one["injected_errors"] > 0 and one["outputs_checked"] == RTL_COUNT * 11
    return design, built, one


RTL_SEED, RTL_BER, RTL_COUNT = 31, 1e-2, 16


def same_results(a: dict, b: dict):
    for key in SAME:
        assert a[key] == b[key], (key, a[key], b[key])


@pytest.mark.rtl
def test_rtl_batches_on_two_workers_equal_one_run(tiny):
    """2 image batches on 2 workers, each reusing the build made before dispatch: the same
    verdict, accuracy, device errors and cycles as one run over all images."""
    design, built, one = tiny
    print(f"seed={RTL_SEED} ber={RTL_BER}")
    with Farm(workers=2) as farm:
        two = run_network_regression_farm(design, "verilator", farm, ber=RTL_BER, seed=RTL_SEED, count=RTL_COUNT,
                                          build_dir=built.build_dir)
    print(two)
    same_results(two, one)
    assert [b["offset"] for b in two["image_batches"]] == [0, RTL_COUNT // 2]
    assert all(os.path.isfile(b["log"]) for b in two["image_batches"])
    assert two["build_reused"] and two["workers"] == 2
    leftovers = [f.name for f in built.build_dir.iterdir() if f.suffix in (".npz", ".hex", ".json", ".xml")
                 and f"_{RTL_SEED}_" in f.name and re.search(r"_b\d+of\d+_", f.name)]
    assert leftovers == []          # a batch removes its programming image, image slice and reports
    # more batches than images: an error before anything runs, from the CLI and the API
    one_line_error(invoke("sim", design.folder, "--count", 3, "--batches", 5), "--batches 5 is more than the --count "
                   "of 3 images", code=2)
    with Farm(None, 1) as farm, pytest.raises(ConfigError, match="5 batches is more than the 3 images"):
        run_network_regression_farm(design, "verilator", farm, batches=5, count=3, build=built)


@pytest.mark.rtl
def test_rtl_batch_survives_a_killed_worker(tiny):
    """A worker is killed mid-batch (its simulator keeps running as an orphan, writing under its
    own run tag): the batch runs again and the report equals one run's."""
    design, built, one = tiny
    print(f"seed={RTL_SEED} ber={RTL_BER}")
    with KillingFarm(workers=2) as farm:
        two = run_network_regression_farm(design, "verilator", farm, batches=2, ber=RTL_BER, seed=RTL_SEED,
                                          count=RTL_COUNT, build_dir=built.build_dir)
        assert farm.killed is not None, "no worker held a batch"
    print(two)
    same_results(two, one)
    assert len(two["image_batches"]) == 2


@pytest.mark.rtl
def test_rtl_on_a_scheduler_address(tiny):
    """`hwgen sim --scheduler ADDR`: the design's files travel to the workers, which unpack them
    and run in their own build folder (here the shared one, so the build is reused)."""
    design, built, one = tiny
    print(f"seed={RTL_SEED} ber={RTL_BER}")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster:
        r = invoke("sim", design.folder, "--sim", "verilator", "--ber", RTL_BER, "--seed", RTL_SEED,
                   "--count", RTL_COUNT, "--scheduler", cluster.scheduler_address, "--build-dir", built.build_dir)
    print(r.output)
    assert r.exit_code == 0, r.output
    assert f"2 image batches on 2 worker threads of {cluster.scheduler_address}" in r.output
    assert f"RTL accuracy {100 * one['accuracy']:.2f}% on {RTL_COUNT} images" in r.output
    assert f"{one['injected_errors']} device errors" in r.output
    assert "build on each worker" in r.output
    copies = list((Path(tempfile.gettempdir()) / "hwgen-designs").glob(f"*/{design.folder.name}/manifest.json"))
    assert copies, "the workers did not unpack the design"
    assert build_name(design, "harness", "verilator") == built.build_dir.name
