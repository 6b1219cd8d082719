"""The SCHP network: exact checkpoint key layout, strict loading, clear misfits, the reference extractor's labels.

Seeded random weights in the public checkpoint's layout (tests/data/schp_lip_keys.txt, read from
exp-schp-201908261155-lip.pth: ``module.`` prefix, wrapped in ``{'state_dict': ...}``) stand in for the file.
"""

import math
import sys
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posewarp.errors import PosewarpError
from posewarp.formats import parsing
from posewarp.preprocess import parser as P
from posewarp.preprocess.bn_folding import fold_batch_norms
from posewarp.preprocess.pyramid_factorized import FactorizedPyramidPooling, interpolation_matrix
from posewarp.preprocess.schp_net import ActivatedBatchNorm2d, SCHPNet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import reference_schp  # noqa: E402  SCHP's simple_extractor steps (C.3), also benchmarks/parse.py's baseline

KEY_FILE = Path(__file__).parent / "data" / "schp_lip_keys.txt"


def reference_keys(num_classes: int = 20) -> "OrderedDict[str, tuple[int, ...]]":
    """The checkpoint's keys and shapes (``module.`` prefix kept); the two class heads resized for ATR/Pascal."""
    keys = OrderedDict()
    for line in KEY_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split()
            shape = tuple(int(s) for s in shape.split("x"))
            if key.startswith(("module.decoder.conv4.", "module.fushion.3.")):
                shape = (num_classes, *shape[1:])
            keys[key] = shape
    return keys


def random_schp_state(seed: int = 0, num_classes: int = 20, negative: bool = False) -> "OrderedDict[str, torch.Tensor]":
    """Seeded weights scaled so that a forward pass stays finite and gives several labels; ``negative`` gives
    about half of the norms' weights a minus sign (trained InPlaceABN weights may have either sign)."""
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in reference_keys(num_classes).items():
        if len(shape) == 4:
            t = torch.randn(shape, generator=g) * math.sqrt(2.0 / math.prod(shape[1:]))
        elif key.endswith("running_var"):
            t = torch.rand(shape, generator=g) * 1.5 + 0.5
        elif key.endswith("bn3.weight") and ".layer" in key:
            t = torch.rand(shape, generator=g) * 0.2 + 0.1  # keeps 33 residual additions from blowing up
        elif key.endswith(".weight"):
            t = torch.rand(shape, generator=g) + 0.5
        else:
            t = torch.randn(shape, generator=g) * 0.1
        if negative and len(shape) == 1 and key.endswith(".weight"):
            t = t * torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
        state[key] = t
    return state


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    # The public files date from 2019 (PyTorch 1.x): the legacy, non-zip serialisation.
    path = tmp_path_factory.mktemp("schp") / "exp-schp-lip.pth"
    torch.save({"state_dict": random_schp_state(seed=0)}, path, _use_new_zipfile_serialization=False)
    return path


@pytest.fixture(scope="module")
def network(checkpoint):
    return P.load_network(checkpoint, P.DATASETS["lip"])


def test_module_keys_equal_the_checkpoint_s_exactly():
    ours = SCHPNet(num_classes=20).state_dict()
    ref = reference_keys()
    assert ["module." + k for k in ours] == list(ref)  # same keys, same order, no num_batches_tracked
    assert {"module." + k: tuple(v.shape) for k, v in ours.items()} == dict(ref)
    assert sum(math.prod(s) for s in ref.values()) == 66_838_456


def test_random_checkpoint_loads_strictly(checkpoint, network):
    saved = torch.load(checkpoint, weights_only=True)["state_dict"]
    loaded = network.state_dict()
    assert len(loaded) == len(saved) == 603
    for key, value in saved.items():
        assert torch.equal(loaded[key.removeprefix("module.")], value), key
    assert not network.training


@pytest.mark.parametrize("dataset", ["atr", "pascal"])
def test_atr_and_pascal_checkpoints_load_with_their_dataset(network, dataset):
    spec = P.DATASETS[dataset]
    g = torch.Generator().manual_seed(1)
    state = dict(network.state_dict())  # the LIP weights with the two class heads of another size
    for key in ("decoder.conv4.weight", "fushion.3.weight", "decoder.conv4.bias", "fushion.3.bias"):
        state[key] = torch.randn(spec.num_classes, *state[key].shape[1:], generator=g)
    net = P.build_network(state, spec)
    assert net.fushion[3].out_channels == spec.num_classes and net.decoder.conv4.out_channels == spec.num_classes
    assert torch.equal(net.fushion[3].weight, state["fushion.3.weight"])
    with pytest.raises(PosewarpError, match=f"predicts {spec.num_classes} classes.*--dataset {dataset}"):
        P.build_network(state, P.DATASETS["lip"])


