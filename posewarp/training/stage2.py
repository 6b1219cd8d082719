"""Stage II training: the geometric matcher phase, then the Warping-GAN (paper section 3.2-3.3; reference/paper.md 1.2).

**Matcher phase** ("the Warping-GAN first trains a light-weight geometric matcher"): the CNNGeometric grid
loss on random affine+TPS transforms of source parsing maps (self-supervised), plus an alignment loss
between the warped source parsing and the target parsing of real pairs. Its result is saved as
``matcher-latest.pt``; afterwards it is frozen unless ``matcher.finetune``.

**Generator phase**: source image + source parsing, target parsing + target pose, and the matcher's
affine+TPS grid between source and target parsing -> target image; LSGAN + pyramidal hierarchy (feature
matching) + VGG19 perceptual + L1. The target parsing is the ground truth, or Stage I's prediction
(``config.stage1`` = a Stage I run), as the authors trained. The discriminator sees the generator's
inputs and an image: 3 + 20 + 20 + 18 + 3 = 64 channels. Ablations: ``model.gate=False`` (``--no-gate``),
``model.warp=False`` (``--no-warp``: no matcher, no warping).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from posewarp import losses
from posewarp.config import TrainConfig
from posewarp.console import err
from posewarp.formats import draw
from posewarp.formats import parsing as P
from posewarp.formats.images import to_uint8
from posewarp.metrics.parsing_scores import confusion, parsing_scores
from posewarp.models import (
    build_discriminator,
    build_generator,
    build_matcher,
    predict_parsing,
    transformation_grids,
    uses_matcher,
)
from posewarp.nn import VGGFeatures, grids
from posewarp.training import validation
from posewarp.training.distributed import Dist
from posewarp.training.gan import adam, gan_step
from posewarp.training.loop import Stage


def build_vgg(config: TrainConfig) -> nn.Module | None:
    """The perceptual loss trunk: pretrained VGG19 from disk, random weights when the preset says so, or the
    encoder of a parser trained in-tool on the synthetic world (``vgg: world``, its checkpoint at ``vgg_path``)."""
    if not config.loss.vgg:
        return None
    if config.model.vgg == "random":
        return VGGFeatures(random_init=True)
    if config.model.vgg == "world":
        from posewarp.metrics.world_parser import WorldFeatures, load_world_parser

        return WorldFeatures(load_world_parser(config.vgg_path))
    return VGGFeatures(weights=require_vgg("vgg19", config.vgg_path))


def pretrained_matcher(config: TrainConfig) -> nn.Module:
    """A matcher to train: the paper's VGG16 trunk starts from ImageNet weights (unless ``vgg: random``)."""
    m = config.model
    wants_vgg = m.matcher_features == "vgg16" and m.vgg == "pretrained"
    return build_matcher(config, vgg_weights=require_vgg("vgg16") if wants_vgg else None)


def require_vgg(name: str, override: str | None = None):
    """The ImageNet VGG file, or a WeightsMissingError that names the download command and the ways around it."""
    from posewarp import weights

    other = "pass --vgg PATH" if name == "vgg19" else "use a --config file that sets model.matcher_features: small"
    return weights.require(name, override, alternatives=(other, "use a preset with vgg: random"))


