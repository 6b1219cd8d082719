"""Stage I training: the pose-guided parser (paper section 3.1; reference/paper.md 1.1-1.2).

Source parsing (20) + target pose (18) -> target parsing logits (20), trained with the pixel-wise softmax
cross-entropy of LIP, an LSGAN adversarial loss and discriminator feature matching (weights in
``LossConfig``); Adam lr 2e-4, betas (0.5, 0.999). The PatchGAN discriminator sees the generator's input
and a parsing (the real one-hot map, or the softmax of the logits): 38 + 20 = 58 channels.
Validation: pixel accuracy and mIoU of the predicted target parsing (and of copying the source parsing).
"""

from __future__ import annotations

import numpy as np
import torch

from posewarp import losses
from posewarp.formats import draw
from posewarp.formats.images import to_uint8
from posewarp.formats.parsing import NUM_LABELS
from posewarp.models import build_discriminator, build_parser, parser_inputs
from posewarp.training import validation
from posewarp.config import TrainConfig
from posewarp.training.distributed import Dist
from posewarp.training.loop import Stage


def adam(params, config: TrainConfig, lr: float | None = None) -> torch.optim.Adam:
    o = config.optim
    return torch.optim.Adam(params, lr=o.lr if lr is None else lr, betas=(o.beta1, o.beta2))


class Stage1(Stage):
    kind = "stage1"
    phase = "generator"

    def __init__(self, config: TrainConfig, ctx: Dist):
        super().__init__()
        self.config = config
        G = build_parser(config).to(ctx.device)
        D = build_discriminator(config).to(ctx.device)
        self.nets = {"generator": G, "discriminator": D}
        self.G, self.D = ctx.wrap(G), ctx.wrap(D)  # DDP wrappers when distributed
        self.opts = {"generator": adam(G.parameters(), config), "discriminator": adam(D.parameters(), config)}
        self.lrs = {"generator": config.optim.lr, "discriminator": config.optim.lr}

    def train_step(self, batch, ctx: Dist) -> dict[str, torch.Tensor]:
        loss = self.config.loss
        D_raw = self.nets["discriminator"]
        cond = torch.cat((batch["src_parsing"], batch["tgt_pose"]), dim=1)
        real = torch.cat((cond, batch["tgt_parsing"]), dim=1)

        # Generator step: D (unwrapped, frozen) judges the softmax parsing; gradients flow into G only.
        inputs = parser_inputs(self.nets["generator"], batch)
        with ctx.autocast():
            logits = self.G(*inputs)
        fake_parsing = logits.float().softmax(dim=1)
        D_raw.requires_grad_(False)
        with ctx.autocast():
            d_fake = D_raw(torch.cat((cond, fake_parsing), dim=1))
            with torch.no_grad():
                d_real = D_raw(real)
        g_total, g_stats = losses.stage1_generator_loss(
            logits=logits, labels=batch["tgt_labels"], d_fake_feats=_f32(d_fake), d_real_feats=_f32(d_real),
            lambda_adv=loss.adv, lambda_feat=loss.feat, lambda_ce=loss.ce)
        D_raw.requires_grad_(True)
        self.opts["generator"].zero_grad(set_to_none=True)
        ctx.backward(g_total)
        ctx.step(self.opts["generator"])

        # Discriminator step (DDP-wrapped): real vs the detached generated parsing.
        d_stats = {}
        if loss.adv or loss.feat:
            with ctx.autocast():
                d_real = self.D(real)
                d_fake = self.D(torch.cat((cond, fake_parsing.detach()), dim=1))
            d_total, d_stats = losses.stage1_discriminator_loss(d_fake_feats=_f32(d_fake), d_real_feats=_f32(d_real))
            self.opts["discriminator"].zero_grad(set_to_none=True)
            ctx.backward(d_total)
            ctx.step(self.opts["discriminator"])
        return {**g_stats, **d_stats}

    def predict(self, batch) -> torch.Tensor:
        return self.nets["generator"](*parser_inputs(self.nets["generator"], batch)).float()

    def validate_batch(self, batch, ctx: Dist) -> dict[str, torch.Tensor]:
        pred = self.predict(batch).argmax(dim=1)
        return {
            "confusion": validation.confusion(pred, batch["tgt_labels"], NUM_LABELS),
            "copy_confusion": validation.confusion(batch["src_labels"], batch["tgt_labels"], NUM_LABELS),
        }

    def summarize(self, sums) -> dict[str, float]:
        out = validation.parsing_scores(sums["confusion"])
        copy = validation.parsing_scores(sums["copy_confusion"])
        return {**out, "copy_pixel_acc": copy["pixel_acc"], "copy_miou": copy["miou"]}

    def sample_grid(self, batch, ctx: Dist) -> np.ndarray:
        """Rows of: source image | source parsing | target pose | predicted parsing | real target parsing."""
        pred = self.predict(batch).argmax(dim=1).cpu().numpy()
        size = tuple(batch["tgt_labels"].shape[1:])
        rows = []
        for i in range(len(pred)):
            rows.append([
                to_uint8(batch["src_image"][i].float().cpu()),
                draw.parsing_picture(batch["src_labels"][i].cpu().numpy()),
                draw.pose_picture(batch["tgt_keypoints"][i].cpu().numpy(), size),
                draw.parsing_picture(pred[i]),
                draw.parsing_picture(batch["tgt_labels"][i].cpu().numpy()),
            ])
        return draw.grid(rows, titles=["source", "src parsing", "target pose", "predicted", "real"])


def _f32(feats: list[torch.Tensor]) -> list[torch.Tensor]:
    """Losses in fp32 under autocast."""
    return [f.float() for f in feats]