def test_misfits_say_what_does_not_fit(tmp_path):
    state = {
        "module.conv1.weight": torch.zeros(64, 3, 3, 3),
        "module.bn1.weight": torch.zeros(65),
        "module.extra.weight": torch.zeros(1),
    }
    path = tmp_path / "partial.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(PosewarpError, match=r"601 missing .*1 unexpected \(e.g. extra.weight\).*1 wrong shape"):
        P.load_network(path, P.DATASETS["lip"])
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(PosewarpError, match="cannot read as a PyTorch weights file"):
        P.load_network(tmp_path / "junk.pth", P.DATASETS["lip"])
    torch.save({"state_dict": [1, 2]}, tmp_path / "list.pth")
    with pytest.raises(PosewarpError, match="not an SCHP checkpoint"):
        P.load_network(tmp_path / "list.pth", P.DATASETS["lip"])
    with pytest.raises(PosewarpError, match="weights file not found"):
        P.load_network(tmp_path / "absent.pth", P.DATASETS["lip"])


class KernelABN(torch.nn.Module):
    """SCHP's compiled InPlaceABN in eval, written out from its kernel (``forward_cpu``/``forward_cuda``):
    ``gamma = |weight| + eps``, ``mul = rsqrt(var + eps) * gamma``, ``x = (x - mean) * mul + bias``, then leaky ReLU
    (``x < 0: x * slope``) or nothing. ``plain_weight`` uses the weight as it is (what plain batch norm does)."""

    def __init__(self, abn, plain_weight=False):
        super().__init__()
        self.abn, self.plain_weight = abn, plain_weight

    def forward(self, x):
        a = self.abn
        gamma = a.weight if self.plain_weight else torch.abs(a.weight) + a.eps
        mul = torch.rsqrt(a.running_var + a.eps) * gamma
        x = (x - a.running_mean[None, :, None, None]) * mul[None, :, None, None] + a.bias[None, :, None, None]
        return torch.where(x < 0, x * 0.01, x) if a.activation == "leaky_relu" else x


def kernel_network(state, plain_weight=False):
    """SCHPNet with every norm replaced by :class:`KernelABN` (an implementation independent of ours)."""
    net = P.build_network(state, P.DATASETS["lip"])
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ActivatedBatchNorm2d):
                setattr(parent, name, KernelABN(child, plain_weight))
    return net.eval()


@pytest.fixture(scope="module")
def signed_state():
    return {k.removeprefix("module."): v for k, v in random_schp_state(seed=7, negative=True).items()}


def test_norm_equals_the_inplace_abn_kernel_with_negative_weights():
    """BN with InPlaceABN's |weight| + eps scale, then leaky ReLU 0.01 (heads) or nothing (backbone)."""
    net = SCHPNet(num_classes=20).eval()
    g = torch.Generator().manual_seed(0)
    for abn in (net.fushion[1], net.layer1[0].bn1):
        n = abn.num_features
        with torch.no_grad():
            abn.weight.copy_(torch.randn(n, generator=g))
            abn.bias.copy_(torch.randn(n, generator=g))
        abn.running_mean.copy_(torch.randn(n, generator=g))
        abn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
        assert (abn.weight < 0).sum() > n // 4
        x = torch.randn(2, n, 3, 3, generator=g)
        torch.testing.assert_close(abn(x), KernelABN(abn)(x), rtol=1e-6, atol=1e-6)
        assert not torch.allclose(abn(x), KernelABN(abn, plain_weight=True)(x), atol=1e-3)
    assert (net.layer1[0].bn1(torch.randn(1, 64, 2, 2) - 10) < 0).any()  # no activation in the backbone's BN