class MatcherStage(Stage):
    """The matcher phase of stage 2 (its own steps, optimizer and ``matcher-latest.pt``)."""

    kind = "matcher"
    phase = "matcher"

    def __init__(self, config: TrainConfig, ctx: Dist):
        super().__init__()
        self.config = config
        M = pretrained_matcher(config).to(ctx.device)
        self.nets = {"matcher": M}
        self.M = ctx.wrap(M)
        trainable = [p for p in M.parameters() if p.requires_grad]
        self.opts = {"matcher": adam(trainable, config.optim, lr=config.matcher.lr)}
        self.lrs = {"matcher": config.matcher.lr}

    def snapshot_networks(self):
        return {"matcher": self.nets["matcher"]}

    def train_step(self, batch, ctx: Dist) -> dict[str, torch.Tensor]:
        w = self.config.loss
        src, tgt = batch["src_parsing"].float(), batch["tgt_parsing"].float()
        n, size = src.shape[0], tuple(src.shape[2:])
        # Self-supervised pair: the source parsing under a random affine+TPS transform, whose grid is known.
        grid_true = grids.random_grid(n, size, device=src.device)
        synthetic = grids.warp(src, grid_true, padding_mode="border")
        total_syn, syn = losses.matcher_loss(out=self.M(src, synthetic), src_parsing=src, tgt_parsing=synthetic,
                                             grid_true=grid_true, lambda_grid=w.matcher_grid,
                                             lambda_affine=w.matcher_grid, lambda_align=0.0)
        total_real, real = losses.matcher_loss(out=self.M(src, tgt), src_parsing=src, tgt_parsing=tgt,
                                               lambda_align=w.matcher_align)
        total = total_syn + total_real
        self.opts["matcher"].zero_grad(set_to_none=True)
        ctx.backward(total)
        ctx.step(self.opts["matcher"])
        return {"m_grid": syn["m_grid"], "m_grid_affine": syn["m_grid_affine"], "m_align": real["m_align"],
                "m_total": float(total.detach())}

    def warped_labels(self, batch) -> torch.Tensor:
        src = batch["src_parsing"].float()
        out = self.nets["matcher"](src, batch["tgt_parsing"].float())
        return grids.warp(src, out["grid"](tuple(src.shape[2:])), mode="nearest", padding_mode="border").argmax(1)

    def validate_batch(self, batch, ctx: Dist) -> dict[str, torch.Tensor]:
        return {
            "confusion": confusion(self.warped_labels(batch), batch["tgt_labels"], P.NUM_LABELS),
            "copy_confusion": confusion(batch["src_labels"], batch["tgt_labels"], P.NUM_LABELS),
        }

    def summarize(self, sums) -> dict[str, float]:
        ours, copy = parsing_scores(sums["confusion"]), parsing_scores(sums["copy_confusion"])
        return {"warped_miou": ours["miou"], "copy_miou": copy["miou"]}

    def sample_grid(self, batch, ctx: Dist) -> np.ndarray:
        """Rows of: source parsing | target parsing | warped source parsing."""
        warped = self.warped_labels(batch).cpu().numpy()
        rows = [[draw.parsing_picture(batch["src_labels"][i].cpu().numpy()),
                 draw.parsing_picture(batch["tgt_labels"][i].cpu().numpy()), draw.parsing_picture(warped[i])]
                for i in range(len(warped))]
        return draw.grid(rows, titles=["source", "target", "warped"])


