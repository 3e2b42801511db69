"""Binarized conv nets: the export to the IR equals torch eval exactly (random nets with odd
shapes, stride 2, conv1d, gamma < 0 channels), the shipped conv models keep their promise on the
whole test sets, and ``hwgen train --arch conv`` runs end to end and refuses bad options."""

import copy

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_split
from hwgen.golden import network_forward
from hwgen.ir import Network
from hwgen.train.export import chw_to_hwc, export_network, load_checkpoint, save_checkpoint
from hwgen.train.loop import TrainConfig, predict
from hwgen.train.model import BinaryConvNet, ConvStage

from conftest import idx_dataset

SEED = 20261126

NETS = {
    # odd sizes, a stride-2 stage without pooling, a pooled stage whose floor mode drops a column
    "conv2d_odd": ((11, 9, 3), [(5, 3, 2, 1, 1), (7, 3, 1, 1, 2)], [6], "conv2d"),
    # no padding, kernel 2, pool 3, no dense hidden layer
    "conv2d_nopad": ((10, 12, 2), [(4, 2, 1, 0, 3), (6, 3, 1, 2, 1)], [], "conv2d"),
    "conv1d": ((13, 2), [(4, 3, 1, 1, 2), (5, 2, 2, 1, 1)], [7, 5], "conv1d"),
    "mnist_shape": ((28, 28, 1), [32, 64], [], "conv2d"),
}


def random_conv_net(name, rng, order="pool-bn"):
    """A conv net with random latent weights and random, non-trivial batch-norm statistics: some
    gamma < 0 (flipped channels; in conv stages only where the batch-norm comes before the pool),
    some gamma == 0 (constant channels), means off zero."""
    shape, stages, hidden, kind = NETS[name]
    model = BinaryConvNet(shape, stages, hidden, 10, kind, order=order)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = module.num_features
                gamma = rng.normal(0, 1, n)
                if order == "pool-bn" and any(module is bn for bn in model.conv_norms):
                    gamma = np.abs(gamma) + 0.05
                else:
                    gamma[0] = -abs(gamma[0]) - 0.1
                gamma[1] = 0.0
                module.weight.copy_(torch.from_numpy(gamma))
                module.bias.copy_(torch.from_numpy(rng.normal(0, 2, n)))
                module.running_mean.copy_(torch.from_numpy(rng.normal(0, 4, n)))
                module.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 30, n)))
        for p in model.parameters():
            if p.ndim >= 2:
                p.uniform_(-1, 1)
        model.log_scale.fill_(0.7)
    return model.eval()


def torch_activations(model, x):
    """float64 torch eval of ``model`` on ±1 inputs: every sign layer's output as IR-ordered {0,1}
    bits (conv maps permuted to (H, W, C)) and the logits."""
    acts = []
    model = copy.deepcopy(model).double()
    with torch.no_grad():
        x = torch.from_numpy(x.astype(np.float64) * 2 - 1).reshape(len(x), *model.in_shape)
        x = x.permute(0, 3, 1, 2) if model.kind == "conv2d" else x.permute(0, 2, 1)
        for conv, bn, pool in zip(model.convs, model.conv_norms, model.pools):
            pre = bn(pool(conv(x))) if model.order == "pool-bn" else pool(bn(conv(x)))
            x = torch.where(pre >= 0, 1.0, -1.0).double()
            hwc = x.permute(0, 2, 3, 1) if x.ndim == 4 else x.permute(0, 2, 1)
            acts.append((hwc.reshape(len(x), -1).numpy() > 0).astype(np.uint8))
        x = x.flatten(1)
        for lin, bn in zip(model.hidden, model.norms):
            x = torch.where(bn(lin(x)) >= 0, 1.0, -1.0).double()
            acts.append((x.numpy() > 0).astype(np.uint8))
        logits = model.out(x) * (model.log_scale.exp() / model.sizes[-2] ** 0.5)
    return acts, logits.numpy()


