"""GFLA's FID network: torchvision's ImageNet Inception v3 cut into the four blocks of the 2018
pytorch-fid code that GFLA ships as ``script/inception.py`` (reference/ecosystem.md section 1).

GFLA builds ``torchvision.models.inception_v3(pretrained=True)`` (torchvision's ImageNet weights, not
the TF 2015-12-05 FID weights) and runs its own ``nn.Sequential`` blocks: ``Conv2d_1a`` .. ``Conv2d_2b``,
3x3/2 max pool, ``Conv2d_3b``, ``Conv2d_4a``, 3x3/2 max pool, ``Mixed_5b`` .. ``Mixed_6e``, ``Mixed_7a`` ..
``Mixed_7c``, adaptive average pool to 1x1. torchvision's own blocks are kept as they are (their
average pools count padded zeros, ``Mixed_7c`` average-pools), which is where this network differs
from ``FIDInceptionV3``. The input handling (x / 255, bilinear resize to 299, ``transform_input``) is
``inception.prepare(..., normalize="imagenet")``.

The state dict is torchvision's file (``inception_v3_google-*.pth``: ``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, ``AuxLogits.*``, ``fc.*``), loaded with ``weights_only=True``.
"""

from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.inception import Inception3

from posewarp.errors import PosewarpError
from posewarp.metrics.inception import check_layout
from posewarp.tensor_file import read_tensor_file

BLOCKS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool",
          "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
          "Mixed_7a", "Mixed_7b", "Mixed_7c")  # fmt: skip


class TorchvisionInceptionPool(nn.Module):
    """``forward(x) -> (pool, logits)``: the ``(N, 2048)`` features GFLA's FID uses, and torchvision's
    1000 ImageNet logits of them (``bias_free_logits`` drops the bias)."""

    def __init__(self):
        super().__init__()
        self.net = Inception3(aux_logits=True, init_weights=False)

    def forward(self, x: torch.Tensor, *, bias_free_logits: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        assert x.ndim == 4 and x.shape[1] == 3, f"expected (N, 3, H, W), got {tuple(x.shape)}"
        for name in BLOCKS:
            x = F.max_pool2d(x, kernel_size=3, stride=2) if name == "maxpool" else getattr(self.net, name)(x)
        pool = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        fc = self.net.fc
        return pool, (pool @ fc.weight.t() if bias_free_logits else fc(pool))


def load_torchvision_inception(path: str | os.PathLike) -> TorchvisionInceptionPool:
    """Build ``TorchvisionInceptionPool`` from torchvision's ``inception_v3_google`` state dict file."""
    state = read_tensor_file(path)
    if not isinstance(state, dict):
        raise PosewarpError("expected a state dict of torchvision's Inception v3", path)
    model = TorchvisionInceptionPool()
    check_layout(state, model.net.state_dict(), "torchvision's Inception v3", path)
    model.net.load_state_dict(state, strict=False)
    return model.eval()
