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
from posewarp.config import TrainConfig
from posewarp.formats import draw
from posewarp.formats.images import to_uint8
from posewarp.formats.parsing import NUM_LABELS
from posewarp.metrics.parsing_scores import confusion, parsing_scores
from posewarp.models import build_discriminator, build_parser, parser_inputs
from posewarp.training.distributed import Dist
from posewarp.training.gan import adam, gan_step
from posewarp.training.loop import Stage


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
        self.opts = {"generator": adam(G.parameters(), config.optim), "discriminator": adam(D.parameters(), config.optim)}
        self.lrs = {"generator": config.optim.lr, "discriminator": config.optim.lr}

    def train_step(self, batch, ctx: Dist) -> dict[str, float]:
        loss = self.config.loss
        inputs = parser_inputs(self.nets["generator"], batch)
        with ctx.autocast():
            logits = self.G(*inputs)

        def generator_loss(d_fake, d_real):
            return losses.stage1_generator_loss(logits=logits, labels=batch["tgt_labels"], d_fake_feats=d_fake,
                                                d_real_feats=d_real, lambda_adv=loss.adv, lambda_feat=loss.feat,
                                                lambda_ce=loss.ce)

        # D sees the softmax of the logits against the real one-hot parsing.
        return gan_step(ctx, discriminator=self.nets["discriminator"], wrapped_discriminator=self.D, opts=self.opts,
                        cond=torch.cat((batch["src_parsing"], batch["tgt_pose"]), dim=1), real=batch["tgt_parsing"],
                        fake=logits.float().softmax(dim=1), generator_loss=generator_loss,
                        train_discriminator=bool(loss.adv or loss.feat))

    def predict(self, batch) -> torch.Tensor:
        return self.nets["generator"](*parser_inputs(self.nets["generator"], batch)).float()

    def validate_batch(self, batch, ctx: Dist) -> dict[str, torch.Tensor]:
        pred = self.predict(batch).argmax(dim=1)
        return {
            "confusion": confusion(pred, batch["tgt_labels"], NUM_LABELS),
            "copy_confusion": confusion(batch["src_labels"], batch["tgt_labels"], NUM_LABELS),
        }

    def summarize(self, sums) -> dict[str, float]:
        out = parsing_scores(sums["confusion"])
        copy = parsing_scores(sums["copy_confusion"])
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

