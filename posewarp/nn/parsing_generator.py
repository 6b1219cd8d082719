"""Stage I: the pose-guided parser (paper section 3.1; reference/paper.md 1.1-1.2).

A pix2pixHD-style ResNet encoder-decoder from the one-hot source parsing (20 channels) and the
target pose heatmaps (18 channels) to the target parsing. The authors' code ends in tanh; here
the output is raw **logits** for the pixel-wise softmax cross-entropy of LIP (a tanh would cap
every logit to [-1, 1] and flatten the softmax), so ``logits.softmax(1)`` or ``argmax(1)``
gives the parsing.

``warped_channels=20`` adds a third input (posewarp's design, not the paper's): the source parsing moved
part by part onto the target pose by the keypoints' affine maps (``part_grids.warped_parsing``), a
geometric first guess that the network corrects (occlusions, sleeves, hair, turning bodies); ``skips=True``
makes the network a U-Net (every encoder level reaches the decoder), so thin parts keep their full-resolution
outline; ``upsample_mode="resize"`` decodes with resize-convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

from posewarp.nn.blocks import Encoder, ResnetBlock, check_input, conv_block, head, upsample


class ParsingGenerator(nn.Module):
    """Source parsing (N, 20, H, W) + target pose (N, 18, H, W) -> target parsing logits (N, 20, H, W).

    Paper sizes: ``ngf=64, n_downsample=3, n_blocks=9`` (about 45.8 M parameters).
    H and W must be multiples of ``2 ** n_downsample``.
    """

    def __init__(self, *, in_channels: int = 38, out_channels: int = 20, ngf: int = 64, n_downsample: int = 3,
                 n_blocks: int = 9, parsing_channels: int = 20, warped_channels: int = 0, skips: bool = False,
                 upsample_mode: str = "transposed"):
        super().__init__()
        self.in_channels, self.out_channels, self.parsing_channels = in_channels, out_channels, parsing_channels
        self.warped_channels = warped_channels
        self.multiple = 2 ** n_downsample
        self.encoder = Encoder(in_channels=in_channels + warped_channels, ngf=ngf, n_downsample=n_downsample)
        chans = self.encoder.channels
        c = chans[-1]
        self.blocks = nn.Sequential(*[ResnetBlock(channels=c) for _ in range(n_blocks)])
        self.skips = skips
        if skips:
            self.ups = nn.ModuleList(upsample(chans[i], chans[i - 1], upsample_mode) for i in range(n_downsample, 0, -1))
            self.fuse = nn.ModuleList(conv_block(2 * chans[i], chans[i]) for i in range(n_downsample - 1, -1, -1))
            self.decoder = head(chans[0], out_channels)
            return
        ups = []
        for _ in range(n_downsample):
            ups.append(upsample(c, c // 2, upsample_mode))
            c //= 2
        self.decoder = nn.Sequential(*ups, head(c, out_channels))

    def forward(self, src_parsing: torch.Tensor, tgt_pose: torch.Tensor,
                warped_parsing: torch.Tensor | None = None) -> torch.Tensor:
        check_input("src_parsing", src_parsing, self.parsing_channels, self.multiple)
        check_input("tgt_pose", tgt_pose, self.in_channels - self.parsing_channels, self.multiple)
        inputs = [src_parsing, tgt_pose]
        if self.warped_channels:
            if warped_parsing is None:
                raise ValueError("this parser was built with warped_channels: pass warped_parsing")
            check_input("warped_parsing", warped_parsing, self.warped_channels, self.multiple)
            inputs.append(warped_parsing)
        for x in inputs[1:]:
            if x.shape[2:] != src_parsing.shape[2:] or x.shape[0] != src_parsing.shape[0]:
                raise ValueError(f"src_parsing {tuple(src_parsing.shape)} and {tuple(x.shape)} differ in size")
        feats = self.encoder(torch.cat(inputs, dim=1))
        x = self.blocks(feats[-1])
        if self.skips:
            for up, fuse, skip in zip(self.ups, self.fuse, reversed(feats[:-1])):
                x = fuse(torch.cat((up(x), skip), dim=1))
        return self.decoder(x)
