"""PatchGAN discriminator returning its layer features (both stages; reference/paper.md 1.2).

The pix2pixHD ``NLayerDiscriminator`` used by the authors (``--num_D 1``): 4x4 convolutions,
``n_layers`` stride-2 stages (the first without norm), one stride-1 stage, a 1-channel patch
score map, InstanceNorm and LeakyReLU(0.2). The intermediate outputs feed the pyramidal
hierarchy (feature matching) loss, paper section 3.3. It is conditioned by concatenating the
generator's inputs with the (real or generated) output: Stage I 38 + 20 = 58 channels,
Stage II 61 + 3 = 64 channels.
"""

from __future__ import annotations

import torch
from torch import nn


class PatchDiscriminator(nn.Module):
    """``forward(x) -> list`` of the ``n_layers + 2`` layer outputs; the last is the patch score map."""

    def __init__(self, *, in_channels: int, ndf: int = 64, n_layers: int = 3, max_channels: int = 512):
        super().__init__()
        self.in_channels = in_channels
        k, p = 4, 2
        layers = [nn.Sequential(nn.Conv2d(in_channels, ndf, k, stride=2, padding=p), nn.LeakyReLU(0.2, True))]
        c = ndf
        for i in range(1, n_layers + 1):
            c_out = min(c * 2, max_channels)
            stride = 2 if i < n_layers else 1
            layers.append(nn.Sequential(nn.Conv2d(c, c_out, k, stride=stride, padding=p),
                                        nn.InstanceNorm2d(c_out, affine=False), nn.LeakyReLU(0.2, True)))
            c = c_out
        layers.append(nn.Sequential(nn.Conv2d(c, 1, k, stride=1, padding=p)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"discriminator input must be (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats
