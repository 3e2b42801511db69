"""Bad input and safety, tried through the ``hwgen`` command as a new user would (issue 10, section 4).

Every case must end with a one-line error naming the problem (and the option where there is
one), a non-zero exit, and nothing lost or half-written. These tests only drive the command
line and look at files, so they also ran against the code before the fix (where each failed).
"""

import errno
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.ir import Layer, Network

from conftest import idx_dataset

SEED = 5


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def one_line_error(r, *fragments, code=1):
    """Exit ``code``, an ``Error:`` message (one line for exit 1), no traceback, the fragments present."""
    assert r.exit_code == code, (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output and "Aborted!" not in r.output
    if code == 1:
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert lines[-1].startswith("Error: ") and len([ln for ln in lines if ln.startswith("Error")]) == 1, r.output
    for f in fragments:
        assert f in r.output, (f, r.output)


def small_network(tmp_path, sizes=(784, 16, 10), name="net.npz"):
    rng = np.random.default_rng(SEED)
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(0, a + 2, b),
                              output="popcount" if k == len(sizes) - 2 else "sign", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    Network(layers, {"input_threshold": 127, "dataset": "mnist"}).save(tmp_path / name)
    return tmp_path / name


def write_ir(path, header, arrays):
    """An IR-like .npz with a given header and arrays (for corrupt-file cases)."""
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
    return path


def ir_header(n_in, n_out):
    return {"format": "hwgen-ir", "version": 1, "metadata": {},
            "layers": [{"name": "fc1", "n_inputs": n_in, "n_outputs": n_out, "output": "popcount"}]}


def unwritable(tmp_path):
    """A folder path that cannot be created or written, also for root."""
    if os.geteuid() == 0:
        return "/sys/hwgen-cannot-write-here/out"
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return ro / "out"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run every case in its own empty working folder (outputs with default paths land there)."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def array_design(tmp_path):
    out = tmp_path / "arr"
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "sim,synth", "-o", out).exit_code == 0
    return out


@pytest.fixture(scope="module")
def network_design(tmp_path_factory):
    """A small network's design folder (harness view); shared, so tests must not change it."""
    root = tmp_path_factory.mktemp("netd")
    out = root / "netd"
    r = invoke("rtl", "--model", small_network(root), "--n", 32, "--views", "harness", "-o", out)
    assert r.exit_code == 0, r.output
    return out


# -- data loss -------------------------------------------------------------------------------------
def test_rtl_refuses_a_folder_holding_other_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    r = invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", out)
    one_line_error(r, "-o", "not an hwgen output", "never deletes")
    assert (out / "thesis.tex").read_text() == "years of work" and sorted(os.listdir(out)) == ["thesis.tex"]


def test_rtl_refuses_the_working_folder_and_its_parents(tmp_path, monkeypatch):
    work = tmp_path / "cwd" / "work"
    work.mkdir()
    (work / "notes.txt").write_text("keep")
    monkeypatch.chdir(work)
    for target in (work, ".", ".."):
        r = invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", target)
        one_line_error(r, "-o", "working folder")
    assert (work / "notes.txt").read_text() == "keep"


def test_rtl_replaces_its_own_output_but_not_files_added_to_it(tmp_path):
    out = tmp_path / "d"
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "sim", "-o", out).exit_code == 0
    r = invoke("rtl", "--n", 4, "--N", 1, "--M", 2, "--views", "sim,macro", "-o", out)   # own output: replaced
    assert r.exit_code == 0, r.output
    assert json.loads((out / "manifest.json").read_text())["hw"]["M"] == 2
    (out / "my_constraints.sdc").write_text("create_clock")
    r = invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", out)
    one_line_error(r, "-o", "my_constraints.sdc", "hwgen did not write")
    assert (out / "my_constraints.sdc").read_text() == "create_clock"


# -- command injection and paths from files ---------------------------------------------------------
def test_check_refuses_file_names_that_are_commands(array_design, tmp_path):
    manifest = json.loads((array_design / "manifest.json").read_text())
    manifest["files"]["synth"]["verilog"] = ["z.v; exec -- touch PWNED"]
    (array_design / "manifest.json").write_text(json.dumps(manifest))
    for command in (["check", array_design], ["sim", array_design, "--mode", "stream"]):
        r = invoke(*command)
        one_line_error(r, "plain file name", "z.v; exec -- touch PWNED")
    assert not list(tmp_path.rglob("PWNED")) and not os.path.exists("PWNED")


