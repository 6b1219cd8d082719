"""Stage II: the Warping-GAN generator (paper section 3.2; reference/paper.md 1.2).

Two encoders: appearance (source image + source parsing, 3 + 20 = 23 channels) and shape (target
parsing + target pose, 20 + 18 = 38 channels; + 3 with ``region_style``), each a 7x7 convolution and
``n_downsample`` stride-2 stages. Soft-gated warping-blocks move the appearance features by the
transformation grid(s); the result and the shape features are fused by concatenation, go through
``n_blocks`` residual blocks and are decoded to an image in [-1, 1] by a tanh.

**The paper's design** (``warp_levels="bottleneck"``, ``gate_mode="spatial"``, one grid, transposed
convolutions): one block at the bottleneck of the appearance encoder (``extra_block=True`` adds one more at
the previous level), ``out = Phi + g * W(R(Phi))`` with a one-channel gate. Paper sizes (``ngf=64,
n_downsample=3, n_blocks=9``): 185.3 M parameters, 169.9 M of them in the 9 residual blocks at 1024
channels (the authors' code has 179.5 M: its warp block has neither R nor the gate, 5.9 M here).

**posewarp's design** (each piece an option, each ablated in ``benchmarks/quality.py``):
- ``warp_levels="all"``: a warping block at every encoder level whose warped features reach the decoder
  as skip connections (a U-Net), so fine appearance is moved, not re-invented;
- ``num_grids``: several transformation grids per pair (the matcher's affine+TPS, the per-part keypoint
  grid of ``part_grids``), given as ``grid (N, G, H, W, 2)``;
- ``gate_mode="channel"``: ``ChannelGatedWarpBlock``, a per-channel, per-location soft selection between
  unwarped and warped features;
- ``region_style``: the source's mean colour per label painted into the target parsing (shape encoder
  input) and its mean bottleneck feature per label painted likewise (bottleneck input);
- ``upsample="resize"``: resize-convolutions instead of transposed convolutions;
- ``composite=True``: the output is a per-pixel soft selection between the decoder's rendering, the source
  pixels, the source's background with its person filled in (``nn.fill``) and the source pixels moved by
  each grid (``composition`` in the output), so what the warp can carry is copied exactly and only the rest
  (disoccluded body, turned heads, new folds) is rendered;
- ``refine=True`` (with ``composite``): a small residual network corrects the composite, seeing it, the source's
  filled background and the decoder's features, so a selection can be repainted (shading, a cast shadow, a seam
  between a warped part and a rendered one); its last layer starts at zero, so training starts from the composite.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posewarp.nn import region_style as RS
from posewarp.nn.blocks import Encoder, ResnetBlock, check_input, conv_block, head, upsample
from posewarp.nn.fill import source_background
from posewarp.nn.grids import warp as grid_warp
from posewarp.nn.soft_gated_warp import ChannelGatedWarpBlock, SoftGatedWarpBlock, as_grids

WARP_LEVELS = ("bottleneck", "all")
GATE_MODES = ("spatial", "channel")


class WarpingGenerator(nn.Module):
    """``forward(src_image, src_parsing, tgt_parsing, tgt_pose, grid) -> dict(image, gates, warped)``.

    ``gates`` and ``warped`` list the gate (N, 1, h, w) and output features of every warping block,
    highest resolution first. ``grid`` is ``(N, H, W, 2)`` or ``(N, G, H, W, 2)`` with ``G = num_grids``;
    it may be None only with ``warp=False``.
    """

    def __init__(self, *, ngf: int = 64, n_downsample: int = 3, n_blocks: int = 9, gate: bool = True,
                 warp: bool = True, extra_block: bool = False, warp_levels: str = "bottleneck",
                 gate_mode: str = "spatial", num_grids: int = 1, region_style: bool = False,
                 upsample_mode: str = "transposed", composite: bool = False, refine: bool = False,
                 image_channels: int = 3,
                 parsing_channels: int = 20,
                 pose_channels: int = 18):
        super().__init__()
        if warp_levels not in WARP_LEVELS:
            raise ValueError(f"warp_levels must be one of {WARP_LEVELS}, got {warp_levels!r}")
        if gate_mode not in GATE_MODES:
            raise ValueError(f"gate_mode must be one of {GATE_MODES}, got {gate_mode!r}")
        if extra_block and (n_downsample < 1 or warp_levels == "all"):
            raise ValueError("extra_block needs n_downsample >= 1 and warp_levels='bottleneck'")
        if num_grids < 1 or (num_grids > 1 and gate_mode == "spatial"):
            raise ValueError("several grids need gate_mode='channel'")
        self.image_channels, self.parsing_channels, self.pose_channels = image_channels, parsing_channels, pose_channels
        self.multiple = 2 ** n_downsample
        self.use_warp, self.num_grids, self.region_style = warp, num_grids, region_style
        # output candidates: the rendering, the source pixels, the source background, the source moved by each grid
        self.candidates = (3 + (num_grids if warp else 0)) if composite else 0
        self.skips = warp_levels == "all"
        self.appearance = Encoder(in_channels=image_channels + parsing_channels, ngf=ngf, n_downsample=n_downsample)
        shape_in = parsing_channels + pose_channels + (image_channels if region_style else 0)
        self.shape = Encoder(in_channels=shape_in, ngf=ngf, n_downsample=n_downsample)
        chans, shape_chans = self.appearance.channels, self.shape.channels
        if self.skips:
            levels = list(range(n_downsample + 1))
        else:
            levels = ([n_downsample - 1] if extra_block else []) + [n_downsample]
        self.block_levels = levels

        def block(level: int) -> nn.Module:
            if gate_mode == "channel":
                return ChannelGatedWarpBlock(channels=chans[level], shape_channels=shape_chans[level],
                                             num_grids=num_grids, gate=gate, warp=warp)
            return SoftGatedWarpBlock(channels=chans[level], shape_channels=shape_chans[level], gate=gate, warp=warp)

        self.warp_blocks = nn.ModuleList(block(lv) for lv in levels)
        c = chans[-1] + shape_chans[-1]
        self.style_fuse = nn.Conv2d(c + chans[-1], c, 1) if region_style else None
        self.blocks = nn.Sequential(*[ResnetBlock(channels=c) for _ in range(n_blocks)])
        if self.skips:
            self.ups = nn.ModuleList(upsample(c if i == n_downsample else chans[i], chans[i - 1], upsample_mode)
                                     for i in range(n_downsample, 0, -1))
            self.fuse = nn.ModuleList(conv_block(2 * chans[i] + shape_chans[i], chans[i])
                                      for i in range(n_downsample - 1, -1, -1))
            c = chans[0]
            self.decoder = nn.Sequential() if composite else nn.Sequential(head(c, image_channels), nn.Tanh())
        else:
            ups = []
            for _ in range(n_downsample):
                ups.append(upsample(c, c // 2, upsample_mode))
                c //= 2
            self.decoder = nn.Sequential(*ups) if composite else nn.Sequential(*ups, head(c, image_channels), nn.Tanh())
        # composite: the head also sees how well each pixel candidate's label agrees with the target parsing
        self.head = head(c + self.candidates - 1, image_channels + self.candidates) if composite else None
        if refine and not composite:
            raise ValueError("refine corrects the composite: it needs composite=True")
        self.refiner = nn.Sequential(conv_block(c + 2 * image_channels, c), head(c, image_channels)) if refine else None
        if self.refiner is not None:
            nn.init.zeros_(self.refiner[-1][-1].weight)
            nn.init.zeros_(self.refiner[-1][-1].bias)

    def _check(self, src_image, src_parsing, tgt_parsing, tgt_pose, grid) -> None:
        check_input("src_image", src_image, self.image_channels, self.multiple)
        size, n = tuple(src_image.shape[2:]), src_image.shape[0]
        for name, x, c in (("src_parsing", src_parsing, self.parsing_channels),
                           ("tgt_parsing", tgt_parsing, self.parsing_channels), ("tgt_pose", tgt_pose, self.pose_channels)):
            check_input(name, x, c, self.multiple)
            if tuple(x.shape[2:]) != size or x.shape[0] != n:
                raise ValueError(f"{name} {tuple(x.shape)} does not match src_image {tuple(src_image.shape)}")
        if grid is not None and (grid.dim() not in (4, 5) or grid.shape[0] != n or grid.shape[-1] != 2):
            raise ValueError(f"grid must be (N, H, W, 2) or (N, G, H, W, 2) with N = {n}, got {tuple(grid.shape)}")
        if self.use_warp and grid is None:
            raise ValueError("a grid is required unless the generator is built with warp=False")

    def forward(self, src_image: torch.Tensor, src_parsing: torch.Tensor, tgt_parsing: torch.Tensor,
                tgt_pose: torch.Tensor, grid: torch.Tensor | None) -> dict:
        self._check(src_image, src_parsing, tgt_parsing, tgt_pose, grid)
        shape_in = [tgt_parsing, tgt_pose]
        if self.region_style:
            shape_in.append(RS.paint(RS.region_means(src_image, src_parsing), tgt_parsing))
        shape_feats = self.shape(torch.cat(shape_in, dim=1))
        blocks = dict(zip(self.block_levels, self.warp_blocks))
        gates, warped, skips = [], [], []
        x = torch.cat((src_image, src_parsing), dim=1)
        for level, stage in enumerate(self.appearance.stages):
            x = phi = stage(x)
            if level in blocks:
                out, g = blocks[level](x, shape_feats[level], grid)
                gates.append(g)
                warped.append(out)
                if self.skips:
                    skips.append(out)  # the encoder goes on from the unwarped features
                else:
                    x = out
        bottom = skips.pop() if self.skips else x
        x = torch.cat((bottom, shape_feats[-1]), dim=1)
        if self.style_fuse is not None:
            size = bottom.shape[2:]
            style = RS.paint(RS.region_means(phi, src_parsing),
                             F.interpolate(tgt_parsing, size=size, mode="area"))
            x = self.style_fuse(torch.cat((x, style), dim=1))
        x = self.blocks(x)
        if self.skips:
            for up, fuse, skip, shape in zip(self.ups, self.fuse, reversed(skips), reversed(shape_feats[:-1])):
                x = fuse(torch.cat((up(x), skip, shape), dim=1))
        x = self.decoder(x)
        if self.head is None:
            return {"image": x, "gates": gates, "warped": warped}
        image, composition = self._composite(x, src_image, src_parsing, tgt_parsing, grid)
        return {"image": image, "gates": gates, "warped": warped, "composition": composition}

    def _composite(self, x, src_image, src_parsing, tgt_parsing, grid):
        """A soft per-pixel choice between the rendering and the (warped) source pixels."""
        background = torch.zeros_like(src_parsing)
        background[:, 0] = 1
        pixels = [src_image, source_background(src_image, 1 - src_parsing[:, :1])]
        labels = [src_parsing, background]
        for g in as_grids(grid, self.num_grids) if self.use_warp else []:
            pixels.append(grid_warp(src_image, g, padding_mode="border"))
            labels.append(grid_warp(src_parsing, g, padding_mode="border"))
        agree = [(lab * tgt_parsing).sum(dim=1, keepdim=True) for lab in labels]
        out = self.head(torch.cat((x, *agree), dim=1))
        c = self.image_channels
        weights = out[:, c:].softmax(dim=1)
        candidates = [torch.tanh(out[:, :c]), *pixels]
        image = sum(weights[:, i : i + 1] * cand for i, cand in enumerate(candidates))
        if self.refiner is not None:
            image = (image + self.refiner(torch.cat((x, image, pixels[1]), dim=1))).clamp(-1, 1)
        return image, weights
