"""The conditional GAN step both stages share (paper sections 3.1 and 3.3; reference/paper.md 1.2).

The discriminator judges a condition (the generator's inputs) joined with an output along the channels.
First the generator steps against a frozen discriminator (its own loss: adversarial + feature matching +
whatever else the stage adds); then the discriminator steps on the real output and the *detached* fake,
with the LSGAN loss ``0.5 * (LSGAN(real, 1) + LSGAN(fake, 0))``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from posewarp import losses
from posewarp.training.distributed import Dist

GeneratorLoss = Callable[[list[torch.Tensor], list[torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]


def adam(params, optim, lr: float | None = None) -> torch.optim.Adam:
    """The paper's Adam (``optim``: an ``OptimConfig``), at ``optim.lr`` unless ``lr`` is given."""
    return torch.optim.Adam(params, lr=optim.lr if lr is None else lr, betas=(optim.beta1, optim.beta2))


def gan_step(ctx: Dist, *, discriminator: nn.Module, wrapped_discriminator: nn.Module,
             opts: dict[str, torch.optim.Optimizer], cond: torch.Tensor, real: torch.Tensor, fake: torch.Tensor,
             generator_loss: GeneratorLoss, train_discriminator: bool) -> dict[str, float]:
    """One generator step and (when ``train_discriminator``) one discriminator step; returns their loss terms.

    ``discriminator`` is the bare module (frozen while the generator steps, so DDP sees no unused gradients),
    ``wrapped_discriminator`` its DDP wrapper; ``generator_loss(d_fake_feats, d_real_feats)`` gets fp32 features.
    """
    # Generator: D frozen judges the fake (gradients flow into G only) and the real (no graph at all).
    discriminator.requires_grad_(False)
    with ctx.autocast():
        d_fake = discriminator(torch.cat((cond, fake), dim=1))
        with torch.no_grad():
            d_real = discriminator(torch.cat((cond, real), dim=1))
        g_total, g_stats = generator_loss(_f32(d_fake), _f32(d_real))
    discriminator.requires_grad_(True)
    opts["generator"].zero_grad(set_to_none=True)
    ctx.backward(g_total)
    ctx.step(opts["generator"])
    if not train_discriminator:
        return g_stats

    # Discriminator: real against the detached fake.
    with ctx.autocast():
        d_real = wrapped_discriminator(torch.cat((cond, real), dim=1))
        d_fake = wrapped_discriminator(torch.cat((cond, fake.detach()), dim=1))
    d_total, d_stats = losses.discriminator_loss(d_fake_feats=_f32(d_fake), d_real_feats=_f32(d_real))
    opts["discriminator"].zero_grad(set_to_none=True)
    ctx.backward(d_total)
    ctx.step(opts["discriminator"])
    return {**g_stats, **d_stats}


def _f32(feats: list[torch.Tensor]) -> list[torch.Tensor]:
    """Losses in fp32 under autocast."""
    return [f.float() for f in feats]
