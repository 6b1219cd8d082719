"""Stage II: the Warping-GAN generator (paper section 3.2; reference/paper.md 1.2).

Two encoders: appearance (source image + source parsing, 3 + 20 = 23 channels) and shape
(target parsing + target pose, 20 + 18 = 38 channels), each a 7x7 convolution and
``n_downsample`` stride-2 stages. A soft-gated warping-block sits at the bottleneck of the
appearance encoder (as in the paper and the authors' code); ``extra_block=True`` adds one more at
the previous, twice larger, level. The warped appearance features and the shape features are
fused by concatenation, go through ``n_blocks`` residual blocks at the doubled width, and are
decoded by transposed convolutions and a 7x7 convolution with tanh to an image in [-1, 1].

The matcher's sampling grid is given once at image resolution and resampled inside to each
block's feature resolution. Paper sizes (``ngf=64, n_downsample=3, n_blocks=9``): 185.3 M
parameters, 169.9 M of them in the 9 residual blocks at 1024 channels (the authors' code has
179.5 M: its warp block has neither the learned residual R nor the gate, 5.9 M here).
"""

from __future__ import annotations

import torch
from torch import nn

from posewarp.nn.blocks import Encoder, ResnetBlock, check_input, head, upsample
from posewarp.nn.soft_gated_warp import SoftGatedWarpBlock


class WarpingGenerator(nn.Module):
    """``forward(src_image, src_parsing, tgt_parsing, tgt_pose, grid) -> dict(image, gates, warped)``.

    ``gates`` and ``warped`` list the gate (N, 1, h, w) and output features of every warping block,
    highest resolution first. ``grid`` may be None only with ``warp=False``.
    """

    def __init__(self, *, ngf: int = 64, n_downsample: int = 3, n_blocks: int = 9, gate: bool = True,
                 warp: bool = True, extra_block: bool = False, image_channels: int = 3,
                 parsing_channels: int = 20, pose_channels: int = 18):
        super().__init__()
        if extra_block and n_downsample < 1:
            raise ValueError("extra_block needs n_downsample >= 1")
        self.image_channels, self.parsing_channels, self.pose_channels = image_channels, parsing_channels, pose_channels
        self.multiple = 2 ** n_downsample
        self.use_warp = warp
        self.appearance = Encoder(in_channels=image_channels + parsing_channels, ngf=ngf, n_downsample=n_downsample)
        self.shape = Encoder(in_channels=parsing_channels + pose_channels, ngf=ngf, n_downsample=n_downsample)
        chans = self.appearance.channels
        levels = ([n_downsample - 1] if extra_block else []) + [n_downsample]
        self.block_levels = levels
        self.warp_blocks = nn.ModuleList(
            SoftGatedWarpBlock(channels=chans[lv], shape_channels=self.shape.channels[lv], gate=gate, warp=warp)
            for lv in levels
        )
        c = chans[-1] + self.shape.channels[-1]
        self.blocks = nn.Sequential(*[ResnetBlock(channels=c) for _ in range(n_blocks)])
        ups = []
        for _ in range(n_downsample):
            ups.append(upsample(c, c // 2))
            c //= 2
        self.decoder = nn.Sequential(*ups, head(c, image_channels), nn.Tanh())

    def forward(self, src_image: torch.Tensor, src_parsing: torch.Tensor, tgt_parsing: torch.Tensor,
                tgt_pose: torch.Tensor, grid: torch.Tensor | None) -> dict:
        check_input("src_image", src_image, self.image_channels, self.multiple)
        size = tuple(src_image.shape[2:])
        n = src_image.shape[0]
        for name, x, c in (("src_parsing", src_parsing, self.parsing_channels),
                           ("tgt_parsing", tgt_parsing, self.parsing_channels), ("tgt_pose", tgt_pose, self.pose_channels)):
            check_input(name, x, c, self.multiple)
            if tuple(x.shape[2:]) != size or x.shape[0] != n:
                raise ValueError(f"{name} {tuple(x.shape)} does not match src_image {tuple(src_image.shape)}")
        if grid is not None and (grid.dim() != 4 or grid.shape[0] != n or grid.shape[-1] != 2):
            raise ValueError(f"grid must be (N, H, W, 2) with N = {n}, got {tuple(grid.shape)}")
        if self.use_warp and grid is None:
            raise ValueError("a grid is required unless the generator is built with warp=False")

        shape_feats = self.shape(torch.cat((tgt_parsing, tgt_pose), dim=1))
        x = torch.cat((src_image, src_parsing), dim=1)
        gates, warped = [], []
        blocks = dict(zip(self.block_levels, self.warp_blocks))
        for level, stage in enumerate(self.appearance.stages):
            x = stage(x)
            if level in blocks:
                x, g = blocks[level](x, shape_feats[level], grid)
                gates.append(g)
                warped.append(x)
        x = self.blocks(torch.cat((x, shape_feats[-1]), dim=1))
        return {"image": self.decoder(x), "gates": gates, "warped": warped}