def test_check_refuses_a_top_that_is_not_an_identifier(array_design, tmp_path):
    manifest = json.loads((array_design / "manifest.json").read_text())
    manifest["files"]["synth"]["top"] = "t; exec touch PWNED"
    (array_design / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(invoke("check", array_design, "--view", "synth"), "top", "identifier")
    assert not (tmp_path / "PWNED").exists()


def test_top_cannot_write_outside_the_output_folder(tmp_path):
    out = tmp_path / "a" / "b" / "d"
    r = invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--top", "../../x", "-o", out)
    one_line_error(r, "--top", "identifier", code=2)
    assert not any(p.suffix == ".v" for p in tmp_path.rglob("*"))


# -- temporary files --------------------------------------------------------------------------------
def test_results_do_not_follow_a_symlink_planted_at_a_temporary_name(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    res = tmp_path / "res"
    res.mkdir()
    for name in ("fig9_accuracy_vs_ber.csv", "fig9_accuracy_vs_ber_runs.csv"):
        (res / f"{name}.tmp").symlink_to(victim)
    (res / "fig9_accuracy_vs_ber.tmp.png").symlink_to(victim)
    r = invoke("sweep", "--model", small_network(tmp_path), "--bers", "0,0.1", "--repeats", "1", "--count", "50",
               "--out", res)
    assert r.exit_code == 0, r.output
    assert victim.read_text() == "precious"
    assert (res / "fig9_accuracy_vs_ber.csv").read_text().startswith("network,")


def test_a_killed_generation_leaves_nothing_behind_after_the_next_run(tmp_path):
    """SIGKILL during `hwgen rtl`, then a second run: the hidden temporary folder is gone."""
    out = tmp_path / "big"
    code = ("import os, signal, hwgen.files as f\n"
            "real = f.write_folder\n"
            "def die(out_dir, files, *a, **k):\n"
            "    files = {name: (lambda fh: os.kill(os.getpid(), signal.SIGKILL)) for name in files}\n"
            "    return real(out_dir, files, *a, **k)\n"
            "import hwgen.generate as g; g.write_folder = die\n"
            "from hwgen.cli import main; main()\n")
    proc = subprocess.run([sys.executable, "-c", code, "rtl", "--n", "4", "--N", "1", "--M", "1", "--views", "sim",
                           "-o", str(out)], capture_output=True, cwd=tmp_path)
    assert proc.returncode == -9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".big.")], "the kill left no temporary folder"
    foreign = tmp_path / ".big.not-ours"
    foreign.mkdir()                                       # a hidden folder hwgen did not make stays
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "sim", "-o", out).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".big.")) == [".big.not-ours"]


# -- unbounded work ---------------------------------------------------------------------------------
def test_huge_arrays_are_refused_before_elaboration(tmp_path):
    r = invoke("rtl", "--n", 32, "--N", 4096, "--M", 4096, "-o", tmp_path / "huge")
    one_line_error(r, "17179869184 weight bits", "limit of 4194304")
    assert not (tmp_path / "huge").exists()


def test_a_model_declaring_huge_layers_is_refused_before_loading(tmp_path):
    path = write_ir(tmp_path / "huge.npz", ir_header(1 << 20, 1 << 20),
                    {"w0": np.zeros((1, 1), np.uint64), "t0": np.zeros(1, np.int64)})
    one_line_error(invoke("rtl", "--model", path), "declares", "limit")


# -- tracebacks instead of messages -------------------------------------------------------------------
def test_output_folder_not_writable(tmp_path):
    one_line_error(invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", unwritable(tmp_path)), "cannot write")
    one_line_error(invoke("device", "--out", unwritable(tmp_path)), "--out", "cannot write")
    one_line_error(invoke("sweep", "--model", small_network(tmp_path), "--bers", "0", "--count", "10",
                          "--out", unwritable(tmp_path)), "--out", "cannot write")


def test_output_folder_is_a_symlink(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    one_line_error(invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", tmp_path / "link"), "-o", "symbolic link")
    assert list(real.iterdir()) == []


def test_disk_full_while_writing_a_design(tmp_path, monkeypatch):
    import io

    import hwgen.files

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(hwgen.files, "open", lambda *a, **k: Full(), raising=False)   # the design's file writes
    out = tmp_path / "d"
    one_line_error(invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "sim", "-o", out), "no space left")
    assert [p.name for p in tmp_path.iterdir()] == ["cwd"]     # nothing half-written, no temporary folder


@pytest.mark.parametrize("case", ["npy renamed", "header not an object", "empty", "float thresholds",
                                  "uint64 thresholds", "float weights", "missing array"])
def test_corrupt_model_files(tmp_path, case):
    path = tmp_path / "m.npz"
    good = {"w0": np.zeros((3, 1), np.uint64), "t0": np.zeros(3, np.int64)}
    if case == "npy renamed":
        np.save(tmp_path / "m.npy", np.zeros(3))
        (tmp_path / "m.npy").rename(path)
        expect = "not an .npz archive"
    elif case == "header not an object":
        write_ir(path, ["not", "an", "object"], good)
        expect = "not a JSON object"
    elif case == "empty":
        path.write_bytes(b"")
        expect = "is empty"
    elif case == "float thresholds":
        write_ir(path, ir_header(10, 3), {**good, "t0": np.array([1.5, 2.0, 3.0])})
        expect = "thresholds are float64"
    elif case == "uint64 thresholds":
        write_ir(path, ir_header(10, 3), {**good, "t0": np.array([2**64 - 1, 1, 2], np.uint64)})
        expect = "18446744073709551615"
    elif case == "float weights":
        write_ir(path, ir_header(10, 3), {**good, "w0": np.zeros((3, 1))})
        expect = "weights are float64"
    else:
        write_ir(path, ir_header(10, 3), {"w0": good["w0"]})
        expect = "no array 't0'"
    one_line_error(invoke("rtl", "--model", path, "-o", tmp_path / "d"), expect)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("case", ["empty object", "not an object", "missing verilog", "not json"])
def test_broken_design_folders(array_design, case):
    manifest = array_design / "manifest.json"
    if case == "empty object":
        manifest.write_text("{}")
        expect = "not an hwgen design manifest"
    elif case == "not an object":
        manifest.write_text("[1, 2]")
        expect = "not a JSON object"
    elif case == "not json":
        manifest.write_text("{oops")
        expect = "not valid JSON"
    else:
        (array_design / "hwgen_array.v").unlink()
        expect = "lacks hwgen_array.v"
    one_line_error(invoke("check", array_design, "--no-synth"), expect)
    one_line_error(invoke("sim", array_design, "--mode", "stream"), expect)


def test_training_data_smaller_than_a_batch(tmp_path):
    pytest.importorskip("torch")
    data = idx_dataset(tmp_path / "tiny", n_train=60)
    r = invoke("train", "mnist", "--data-dir", data, "--batch-size", 100, "--epochs", 1, "--hidden", 8,
               "-o", tmp_path / "m.npz")
    one_line_error(r, "60 images", "--batch-size 100")
    assert not (tmp_path / "m.npz").exists()


def test_labels_out_of_range(tmp_path):
    pytest.importorskip("torch")
    data = idx_dataset(tmp_path / "bad", n_train=200, max_label=12)
    r = invoke("train", "mnist", "--data-dir", data, "--batch-size", 50, "--epochs", 1, "--hidden", 8,
               "-o", tmp_path / "m.npz")
    one_line_error(r, "labels must lie in [0, 9]")
    one_line_error(invoke("images", "--dataset", "mnist", "--data-dir", data, "-o", tmp_path / "i.npz"),
                   "labels must lie in [0, 9]")


def test_sweep_with_an_empty_ber_list(tmp_path):
    for bers in (",", "", "0,,1e-3"):
        one_line_error(invoke("sweep", "--bers", bers, "--out", tmp_path / "r"), "--bers", code=2)


# -- "Aborted!" for files that end early ------------------------------------------------------------------
def test_empty_and_truncated_inputs_are_errors_not_aborts(tmp_path, network_design):
    (tmp_path / "empty.npz").write_bytes(b"")
    one_line_error(invoke("rtl", "--model", tmp_path / "empty.npz"), "empty")
    one_line_error(invoke("sim", network_design, "--images", tmp_path / "empty.npz", "--count", 5), "empty")
    data = idx_dataset(tmp_path / "trunc")
    whole = (data / "t10k-images-idx3-ubyte.gz").read_bytes()
    (data / "t10k-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 2])
    one_line_error(invoke("images", "--data-dir", data, "--count", 5, "-o", tmp_path / "i.npz"), "truncated")


# -- silently accepted nonsense -----------------------------------------------------------------------
@pytest.mark.parametrize("args, fragment", [
    (("sim", "{net}", "--count", "-1"), "--count"),
    (("sim", "{net}", "--count", "0"), "--count"),
    (("sweep", "--count", "-5"), "--count"),
    (("sweep", "--count", "0"), "--count"),
    (("check", "{arr}", "--view", "foo"), "--view"),
    (("rtl", "--n", "4", "--N", "1", "--M", "1", "--views", ","), "--views"),
    (("loop", "--tolerance", "-1"), "--tolerance"),
    (("loop", "--tolerance", "nan"), "--tolerance"),
    (("sim", "{arr}", "--seed", "-1"), "--seed"),
    (("train", "mnist", "--dropout", "1.5"), "--dropout"),
    (("train", "mnist", "--hidden", "64,,32"), "--hidden"),
    (("sim", "{arr}", "--condition", "55,2.5"), "--condition"),
])
def test_nonsense_options_are_refused_at_the_edge(array_design, network_design, args, fragment):
    args = [a.format(arr=array_design, net=network_design) for a in args]
    one_line_error(invoke(*args), fragment, code=2)


def test_options_of_the_other_design_kind_are_refused(array_design, network_design):
    one_line_error(invoke("sim", array_design, "--count", 10), "--count applies to network designs", code=2)
    one_line_error(invoke("sim", network_design, "--passes", 10), "--passes applies to array designs", code=2)
    one_line_error(invoke("sim", array_design, "--images", array_design / "manifest.json"), "--images", code=2)


def test_check_names_a_view_the_design_lacks(array_design):
    one_line_error(invoke("check", array_design, "--view", "macro"), "no 'macro' view")


# -- any dataset ------------------------------------------------------------------------------------
def test_numbers_in_scientific_notation_are_accepted(tmp_path):
    r = invoke("loop", "--model", small_network(tmp_path), "--count", 20, "--repeats", 1, "--cycles", "1e9",
               "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    one_line_error(invoke("loop", "--cycles", "1.5"), "--cycles", code=2)


def test_a_condition_outside_the_calibrated_range_warns(network_design):
    r = invoke("sim", network_design, "--condition", "20,1.5,100", "--count", "0")   # stops at --count
    assert "warning: --condition 20,1.5,100" in r.output and "outside the calibrated" in r.output


def test_hwgen_data_with_one_datasets_files_cannot_train_another(tmp_path, monkeypatch):
    mnist = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
    if not os.path.isdir(mnist):
        pytest.skip("the MNIST files are not beside the checkout")
    pytest.importorskip("torch")
    r = invoke("train", "fashion-mnist", "--epochs", 1, "--hidden", 8, "-o", tmp_path / "f.npz",
               env={"HWGEN_DATA": os.path.abspath(mnist)})
    one_line_error(r, "is the mnist file", "not fashion-mnist's")
    assert not (tmp_path / "f.npz").exists()


def test_plain_image_sets_are_accepted(tmp_path, network_design):
    rng = np.random.default_rng(SEED)
    np.savez(tmp_path / "plain.npz", images=rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
             labels=rng.integers(0, 10, 7).astype(np.uint8))
    from hwgen.verify.scenario import network_scenario

    sc = network_scenario(network_design, images=tmp_path / "plain.npz", count=7)
    assert sc.x_bits.shape == (7, 784) and sc.images == str(tmp_path / "plain.npz")
    r = invoke("sim", network_design, "--images", tmp_path / "plain.npz", "--count", 8)
    one_line_error(r, "8 images asked for", "holds 7")
    assert "hwgen fixture" not in r.output


def test_images_command_refuses_bad_ranges_and_outputs(tmp_path):
    data = idx_dataset(tmp_path / "d", n_test=30)
    one_line_error(invoke("images", "--data-dir", data, "--offset", 28, "--count", 5, "-o", tmp_path / "a.npz"),
                   "images 28..32 asked for (--offset 28, --count 5)", "holds 30")
    one_line_error(invoke("images", "--data-dir", data, "--offset", -1, "-o", tmp_path / "a.npz"), "--offset", code=2)
    one_line_error(invoke("images", "--data-dir", data, "-o", tmp_path / "a.txt"), "-o/--out", ".npz", code=2)
    (tmp_path / "dir.npz").mkdir()
    one_line_error(invoke("images", "--data-dir", data, "-o", tmp_path / "dir.npz"), "is a directory", code=2)
    one_line_error(invoke("images", "--data-dir", tmp_path / "missing", "-o", tmp_path / "a.npz"), "--data-dir",
                   code=2)
    assert not (tmp_path / "a.npz").exists() and not (tmp_path / "a.txt").exists()


def test_build_folder_not_writable(array_design, tmp_path):
    r = invoke("sim", array_design, "--sim", "icarus", "--mode", "stream", "--build-dir", unwritable(tmp_path))
    one_line_error(r, "cannot write")
    r = invoke("demo", "--sim", "icarus", "--count", 1, "--out", unwritable(tmp_path))
    one_line_error(r, "cannot write")


def test_images_command_writes_an_image_set(tmp_path):
    data = idx_dataset(tmp_path / "d", n_test=30)
    r = invoke("images", "--dataset", "mnist", "--data-dir", data, "--count", 12, "--offset", 3, "-o",
               tmp_path / "s.npz")
    assert r.exit_code == 0, r.output
    with np.load(tmp_path / "s.npz") as z:
        assert z["images"].shape == (12, 28, 28) and str(z["dataset"]) == "mnist"
    # without --dataset the folder names its dataset (these files are no official MNIST copy)
    assert invoke("images", "--data-dir", data, "--count", 2, "-o", tmp_path / "u.npz").exit_code == 0
    with np.load(tmp_path / "u.npz") as z:
        assert str(z["dataset"]) == "d"
    with zipfile.ZipFile(tmp_path / "s.npz") as z:
        assert {"images.npy", "labels.npy"} <= set(z.namelist())
    one_line_error(invoke("images", "--data-dir", data, "--count", 40, "-o", tmp_path / "t.npz"), "holds 30")