@pytest.mark.parametrize("order", ["pool-bn", "bn-pool"])
@pytest.mark.parametrize("name", sorted(NETS))
def test_export_of_a_random_conv_net_equals_torch_eval(name, order):
    """Every activation bit of every layer, the output popcounts and the predictions of the IR's
    golden model equal a float64 torch eval of the net, on random inputs."""
    print(f"seed={SEED} net={name} order={order}")
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    model = random_conv_net(name, rng, order)
    net = export_network(model, {"input_threshold": 127})
    assert [layer.kind for layer in net.layers[:len(model.convs)]] == [model.kind] * len(model.convs)
    assert all(layer.pad_bit == 0 for layer in net.layers if layer.is_conv)
    x = rng.integers(0, 2, (300, int(np.prod(model.in_shape))), dtype=np.uint8)
    want_acts, logits = torch_activations(model, x)
    pred, pcs, acts = network_forward(net, x)
    assert len(acts) == len(want_acts)
    for k, (got, want) in enumerate(zip(acts, want_acts)):
        assert np.array_equal(got, want), f"layer {net.layers[k].name}: {int((got != want).sum())} bits differ"
        assert 0 < want.mean() < 1, f"layer {net.layers[k].name} is constant: a weak test"
    n_in = net.layers[-1].n_inputs
    scale = float(model.log_scale.detach().exp()) / n_in ** 0.5
    assert np.allclose((2 * pcs - n_in) * scale, logits, atol=1e-9)
    assert np.array_equal(pred, logits.argmax(1))
    assert np.array_equal(pred, predict(model, x, exact=True)[0])


def test_pool_bn_stage_with_negative_gamma_is_refused():
    model = random_conv_net("conv2d_odd", np.random.default_rng(SEED))
    assert not model.conv_norms[0].weight.requires_grad        # pool-bn stages keep gamma at 1
    with torch.no_grad():
        model.conv_norms[1].weight[3] = -0.5
    with pytest.raises(ValueError, match="conv stage 2 has batch-norm gamma < 0 after its max-pool"):
        export_network(model)


def test_chw_to_hwc_permutation():
    perm = chw_to_hwc((2, 3, 4))          # H=2, W=3, C=4
    chw = np.arange(24).reshape(4, 2, 3)
    assert [chw[c, y, x] for y in range(2) for x in range(3) for c in range(4)] == list(perm)
    assert list(chw_to_hwc((3, 2))) == [0, 3, 1, 4, 2, 5]


def test_conv_checkpoint_round_trip_and_weight_flips(tmp_path):
    rng = np.random.default_rng(SEED)
    model = random_conv_net("conv2d_odd", rng).float()
    x = rng.integers(0, 2, (200, int(np.prod(model.in_shape))), dtype=np.uint8)
    path = save_checkpoint(model, tmp_path / "c.pt")
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["arch"]["stages"][0] == {"channels": 5, "kernel": 3, "stride": 2, "padding": 1, "pool": 1}
    assert ckpt["arch"]["order"] == "pool-bn"
    assert ckpt["state"]["convs.0.weight"].dtype == torch.int8
    reloaded = load_checkpoint(path)
    assert isinstance(reloaded, BinaryConvNet)
    assert np.array_equal(predict(reloaded, x, exact=True)[0], predict(model, x, exact=True)[0])
    assert np.array_equal(network_forward(export_network(reloaded), x)[0], network_forward(export_network(model), x)[0])
    # training-time flips: only in train mode, on conv layers too
    model.set_flip_ber(0.5)
    ones = torch.ones(1, 3, 11, 9)
    model.eval()
    assert torch.equal(model.convs[0](ones), model.convs[0](ones))
    model.train()
    assert len({tuple(model.convs[0](ones).flatten().tolist()) for _ in range(10)}) > 1


def test_mlp_recipe_is_unchanged_by_conv_fields():
    """An MLP's recipe (model metadata, fig10's cache keys) has no conv fields."""
    assert set(TrainConfig().as_dict()) == {"sizes", "epochs", "batch_size", "lr", "lr_end", "seed",
                                            "input_threshold", "flip_ber", "dropout", "threads"}
    cfg = TrainConfig(sizes=[784, 10], arch="conv", convs=[32, (64, 5, 1, 2, 2)])
    assert cfg.as_dict()["convs"][1] == {"channels": 64, "kernel": 5, "stride": 1, "padding": 2, "pool": 2}
    assert cfg.describe() == "conv 32,64:5:1:2:2 on 28x28x1, then 3136-10"
    with pytest.raises(ValueError, match="conv stage 2 .*pool 2 is larger"):
        TrainConfig(sizes=[784, 10], arch="conv", convs=[(8, 3, 1, 1, 16), 8])
    with pytest.raises(ValueError, match="at least one conv stage"):
        TrainConfig(sizes=[784, 10], arch="conv")
    with pytest.raises(ValueError, match="padding must be in"):
        TrainConfig(sizes=[784, 10], arch="conv", convs=[ConvStage.of((8, 3, 1, 3))])