class Stage2(Stage):
    kind = "stage2"
    phase = "generator"

    def __init__(self, config: TrainConfig, ctx: Dist, *, matcher: nn.Module | None = None,
                 stage1: nn.Module | None = None):
        super().__init__()
        self.config = config
        m = config.model
        G = build_generator(config).to(ctx.device)
        D = build_discriminator(config).to(ctx.device)
        self.nets = {"generator": G, "discriminator": D}
        self.frozen: dict[str, nn.Module] = {}
        g_params = list(G.parameters())
        self.M = None
        if uses_matcher(m):
            if matcher is None:
                raise ValueError("the warping generator needs a geometric matcher")
            matcher = matcher.to(ctx.device)
            self.nets["matcher"] = matcher
            if config.matcher.finetune:
                g_params += [p for p in matcher.parameters() if p.requires_grad]
                self.M = ctx.wrap(matcher)
            else:
                matcher.requires_grad_(False)
                self.frozen["matcher"] = matcher
                self.M = matcher
        if stage1 is not None:
            stage1 = stage1.to(ctx.device).requires_grad_(False)
            self.frozen["stage1"] = stage1
        self.stage1 = stage1
        self.vgg = build_vgg(config)
        if self.vgg is not None:
            self.vgg = self.vgg.to(ctx.device).eval()
        self.G, self.D = ctx.wrap(G), ctx.wrap(D)
        self.opts = {"generator": adam(g_params, config.optim), "discriminator": adam(D.parameters(), config.optim)}
        self.lrs = {"generator": config.optim.lr, "discriminator": config.optim.lr}

    def set_training(self, training: bool) -> None:
        super().set_training(training)
        for net in self.frozen.values():
            net.eval()

    def snapshot_networks(self):
        nets = {"generator": self.nets["generator"]}
        if "matcher" in self.nets:
            nets["matcher"] = self.nets["matcher"]
        return nets

    # -- the generator's inputs ------------------------------------------------------------------

    def target_parsing(self, batch, train: bool) -> torch.Tensor:
        """The ground-truth target parsing, or Stage I's prediction (in training for ``stage1_share`` of the pairs)."""
        truth = batch["tgt_parsing"].float()
        if self.stage1 is None:
            return truth
        share = self.config.stage1_share if train else 1.0
        if share >= 1.0:
            return P.one_hot(predict_parsing(self.stage1, batch)).float()
        use = torch.rand(truth.shape[0], device=truth.device) < share  # seeded per step by the loop
        if not use.any():
            return truth
        chosen = {k: v[use] for k, v in batch.items() if torch.is_tensor(v) and len(v) == len(use)}
        out = truth.clone()
        out[use] = P.one_hot(predict_parsing(self.stage1, chosen)).float()
        return out

    def grid(self, batch, tgt_parsing: torch.Tensor, train: bool) -> torch.Tensor | None:
        finetune = train and self.config.matcher.finetune
        matcher = self.M if finetune else self.nets.get("matcher")
        return transformation_grids(self.config.model, matcher, batch, tgt_parsing, matcher_grad=finetune)

    def generate(self, batch, generator: nn.Module, train: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        tgt_parsing = self.target_parsing(batch, train)
        grid = self.grid(batch, tgt_parsing, train)
        out = generator(batch["src_image"], batch["src_parsing"].float(), tgt_parsing, batch["tgt_pose"], grid)
        return out["image"], tgt_parsing, grid

    # -- the stage interface ---------------------------------------------------------------------

    def train_step(self, batch, ctx: Dist) -> dict[str, float]:
        w = self.config.loss
        real = batch["tgt_image"]
        with ctx.autocast():
            fake, tgt_parsing, _ = self.generate(batch, self.G, train=True)
        fake = fake.float()

        def generator_loss(d_fake, d_real):
            return losses.stage2_generator_loss(
                fake=fake, real=real, d_fake_feats=d_fake, d_real_feats=d_real, vgg=self.vgg, lambda_adv=w.adv,
                lambda_feat=w.feat, lambda_vgg=w.vgg if self.vgg is not None else 0.0, lambda_l1=w.l1,
                lambda_ssim=w.ssim)

        cond = torch.cat((batch["src_image"], batch["src_parsing"].float(), tgt_parsing, batch["tgt_pose"]), dim=1)
        return gan_step(ctx, discriminator=self.nets["discriminator"], wrapped_discriminator=self.D, opts=self.opts,
                        cond=cond, real=real, fake=fake, generator_loss=generator_loss,
                        train_discriminator=bool(w.adv or w.feat))

    def validate_batch(self, batch, ctx: Dist) -> dict[str, torch.Tensor]:
        fake, _, _ = self.generate(batch, self.nets["generator"])
        ours = validation.image_sums(fake, batch["tgt_image"])
        copy = validation.image_sums(batch["src_image"], batch["tgt_image"])
        return {**ours, **{f"copy_{k}": v for k, v in copy.items()}}

    def summarize(self, sums) -> dict[str, float]:
        return {**validation.image_scores(sums), **validation.image_scores(sums, "copy_")}

    def sample_grid(self, batch, ctx: Dist) -> np.ndarray:
        """Rows of: source | target pose | target parsing | warped source | output | real."""
        fake, tgt_parsing, grid = self.generate(batch, self.nets["generator"])
        src = batch["src_image"].float()
        warped = grids.warp(src, grid[:, -1].float(), padding_mode="border") if grid is not None else src
        size = tuple(src.shape[2:])
        labels = tgt_parsing.argmax(1).cpu().numpy()
        rows = []
        for i in range(src.shape[0]):
            rows.append([
                to_uint8(src[i]),
                draw.pose_picture(batch["tgt_keypoints"][i].cpu().numpy(), size),
                draw.parsing_picture(labels[i]),
                to_uint8(warped[i]),
                to_uint8(fake[i]),
                to_uint8(batch["tgt_image"][i]),
            ])
        return draw.grid(rows, titles=["source", "target pose", "parsing", "warped", "output", "real"])


def log_vgg_choice(config: TrainConfig, main: bool) -> None:
    if main and config.loss.vgg and config.model.vgg == "random":
        err.print(f"[yellow]preset {config.preset!r} says vgg: random: the perceptual loss uses a randomly "
                  "initialised VGG19 (fine for the synthetic world and tests, not for real photos)[/yellow]")
