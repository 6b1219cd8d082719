"""The Inception v3 of FID and IS: the PyTorch port of TensorFlow's 2015-12-05 graph (pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth``), reference/ecosystem.md section 1.

The graph differs from torchvision's Inception v3 in three places, reproduced here: the 3x3 average
pools inside the A, C and E blocks ignore padded zeros (TensorFlow's ``SAME`` average pool), the last
E block (``Mixed_7c``) max-pools instead, and the classifier has 1008 outputs. Parameter names follow
torchvision / pytorch-fid (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch_pool.bn.running_var``,
``fc.weight``), so the file loads without renaming (torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``
uses the same names).

``prepare`` turns uint8 images into the network's input in one of the two ways the papers used:
TF1's bilinear resize (no half-pixel centres) and ``(x - 128) / 128`` as inside the TF graph that
PATN's IS fed, or PyTorch's bilinear resize and ``2 x - 1`` as pytorch-fid (GFLA's FID).
"""

from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.inception import BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE

from posewarp.errors import PosewarpError
from posewarp.tensor_file import read_tensor_file

INPUT_SIZE = 299
POOL_DIM = 2048
NUM_CLASSES = 1008


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class BlockA(InceptionA):
    """Mixed_5b..5d with TensorFlow's padding-excluding average pool."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], 1)


class BlockC(InceptionC):
    """Mixed_6b..6e with TensorFlow's padding-excluding average pool."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4):
            d = layer(d)
        d = self.branch7x7dbl_5(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))], 1)


class BlockE(InceptionE):
    """Mixed_7b (average pool without padded zeros) and Mixed_7c (``max_pool=True``)."""

    def __init__(self, in_channels: int, *, max_pool: bool):
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = _max_pool(x) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """Inception v3 as in the TF 2015-12-05 graph.

    ``forward(x)`` takes ``(N, 3, 299, 299)`` already scaled to [-1, 1] (see ``prepare``) and returns
    ``(pool, logits)``: the ``(N, 2048)`` pool3 features (FID) and ``(N, 1008)`` class logits (IS).
    With ``bias_free_logits=True`` the logits are ``pool @ fc.weight.T`` without the bias, as the
    OpenAI ``inception_score.py`` that PATN used computes them.
    """

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = BlockA(192, pool_features=32)
        self.Mixed_5c = BlockA(256, pool_features=64)
        self.Mixed_5d = BlockA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = BlockC(768, channels_7x7=128)
        self.Mixed_6c = BlockC(768, channels_7x7=160)
        self.Mixed_6d = BlockC(768, channels_7x7=160)
        self.Mixed_6e = BlockC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = BlockE(1280, max_pool=False)
        self.Mixed_7c = BlockE(2048, max_pool=True)
        self.fc = nn.Linear(POOL_DIM, NUM_CLASSES)

    def forward(self, x: torch.Tensor, *, bias_free_logits: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        assert x.ndim == 4 and x.shape[1] == 3, f"expected (N, 3, H, W), got {tuple(x.shape)}"
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):  # fmt: skip
            x = block(x)
        pool = x.mean(dim=(2, 3))
        logits = pool @ self.fc.weight.t() if bias_free_logits else self.fc(pool)
        return pool, logits


def tf1_resize_bilinear(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TensorFlow 1's ``resize_bilinear`` (align_corners=False, half_pixel_centers=False):
    output pixel ``i`` samples input coordinate ``i * in / out`` (scale and positions in float32,
    interpolated as ``a + (b - a) * w`` like the TF kernel)."""
    n, c, h, w = x.shape
    oh, ow = size

    def axis(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        scale = torch.tensor(n_in / n_out, dtype=torch.float32, device=x.device)
        src = torch.arange(n_out, device=x.device, dtype=torch.float32) * scale
        i0 = src.long().clamp(max=n_in - 1)
        i1 = (i0 + 1).clamp(max=n_in - 1)
        return i0, i1, (src - i0.float()).to(x.dtype)

    y0, y1, wy = axis(h, oh)
    x0, x1, wx = axis(w, ow)
    top, bottom = x[:, :, y0, :], x[:, :, y1, :]
    top = top[..., x0] + (top[..., x1] - top[..., x0]) * wx  # along x first, then y, as TF
    bottom = bottom[..., x0] + (bottom[..., x1] - bottom[..., x0]) * wx
    return top + (bottom - top) * wy[:, None]


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def prepare(images: torch.Tensor, *, resize: str, normalize: str, size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8-valued ``(N, 3, H, W)`` images (0..255, any dtype) -> float network input.

    ``normalize="imagenet"`` is GFLA's route: ``x / 255`` first, the resize, then torchvision's
    ``transform_input`` (``x * std / 0.5 + (mean - 0.5) / 0.5`` per channel)."""
    x = images.float()
    if normalize == "imagenet":
        x = x / 255.0
    if resize == "tf1-bilinear":
        x = tf1_resize_bilinear(x, (size, size))
    elif resize == "torch-bilinear":
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)  # linear: same as on 0..1
    else:
        raise ValueError(f"unknown resize {resize!r}")
    if normalize == "tf":
        return (x - 128.0) / 128.0
    if normalize == "fid":
        return 2.0 * (x / 255.0) - 1.0
    if normalize == "imagenet":
        return torch.cat([x[:, c : c + 1] * (IMAGENET_STD[c] / 0.5) + (IMAGENET_MEAN[c] - 0.5) / 0.5
                          for c in range(3)], 1)  # fmt: skip
    raise ValueError(f"unknown normalization {normalize!r}")


def load_fid_inception(path: str | os.PathLike) -> FIDInceptionV3:
    """Build ``FIDInceptionV3`` from a pytorch-fid state dict file (loaded with ``weights_only=True``)."""
    state = read_tensor_file(path)
    if not isinstance(state, dict):
        raise PosewarpError("expected a state dict of the pytorch-fid Inception", path)
    model = FIDInceptionV3()
    check_layout(state, model.state_dict(), "the pytorch-fid Inception (2015-12-05)", path)
    model.load_state_dict(state, strict=False)
    return model.eval()


def check_layout(state: dict, expected: dict, what: str, path) -> None:
    """Refuse, naming ``what`` and ``path``, a state dict whose keys or shapes differ from ``expected`` (BatchNorm
    step counters may be absent)."""
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        detail = (missing and f"missing {missing[:3]}") or (unexpected and f"unexpected {unexpected[:3]}")
        detail = detail or f"wrong shapes for {wrong[:3]}"
        raise PosewarpError(f"not {what} layout: {detail}", path)