# the targets: MNIST >= 99.0%, Fashion-MNIST >= 88% (fashion_mnist_conv: 88.03%)
# (25-50 s each: the two besides mnist_conv run in `make long`)
SHIPPED = [("mnist_conv", 0.99), pytest.param("fashion_mnist_conv", 0.88, marks=pytest.mark.long),
           pytest.param("mnist_conv_adapted", 0.985, marks=pytest.mark.long)]


@pytest.mark.parametrize("name, floor", SHIPPED)
def test_shipped_conv_model_golden_equals_torch_on_the_whole_test_set(name, floor):
    shipped = MODELS_DIR / f"{name}.npz"
    net = Network.load(shipped)
    data_dir = default_data_dir(net.dataset)
    if data_dir is None:
        pytest.skip(f"{net.dataset} test set not found (HWGEN_DATA, ../shared/data/{net.dataset}, or the Debian "
                    f"package's folder)")
    assert net.is_conv and net.layers[0].kind == "conv2d"
    model = load_checkpoint(shipped.with_suffix(".pt"))
    test = load_split("test", data_dir, net.dataset)
    assert len(test.labels) == 10000
    bits = binarize(test.images, net.metadata["input_threshold"])
    torch_pred, _ = predict(model, bits, exact=True)
    golden_pred, _, _ = network_forward(net, bits)
    mismatches = int((torch_pred != golden_pred).sum())
    accuracy = float((golden_pred == test.labels).mean())
    print(f"{name}: golden accuracy {100 * accuracy:.2f}% on {len(bits)} test images, {mismatches} differ from torch")
    assert mismatches == 0
    assert accuracy == pytest.approx(net.metadata["test_accuracy"], abs=1e-9)
    assert accuracy >= floor
    assert sum(layer.n_inputs * layer.n_outputs for layer in net.layers) <= 400_000    # small enough for RTL runs


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_train_cli_conv_on_a_tiny_dataset(tmp_path):
    data = idx_dataset(tmp_path / "tiny", n_train=120, n_test=40)
    out = tmp_path / "c.npz"
    r = invoke("train", "mnist", "--data-dir", data, "--arch", "conv", "--conv", "4,6:3:2:1:1", "--hidden", 8,
               "--epochs", 1, "--batch-size", 20, "-o", out)
    assert r.exit_code == 0, r.output
    assert "export check: golden model on the IR equals torch eval" in r.output
    net = Network.load(out)
    assert [layer.describe() for layer in net.layers] == [
        "conv2d 28x28x1 k3 s1 p1 pool2 -> 14x14x4", "conv2d 14x14x4 k3 s2 p1 -> 7x7x6", "294->8", "8->10"]
    assert net.metadata["train"]["arch"] == "conv" and net.metadata["train"]["convs"][0]["channels"] == 4
    card = out.with_suffix(".md").read_text()
    assert "| conv2 | conv2d | 14x14x4 | 3x3, stride 2, padding 1 (-1) | - | 7x7x6 | 6 x 36 |" in card
    assert "--arch conv --conv 4,6:3:2:1:1 --hidden 8 --epochs 1" in card
    assert out.with_suffix(".pt").is_file() and (tmp_path / "c_history.csv").is_file()
    assert isinstance(load_checkpoint(out.with_suffix(".pt")), BinaryConvNet)


@pytest.mark.parametrize("args, fragment", [
    (("--conv", "32"), "applies to --arch conv only"),
    (("--arch", "conv", "--conv", "32,,64"), "--conv"),
    (("--arch", "conv", "--conv", "32:3:1:1:2:9"), "CHANNELS[:KERNEL"),
    (("--arch", "conv", "--conv", "32x3"), "CHANNELS[:KERNEL"),
    (("--arch", "conv", "--conv", "32:3:1:3"), "padding must be in [0, kernel - 1]"),
    (("--arch", "conv", "--conv", "0"), "channels must be an integer"),
    (("--arch", "conv", "--conv", "8,8,8,8,8"), "conv stage 5 (8): pool 2 is larger than the 1x1 conv output"),
    (("--arch", "conv", "--conv", "8:29:1:0"), "does not fit the 28x28 input"),
    (("--arch", "conv", "--hidden", "16,none"), "--hidden"),
])
def test_bad_conv_options_are_one_line_errors(args, fragment, tmp_path):
    # An empty data directory: an option that wrongly passed would fail at once on the missing data
    # instead of training a network on whatever MNIST the machine has.
    r = invoke("train", "mnist", *args, "--data-dir", tmp_path, "-o", tmp_path / "never.npz")
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and fragment in r.output, r.output
