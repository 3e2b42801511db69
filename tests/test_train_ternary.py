"""Ternary-weight training (seed 004): t(w) and its straight-through gradient, training-time ternary
errors, batch-norm folding onto the score (exact against torch's float64 eval for every integer
score, ties and clipped edges included), the export of random ternary MLPs and conv nets equal to
torch eval bit for bit, and ``hwgen train --weights ternary`` end to end with its option errors.
Everything runs on random weights or tiny synthetic datasets."""

import copy
import json
import zipfile

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.golden import layer_forward, network_forward
from hwgen.ir import Layer, Network
from hwgen.train.export import export_network, fold_batchnorm_ternary, load_checkpoint, save_checkpoint
from hwgen.train.loop import TrainConfig, predict
from hwgen.train.model import (BinaryConvNet, BinaryLinear, BinaryMLP, TernaryConv1d, TernaryConv2d, TernaryLinear,
                               TernarySTE, inject_ternary_errors, ternarize)

from conftest import idx_dataset

SEED = 20261204


# -- t(w) and the STE ----------------------------------------------------------------------------
def test_ternarize_values_follow_the_documented_rule():
    """t(w) = sign(w) where |w| > 0.7 * mean|w| of the output neuron (channel), else 0; the same for a
    float32 model and its float64 copy."""
    print(f"seed={SEED}")
    w = torch.tensor([[0.9, -0.05, 0.3, -0.6],      # mean|w| 0.4625, delta 0.32375
                      [0.5, 0.5, -0.5, 0.0],        # delta 0.2625
                      [0.0, 0.0, 0.0, 0.0],         # delta 0: all zero
                      [-1e-3, 2e-3, -3e-3, 1e-4]])  # delta 1.1e-3 (per row, not per layer)
    assert ternarize(w).tolist() == [[1, 0, 0, -1], [1, 1, -1, 0], [0, 0, 0, 0], [0, 1, -1, 0]]
    rng = np.random.default_rng(SEED)
    for shape in [(64, 300), (16, 3, 5, 5), (12, 7, 3)]:
        scale = rng.uniform(0.01, 1, (shape[0],) + (1,) * (len(shape) - 1))      # per-row scales
        w = torch.from_numpy((rng.uniform(-1, 1, shape) * scale).astype(np.float32))
        w64 = w.double().numpy().reshape(shape[0], -1)
        want = np.where(np.abs(w64) > 0.7 * np.abs(w64).mean(axis=1, keepdims=True), np.sign(w64), 0)
        t = ternarize(w)
        assert t.dtype == torch.float32 and np.array_equal(t.numpy().reshape(shape[0], -1), want)
        assert torch.equal(ternarize(w.double()), t.double())
        zeros = float((t == 0).double().mean())
        assert 0.3 < zeros < 0.4, zeros           # uniform weights: P(|w| <= 0.35) = 0.35
    # a stored ternary checkpoint ternarizes to itself
    t = ternarize(torch.from_numpy(rng.normal(0, 1, (20, 50))))
    assert torch.equal(ternarize(t), t)


def test_ternary_ste_gradient_is_the_binary_one():
    """The backward pass of t(w) is the hardtanh STE: the upstream gradient where |w| <= 1 (zero
    weights included), 0 elsewhere; delta gets none."""
    w = torch.tensor([[0.8, -0.01, 1.5, -0.3], [-2.0, 0.02, 0.9, -1.0]], requires_grad=True)
    t = TernarySTE.apply(w)
    assert t.tolist() == [[1, 0, 1, 0], [-1, 0, 1, -1]]
    upstream = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    t.backward(upstream)
    assert w.grad.tolist() == [[1.0, 2.0, 0.0, 4.0], [0.0, 6.0, 7.0, 8.0]]
    # through a layer: the same gradient as the binary layer's for the same latent weights
    torch.manual_seed(SEED)
    tern, binary = TernaryLinear(6, 3), BinaryLinear(6, 3)
    with torch.no_grad():
        binary.weight.copy_(tern.weight)
    x = torch.randn(4, 6)
    tern(x).sum().backward()
    binary(x).sum().backward()
    assert torch.equal(tern.weight.grad, binary.weight.grad)