def test_inference_form_keeps_the_function_with_the_effective_scale(signed_state):
    net = P.build_network(signed_state, P.DATASETS["lip"])
    folded = P.build_network(signed_state, P.DATASETS["lip"], inference=True)
    assert not any(isinstance(m, ActivatedBatchNorm2d) for m in folded.modules())
    assert folded.layer1[0].conv1.bias is not None and isinstance(folded.fushion[1], torch.nn.LeakyReLU)
    x = torch.randn(1, 3, 65, 65, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref, out = net(x), folded(x)
    for a, b in [(ref[0][0], out[0][0]), (ref[0][1], out[0][1]), (ref[1][0], out[1][0])]:
        torch.testing.assert_close(b, a, rtol=0, atol=1e-4 * a.abs().max().item())
    with pytest.raises(ValueError, match="no convolution before the norm"):
        fold_batch_norms(torch.nn.Sequential(ActivatedBatchNorm2d(3)))


@pytest.mark.parametrize("size", [(30, 30), (5, 3), (2, 2), (1, 1)])
def test_factorized_pyramid_equals_upsample_then_convolve(signed_state, size):
    """Priors of 1, 2, 3 and 6 bins brought to feature maps larger, smaller and of one pixel.

    The identity is checked in float64, where both orders of summation agree to ~1e-15 of the values' scale on
    any CPU; in float32 the two orders round differently by an amount that depends on the CPU's kernels (1.3e-5
    on an AMD EPYC, under 1e-5 on Intel, for values of scale ~5), so float32 is checked only to a bound that
    covers the rounding of a 4096 x 9-term sum: sqrt(36864) x 2^-24 ~ 1.1e-5 of the scale, with a margin of 10."""
    net = P.build_network(signed_state, P.DATASETS["lip"])
    x = torch.randn(1, 2048, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = net.context_encoding(x)
        out = FactorizedPyramidPooling(net.context_encoding)(x)
        exact = net.context_encoding.double()
        ref64 = exact(x.double())
        out64 = FactorizedPyramidPooling(exact).double()(x.double())
    scale = ref64.abs().max().item()
    torch.testing.assert_close(out64, ref64, rtol=0, atol=1e-12 * scale)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-4 * scale)
    grid = interpolation_matrix(7, 3)[1:-1]  # the upsampling weights, without the padding rows
    line = torch.arange(3.0)
    torch.testing.assert_close(grid.double() @ line.double(), torch.nn.functional.interpolate(
        line[None, None], size=7, mode="linear", align_corners=True)[0, 0].double())  # fmt: skip


# ------------------------------------------------------------------ against SCHP's simple_extractor


def test_labels_equal_the_reference_extractor(network):
    """Same steps, same numbers; run at a 129-pixel input (473 for LIP in use) to keep the test fast."""
    rgb = cv2.resize(np.random.default_rng(5).integers(0, 256, (9, 6, 3)).astype(np.uint8), (45, 71))
    ref_labels, ref_logits = reference_schp.extract_array(network, np.ascontiguousarray(rgb[:, :, ::-1]), size=129)
    parser = P.HumanParser(network=network, device="cpu", amp=False, input_size=129)
    logits = parser.logits(rgb)
    np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=1e-4 * np.abs(ref_logits).max())
    np.testing.assert_array_equal(np.argmax(logits, axis=2), ref_labels)
    assert len(np.unique(ref_labels)) > 1  # the random weights do separate classes


def test_labels_equal_the_kernel_s_with_negative_norm_weights(signed_state, tmp_path):
    """The real checkpoint path (file, strict load, BN folding) against the extractor running SCHP's kernel formula;
    plain batch norm (weight without abs) would give other labels."""
    path = tmp_path / "schp-signed.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in signed_state.items()}}, path)
    rgb = cv2.resize(np.random.default_rng(6).integers(0, 256, (9, 6, 3)).astype(np.uint8), (45, 71))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    ref_labels, ref_logits = reference_schp.extract_array(kernel_network(signed_state), bgr, size=129)
    parser = P.HumanParser(path, device="cpu", amp=False, input_size=129)
    logits = parser.logits(rgb)
    np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=1e-4 * np.abs(ref_logits).max())
    np.testing.assert_array_equal(parser(rgb), ref_labels)
    assert len(np.unique(ref_labels)) > 1
    plain_labels, _ = reference_schp.extract_array(kernel_network(signed_state, plain_weight=True), bgr, size=129)
    assert (plain_labels != ref_labels).mean() > 0.05


def test_flip_tta_of_a_symmetric_input_is_symmetric_after_the_swap(network):
    parser = P.HumanParser(network=network, device="cpu", flip=True, input_size=64)
    half = torch.randn(1, 3, 64, 32, generator=torch.Generator().manual_seed(2))
    x = torch.cat([half, half.flip(-1)], dim=-1)
    out = parser.letterboxed_logits(x)
    perm = torch.as_tensor(P.DATASETS["lip"].flip_permutation)
    torch.testing.assert_close(out, out[:, perm].flip(-1), rtol=0, atol=1e-5)
    plain = P.HumanParser(network=network, device="cpu", input_size=64).letterboxed_logits(x)
    assert not torch.allclose(plain, plain[:, perm].flip(-1), atol=1e-3)  # without TTA it is not symmetric
    # At the image level: a mirror-symmetric picture gives a label map that is its own left/right flip.
    left = np.random.default_rng(3).integers(0, 256, (40, 12, 3)).astype(np.uint8)
    rgb = np.concatenate([left, left[:, ::-1]], axis=1)
    labels = parser(rgb)
    np.testing.assert_array_equal(labels, parsing.flip(labels))