def test_ternary_training_errors():
    """0 -> ±1 at zero_as_pm (each sign half the time), ±1 -> 0 at pm_as_zero, ±1 -> ∓1 at the sign-flip
    rate; fresh at every training forward pass, none in eval mode."""
    print(f"seed={SEED}")
    torch.manual_seed(SEED)
    t = ternarize(torch.randn(400, 1000))
    zero, plus = t == 0, t == 1
    got = inject_ternary_errors(t, zero_as_pm=0.3, pm_as_zero=0.2, sign_flip=0.1)
    assert set(got.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert abs(float((got[zero] != 0).double().mean()) - 0.3) < 0.01
    assert abs(float((got[zero] == 1).double().mean()) - 0.15) < 0.01
    assert abs(float((got[~zero] == 0).double().mean()) - 0.2) < 0.01
    assert abs(float((got[~zero] == -t[~zero]).double().mean()) - 0.1) < 0.01
    assert abs(float((got[plus] == 1).double().mean()) - 0.7) < 0.01
    assert torch.equal(inject_ternary_errors(t), t)
    with pytest.raises(ValueError, match="at most 1"):
        inject_ternary_errors(t, pm_as_zero=0.6, sign_flip=0.5)

    model = BinaryMLP([16, 8, 4], weights="ternary", zero_as_pm=0.2, pm_as_zero=0.1, flip_ber=0.05)
    assert all(isinstance(layer, TernaryLinear) for layer in [*model.hidden, model.out])
    x = torch.ones(3, 16)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert len({tuple(model.out(torch.ones(1, 8)).flatten().tolist()) for _ in range(20)}) > 1
    conv = BinaryConvNet((6, 6, 2), [4], [], 3, weights="ternary", zero_as_pm=0.5)
    assert isinstance(conv.convs[0], TernaryConv2d)
    assert isinstance(BinaryConvNet((8, 2), [4], [], 3, "conv1d", weights="ternary").convs[0], TernaryConv1d)
    ones = torch.ones(1, 2, 6, 6)
    conv.train()
    assert len({tuple(conv.convs[0](ones).flatten().tolist()) for _ in range(10)}) > 1
    # the binary path builds the binary layers it always did, and refuses ternary rates
    assert type(BinaryMLP([16, 8, 4]).out) is BinaryLinear
    with pytest.raises(ValueError, match="ternary error rates"):
        BinaryMLP([16, 8, 4], zero_as_pm=0.1)
    with pytest.raises(ValueError, match="zero_as_pm must be in"):
        BinaryMLP([16, 8, 4], weights="ternary", zero_as_pm=1.5)


# -- batch-norm folding --------------------------------------------------------------------------
def random_bn(bn, n_in, rng, positive=False):
    """Random eval statistics on the scale of an ``n_in``-input ternary score, and the edge cases:
    channel 0 gamma < 0 (unless ``positive``), 1 gamma == 0, 2-5 exact ties (beta 0, integer means of
    both parities, negative gamma for one unless ``positive``), 6 a mean beyond +n_in, 7 beyond -n_in."""
    n = bn.num_features
    gamma = rng.normal(0, 1, n)
    gamma = np.abs(gamma) + 0.05 if positive else gamma
    beta = rng.normal(0, 1.5, n)
    mu = rng.normal(0, np.sqrt(n_in) / 3, n)
    if not positive:
        gamma[0] = -abs(gamma[0]) - 0.1
    gamma[1] = 0.0
    for ch, mean in zip(range(2, 6), (0.0, 1.0, -2.0, 3.0)):
        if ch < n:
            beta[ch], mu[ch] = 0.0, mean
    if n > 5 and not positive:
        gamma[5] = -abs(gamma[5]) - 0.1
    if n > 7:
        beta[6:8], mu[6], mu[7] = 0.0, n_in + 3.5, -n_in - 3.5
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
        bn.running_mean.copy_(torch.from_numpy(mu))
        bn.running_var.copy_(torch.from_numpy(rng.uniform(0.2, 1.0, n) * n_in))
    return bn.eval()


@pytest.mark.parametrize("norm", ["1d", "2d"])
def test_fold_batchnorm_ternary_is_exact_for_every_score(norm):
    """sign(BN(a)) of torch's float64 eval batch-norm equals ``score >= T`` on the folded weights
    (``score = -a`` on gamma < 0 rows) for every integer a in [-I, I]: ties a == c, gamma < 0,
    gamma == 0, thresholds clipped at -I and I + 1. The naive ceil(c) fails some ties."""
    print(f"seed={SEED} norm={norm}")
    rng = np.random.default_rng(SEED)
    n_in, n_out = 41, 96
    bn = torch.nn.BatchNorm1d(n_out) if norm == "1d" else torch.nn.BatchNorm2d(n_out)
    bn = random_bn(bn.double(), n_in, rng)
    with torch.no_grad():           # more ties: beta 0 and integer means on a quarter of the channels
        bn.bias[8::4] = 0.0
        bn.running_mean[8::4] = torch.from_numpy(rng.integers(-n_in, n_in + 1, len(range(8, n_out, 4))).astype(float))
    values = rng.integers(-1, 2, (n_out, n_in)).astype(np.int8)
    folded, thresholds = fold_batchnorm_ternary(values, bn)
    negative = bn.weight.detach().numpy() < 0
    assert np.array_equal(folded[negative], -values[negative]) and np.array_equal(folded[~negative], values[~negative])
    assert thresholds.min() >= -n_in and thresholds.max() <= n_in + 1
    assert thresholds[1] in (-n_in, n_in + 1) and -n_in in thresholds and n_in + 1 in thresholds
    a = np.arange(-n_in, n_in + 1, dtype=np.float64)[:, None].repeat(n_out, axis=1)       # every score
    with torch.no_grad():
        x = torch.from_numpy(a if norm == "1d" else a[:, :, None, None])
        want = (bn(x) >= 0).numpy().reshape(len(a), n_out)
    got = np.where(negative, -a, a) >= thresholds
    assert np.array_equal(got, want), f"{int((got != want).sum())} (score, neuron) pairs differ"
    # the ties are real: torch sends some a == c below 0, where ceil(c) would say +1
    gamma, beta, mu = (t.detach().numpy() for t in (bn.weight, bn.bias, bn.running_mean))
    tie = (beta == 0) & (gamma > 0) & (np.abs(mu) <= n_in)
    naive = a >= np.ceil(mu)
    assert (naive[:, tie] != want[:, tie]).any(), "no tie went below 0: a weak test"
    # and the golden model's layer gives the same bits on reachable scores of random inputs
    x = rng.integers(0, 2, (3000, n_in), dtype=np.uint8)
    scores = (2 * x.astype(np.float64) - 1) @ values.T.astype(np.float64)
    with torch.no_grad():
        xs = torch.from_numpy(scores if norm == "1d" else scores[:, :, None, None])
        want = (bn(xs) >= 0).numpy().reshape(len(x), n_out).astype(np.uint8)
    acts, pc = layer_forward(Layer.from_ternary(folded, thresholds), x)
    assert np.array_equal(pc, np.where(negative, -scores, scores))
    assert np.array_equal(acts, want)


# -- export of random ternary networks ------------------------------------------------------------
def randomize(model, rng, pool_bn_stages=()):
    """Random latent weights and batch-norm statistics (:func:`random_bn`; gamma > 0 on the stages
    whose batch-norm follows the pool)."""
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 2:
                p.uniform_(-1, 1)
        model.log_scale.fill_(0.7)
    weighted = model.weighted_layers()
    norms = [*getattr(model, "conv_norms", []), *model.norms]
    for k, (layer, bn) in enumerate(zip(weighted, norms)):
        n_in = int(np.prod(layer.weight.shape[1:]))
        random_bn(bn.double(), n_in, rng, positive=k in pool_bn_stages).float()
    return model.eval()


def torch_activations(model, x):
    """float64 torch eval on {0,1} inputs: every sign layer's output as IR-ordered bits, and the logits."""
    acts = []
    model = copy.deepcopy(model).double()
    with torch.no_grad():
        x = torch.from_numpy(x.astype(np.float64) * 2 - 1)
        if isinstance(model, BinaryConvNet):
            x = x.reshape(len(x), *model.in_shape)
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


def check_export(model, x, binary_first: bool = False):
    """The exported IR equals torch eval: every activation bit, the scores and predictions.
    ``binary_first``: a mixed model, whose first layer exports binary and the others ternary."""
    net = export_network(model, {"input_threshold": 127})
    assert net.version == 3 and [layer.is_ternary for layer in net.layers] == [
        not (binary_first and k == 0) for k in range(len(net.layers))]
    for layer in net.layers[1 if binary_first else 0:]:
        assert 0.2 < float((layer.values() == 0).mean()) < 0.5
    want_acts, logits = torch_activations(model, x)
    pred, scores, acts = network_forward(net, x)
    assert len(acts) == len(want_acts)
    for k, (got, want) in enumerate(zip(acts, want_acts)):
        assert np.array_equal(got, want), f"layer {net.layers[k].name}: {int((got != want).sum())} bits differ"
        assert 0 < want.mean() < 1, f"layer {net.layers[k].name} is constant: a weak test"
    scale = float(model.log_scale.detach().exp()) / net.layers[-1].n_inputs ** 0.5
    assert np.allclose(scores * scale, logits, atol=1e-9)     # the output layer's scores are the class scores
    assert np.array_equal(pred, logits.argmax(1))
    assert np.array_equal(pred, predict(model, x, exact=True)[0])
    return net


def test_export_of_a_random_ternary_mlp_equals_torch_eval():
    print(f"seed={SEED}")
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    model = randomize(BinaryMLP([61, 48, 40, 10], weights="ternary"), rng)
    x = rng.integers(0, 2, (2000, 61), dtype=np.uint8)
    net = check_export(model, x)
    assert [layer.describe() for layer in net.layers] == ["61->48", "48->40", "40->10"]
    assert net.layers[0].thresholds[1] in (-61, 62)        # gamma == 0
    # clipped edges: a mean beyond +I never fires for gamma > 0 (always for gamma < 0), beyond -I the opposite
    positive = model.norms[0].weight.detach().numpy()[6:8] > 0
    assert list(net.layers[0].thresholds[6:8]) == [62 if positive[0] else -61, -61 if positive[1] else 62]


CONV_NETS = {
    # stride-2 stage without pooling after a pooled one whose floor mode drops a column
    "conv2d": ((11, 9, 3), [(8, 3, 1, 1, 2), (9, 3, 2, 1, 1)], [12], "conv2d"),
    "conv2d_pool3": ((10, 12, 2), [(8, 2, 1, 0, 3)], [], "conv2d"),
    "conv1d": ((13, 2), [(8, 3, 1, 1, 2), (9, 2, 2, 1, 1)], [10], "conv1d"),
}


@pytest.mark.parametrize("order", ["pool-bn", "bn-pool"])
@pytest.mark.parametrize("name", sorted(CONV_NETS))
def test_export_of_a_random_ternary_conv_net_equals_torch_eval(name, order):
    """Every activation bit, the output scores and predictions: the max-pooled score against one
    threshold per channel (pool-bn: gamma > 0; bn-pool: gamma < 0 channels flipped), ties included."""
    print(f"seed={SEED} net={name} order={order}")
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    shape, stages, hidden, kind = CONV_NETS[name]
    model = BinaryConvNet(shape, stages, hidden, 10, kind, order=order, weights="ternary")
    model = randomize(model, rng, pool_bn_stages=range(len(stages)) if order == "pool-bn" else ())
    net = check_export(model, rng.integers(0, 2, (400, int(np.prod(shape))), dtype=np.uint8))
    assert all(layer.pad_bit == 0 for layer in net.layers if layer.is_conv)


def test_ternary_checkpoint_round_trip(tmp_path):
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    for k, model in enumerate([BinaryMLP([30, 20, 10], weights="ternary"),
                               BinaryConvNet((6, 7, 2), [(5, 3, 1, 1, 2)], [8], 10, weights="ternary")]):
        model = randomize(model, rng, pool_bn_stages=(0,) if k else ()).float()
        x = rng.integers(0, 2, (300, 30 if k == 0 else 84), dtype=np.uint8)
        path = save_checkpoint(model, tmp_path / f"m{k}.pt")
        ckpt = torch.load(path, weights_only=True)
        assert ckpt["weights"] == "ternary"
        stored = ckpt["state"]["out.weight"]
        assert stored.dtype == torch.int8 and set(stored.unique().tolist()) == {-1, 0, 1}
        reloaded = load_checkpoint(path)
        assert reloaded.weight_kind == "ternary"
        assert np.array_equal(predict(reloaded, x, exact=True)[0], predict(model, x, exact=True)[0])
        a, b = export_network(reloaded), export_network(model)
        assert all(np.array_equal(p.values(), q.values()) and np.array_equal(p.thresholds, q.thresholds)
                   for p, q in zip(a.layers, b.layers))


def test_train_config_ternary_fields():
    cfg = TrainConfig(sizes=[784, 10], weights="ternary", flip_zero_as_pm=0.01, flip_pm_as_zero=0.02, flip_ber=0.03)
    d = cfg.as_dict()
    assert (d["weights"], d["flip_zero_as_pm"], d["flip_pm_as_zero"], d["flip_ber"]) == ("ternary", 0.01, 0.02, 0.03)
    model = cfg.build_model()
    assert (model.out.zero_as_pm, model.out.pm_as_zero, model.out.flip_ber) == (0.01, 0.02, 0.03)
    assert "weights" not in TrainConfig().as_dict()          # a binary recipe reads as before
    with pytest.raises(ValueError, match="flip_zero_as_pm is a ternary error rate"):
        TrainConfig(flip_zero_as_pm=0.1)
    with pytest.raises(ValueError, match="flip_pm_as_zero must be in"):
        TrainConfig(weights="ternary", flip_pm_as_zero=2.0)
    with pytest.raises(ValueError, match="weights must be one of"):
        TrainConfig(weights="quaternary")
    with pytest.raises(ValueError, match="flip_pm_as_zero \\+ flip_ber must be at most 1"):
        TrainConfig(weights="ternary", flip_pm_as_zero=0.6, flip_ber=0.5)


# -- hwgen train ---------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ir_header(path):
    with zipfile.ZipFile(path) as zf, zf.open("header.npy") as f:
        return json.loads(bytes(np.lib.format.read_array(f)).decode())


def test_train_cli_ternary_mlp_on_a_tiny_dataset(tmp_path):
    data = idx_dataset(tmp_path / "tiny", n_train=120, n_test=40)
    out = tmp_path / "t.npz"
    r = invoke("train", "mnist", "--data-dir", data, "--weights", "ternary", "--hidden", "24,16", "--epochs", 1,
               "--batch-size", 20, "--threads", 1, "-o", out)
    assert r.exit_code == 0, r.output
    print(r.output)
    assert "export check: golden model on the IR equals torch eval (float64) on all 40 test images" in r.output
    assert "ternary weights, training-time errors: sign flip 0, 0 as ±1 0, ±1 as 0 0" in r.output
    assert "[train] zero weights: fc1 " in r.output
    assert ir_header(out)["version"] == 3
    net = Network.load(out)
    assert net.version == 3 and [layer.describe() for layer in net.layers] == ["784->24", "24->16", "16->10"]
    assert all(layer.is_ternary for layer in net.layers)
    zeros = [float((layer.values() == 0).mean()) for layer in net.layers]
    assert all(z > 0 for z in zeros), zeros
    assert net.metadata["train"]["weights"] == "ternary"
    card = out.with_suffix(".md").read_text()
    assert card.splitlines()[2].startswith("Ternary-weight MLP 784-24-16-10")
    assert "delta = 0.7 * mean|w|" in card and "Li & Liu" in card
    assert f"fc1 {100 * zeros[0]:.1f}%" in card
    assert "sign flip 0, a 0 read as ±1\n  0, a ±1 read as 0 0" in card
    assert "--weights ternary --flip-zero-as-pm 0 --flip-pm-as-zero 0" in card
    assert "| zero weights |" in card
    model = load_checkpoint(out.with_suffix(".pt"))
    assert model.weight_kind == "ternary"


def test_train_cli_ternary_with_error_rates_and_conv(tmp_path):
    data = idx_dataset(tmp_path / "tiny", n_train=80, n_test=20)
    out = tmp_path / "e.npz"
    r = invoke("train", "mnist", "--data-dir", data, "--weights", "ternary", "--hidden", 16, "--epochs", 1,
               "--batch-size", 20, "--threads", 1, "--flip-zero-as-pm", 0.05, "--flip-pm-as-zero", 0.1,
               "--flip-ber", 0.02, "-o", out)
    assert r.exit_code == 0, r.output
    assert "sign flip 0.02, 0 as ±1 0.05, ±1 as 0 0.1" in r.output
    assert "export check: golden model on the IR equals torch eval" in r.output
    train = Network.load(out).metadata["train"]
    assert (train["flip_zero_as_pm"], train["flip_pm_as_zero"], train["flip_ber"]) == (0.05, 0.1, 0.02)
    assert "sign flip 0.02, a 0 read as ±1\n  0.05, a ±1 read as 0 0.1" in out.with_suffix(".md").read_text()
    out = tmp_path / "c.npz"
    r = invoke("train", "mnist", "--data-dir", data, "--weights", "ternary", "--arch", "conv", "--conv", "4,6:3:2:1:1",
               "--hidden", 8, "--epochs", 1, "--batch-size", 20, "--threads", 1, "--flip-zero-as-pm", 0.05, "-o", out)
    assert r.exit_code == 0, r.output
    assert "export check: golden model on the IR equals torch eval" in r.output
    net = Network.load(out)
    assert net.version == 3 and net.is_conv and all(layer.is_ternary for layer in net.layers)
    card = out.with_suffix(".md").read_text()
    assert card.splitlines()[2].startswith("Ternary-weight conv net")
    assert "--weights ternary --flip-zero-as-pm 0.05 --flip-pm-as-zero 0 --threads 1" in card


@pytest.mark.parametrize("args, fragment", [
    (("--flip-zero-as-pm", "0.1"), "Invalid value for --flip-zero-as-pm: applies to --weights ternary only"),
    (("--weights", "binary", "--flip-pm-as-zero", "0"),
     "Invalid value for --flip-pm-as-zero: applies to --weights ternary only"),
    (("--weights", "ternary", "--flip-zero-as-pm", "1.5"), "must be a number in [0, 1], not '1.5'"),
    (("--weights", "ternary", "--flip-pm-as-zero", "-0.1"), "must be a number in [0, 1], not '-0.1'"),
    (("--weights", "ternary", "--flip-zero-as-pm", "nan"), "must be a number in [0, 1], not 'nan'"),
    (("--weights", "quaternary"), "Invalid value for '--weights'"),
    (("--weights", "ternary", "--flip-pm-as-zero", "0.7", "--flip-ber", "0.5"),
     "a ±1 weight reads as 0 or flips, not both: --flip-pm-as-zero 0.7 plus --flip-ber 0.5 is over 1"),
])
def test_bad_ternary_options_are_one_line_errors(args, fragment, tmp_path):
    # An empty data directory: an option that wrongly passed would fail at once on the missing data
    # instead of training a network on whatever MNIST the machine has.
    r = invoke("train", "mnist", *args, "--data-dir", tmp_path, "-o", tmp_path / "never.npz")
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert "Traceback" not in r.output and len(errors) == 1 and fragment in errors[0], r.output


def test_shipped_ternary_model_golden_equals_torch_on_the_whole_test_set():
    from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_split

    shipped = MODELS_DIR / "mnist_tnn.npz"
    net = Network.load(shipped)
    data_dir = default_data_dir(net.dataset)
    if data_dir is None:
        pytest.skip(f"{net.dataset} test set not found (HWGEN_DATA, ../shared/data/{net.dataset})")
    assert net.is_ternary and all(layer.is_ternary for layer in net.layers)
    test = load_split("test", data_dir, net.dataset)
    assert len(test.labels) == 10000
    bits = binarize(test.images, net.input_threshold)
    torch_pred, _ = predict(load_checkpoint(shipped.with_suffix(".pt")), bits, exact=True)
    golden_pred, _, _ = network_forward(net, bits)
    accuracy = float((golden_pred == test.labels).mean())
    print(f"mnist_tnn: golden accuracy {100 * accuracy:.2f}%, {int((torch_pred != golden_pred).sum())} differ from torch")
    assert np.array_equal(torch_pred, golden_pred)
    assert accuracy == pytest.approx(net.metadata["test_accuracy"], abs=1e-9) and accuracy >= 0.97
    zeros = np.mean(np.concatenate([(layer.values() == 0).ravel() for layer in net.layers]))
    assert 0.2 < zeros < 0.8
