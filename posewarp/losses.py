"""Losses of Stage I, Stage II and the geometric matcher (paper sections 3.1-3.3; reference/paper.md 1.1-1.2).

- Stage I: LSGAN adversarial + discriminator feature matching (pix2pixHD) + the pixel-wise
  softmax cross-entropy of LIP.
- Stage II: LSGAN adversarial + the pyramidal hierarchy loss sum_i a_i |F_i(fake) - F_i(real)|_1
  over discriminator layer features (lambda 10) + VGG19 perceptual loss over relu1_1..relu5_1
  with weights 1/32, 1/16, 1/8, 1/4, 1 (lambda 10) + pixel L1 (lambda 10), as in the authors' code;
  posewarp adds a structural term, 1 - SSIM (Gaussian window, as the field's SSIM), which needs no
  pretrained network.
- Matcher: the CNNGeometric grid loss (mean squared distance between predicted and true sampling
  points) on random synthetic transforms, plus an alignment loss between the warped source
  parsing and the target parsing.

Discriminator outputs may be a tensor (scores), a list of layer features (last = scores), or a
list of such lists (several discriminators). Every composite returns ``(total, stats)`` with
``stats`` a dict of floats (one host sync per call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from posewarp.nn import grids

PERCEPTUAL_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def _per_discriminator(feats) -> list[list[torch.Tensor]]:
    if isinstance(feats, torch.Tensor):
        return [[feats]]
    feats = list(feats)
    if feats and isinstance(feats[0], torch.Tensor):
        return [feats]
    return [list(f) for f in feats]


def lsgan(pred, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss: mean (score - 1)^2 for real targets, mean score^2 for fake; averaged over discriminators."""
    losses = []
    for feats in _per_discriminator(pred):
        score = feats[-1]
        target = torch.ones_like(score) if target_is_real else torch.zeros_like(score)
        losses.append(F.mse_loss(score, target))
    return torch.stack(losses).mean()


def feature_matching(fake_feats, real_feats, weights: Sequence[float] | None = None) -> torch.Tensor:
    """Pyramidal hierarchy loss: sum_i a_i * mean|F_i(fake) - F_i(real)| over the intermediate layers.

    The final score map is excluded and real features are detached (pix2pixHD). Default
    ``a_i = 4 / (number of intermediate layers)`` (1 for a 3-layer PatchGAN), averaged over discriminators.
    """
    fakes, reals = _per_discriminator(fake_feats), _per_discriminator(real_feats)
    if len(fakes) != len(reals):
        raise ValueError(f"{len(fakes)} fake and {len(reals)} real discriminator outputs")
    total = 0.0
    for fake, real in zip(fakes, reals):
        n = len(fake) - 1
        if n < 1 or len(real) != len(fake):
            raise ValueError("feature matching needs the same layer list (at least two layers) for fake and real")
        a = [4.0 / n] * n if weights is None else list(weights)
        if len(a) != n:
            raise ValueError(f"{len(a)} weights for {n} intermediate layers")
        for w, f, r in zip(a, fake[:-1], real[:-1]):
            total = total + w * F.l1_loss(f, r.detach())
    return total / len(fakes)


def perceptual(vgg: Callable, fake: torch.Tensor, real: torch.Tensor,
               weights: Sequence[float] | None = None) -> torch.Tensor:
    """sum_i w_i * mean|F_i(fake) - F_i(real)| over the taps of a feature trunk ``vgg`` (a VGGFeatures, or any
    module returning a list of maps); ``weights`` default to the trunk's ``tap_weights``, else the VGG19 ones."""
    if weights is None:
        weights = getattr(vgg, "tap_weights", PERCEPTUAL_WEIGHTS)
    fake_feats = vgg(fake)
    with torch.no_grad():
        real_feats = vgg(real)
    if len(weights) != len(fake_feats):
        raise ValueError(f"{len(weights)} weights for {len(fake_feats)} VGG layers")
    return sum(w * F.l1_loss(f, r) for w, f, r in zip(weights, fake_feats, real_feats))


def _gaussian_window(size: int = 11, sigma: float = 1.5, *, device=None, dtype=None) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_loss(fake: torch.Tensor, real: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """``1 - SSIM`` of images in [-1, 1] (compared in [0, 1]; C1 = 0.01^2, C2 = 0.03^2, an 11x11 Gaussian window
    of sigma 1.5 applied separably per channel, valid positions only), averaged over pixels and channels."""
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ")
    x, y = (fake.float() + 1) / 2, (real.float() + 1) / 2
    c = x.shape[1]
    g = _gaussian_window(window, sigma, device=x.device, dtype=x.dtype)
    gx, gy = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, gx, groups=c), gy, groups=c)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return 1 - s.mean()


def parsing_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Pixel-wise softmax cross-entropy; ``labels`` are ids (N, H, W) or one-hot (N, C, H, W) (argmax taken)."""
    if labels.dim() == 4:
        labels = labels.argmax(dim=1)
    if labels.shape != (logits.shape[0],) + tuple(logits.shape[2:]):
        raise ValueError(f"labels {tuple(labels.shape)} do not fit logits {tuple(logits.shape)}")
    return F.cross_entropy(logits.float(), labels.long())


def grid_loss(grid_pred: torch.Tensor, grid_true: torch.Tensor) -> torch.Tensor:
    """Mean squared Euclidean distance between corresponding sampling points (CNNGeometric's grid loss)."""
    if grid_pred.shape != grid_true.shape or grid_pred.shape[-1] != 2:
        raise ValueError(f"grids differ in shape: {tuple(grid_pred.shape)} and {tuple(grid_true.shape)}")
    return ((grid_pred - grid_true) ** 2).sum(dim=-1).mean()


def alignment(warped: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Half the L1 distance between (soft) one-hot maps per pixel: the misaligned fraction for hard maps."""
    return 0.5 * (warped - target).abs().sum(dim=1).mean()


def _stats(**terms) -> dict[str, float]:
    return {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in terms.items()}


def discriminator_loss(*, d_fake_feats, d_real_feats) -> tuple[torch.Tensor, dict[str, float]]:
    """0.5 * (LSGAN(real, 1) + LSGAN(fake, 0)); the fake features must come from a detached output."""
    real = lsgan(d_real_feats, True)
    fake = lsgan(d_fake_feats, False)
    total = 0.5 * (real + fake)
    return total, _stats(d_real=real, d_fake=fake, d_total=total)


def stage1_generator_loss(*, logits: torch.Tensor, labels: torch.Tensor, d_fake_feats, d_real_feats,
                          lambda_adv: float = 1.0, lambda_feat: float = 10.0, lambda_ce: float = 1.0
                          ) -> tuple[torch.Tensor, dict[str, float]]:
    """Stage I generator: adversarial + feature matching + parsing cross-entropy (a zero lambda skips a term)."""
    zero = logits.new_zeros(())
    adv = lsgan(d_fake_feats, True) if lambda_adv else zero
    feat = feature_matching(d_fake_feats, d_real_feats) if lambda_feat else zero
    ce = parsing_cross_entropy(logits, labels) if lambda_ce else zero
    total = lambda_adv * adv + lambda_feat * feat + lambda_ce * ce
    return total, _stats(g_adv=adv, g_feat=feat, g_ce=ce, g_total=total)


def stage2_generator_loss(*, fake: torch.Tensor, real: torch.Tensor, d_fake_feats, d_real_feats, vgg=None,
                          lambda_adv: float = 1.0, lambda_feat: float = 10.0, lambda_vgg: float = 10.0,
                          lambda_l1: float = 10.0, lambda_ssim: float = 0.0,
                          vgg_weights: Sequence[float] | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Stage II generator: adversarial + pyramidal hierarchy + VGG perceptual + L1 + structure (1 - SSIM); a zero
    lambda skips a term."""
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ")
    zero = fake.new_zeros(())
    adv = lsgan(d_fake_feats, True) if lambda_adv else zero
    feat = feature_matching(d_fake_feats, d_real_feats) if lambda_feat else zero
    if lambda_vgg:
        if vgg is None:
            raise ValueError("lambda_vgg > 0 needs a feature trunk (VGGFeatures or WorldFeatures)")
        vgg_loss = perceptual(vgg, fake, real, vgg_weights)
    else:
        vgg_loss = zero
    l1 = F.l1_loss(fake, real) if lambda_l1 else zero
    structure = ssim_loss(fake, real) if lambda_ssim else zero
    total = lambda_adv * adv + lambda_feat * feat + lambda_vgg * vgg_loss + lambda_l1 * l1 + lambda_ssim * structure
    return total, _stats(g_adv=adv, g_feat=feat, g_vgg=vgg_loss, g_l1=l1, g_ssim=structure, g_total=total)


def matcher_loss(*, out: dict, src_parsing: torch.Tensor, tgt_parsing: torch.Tensor,
                 grid_true: torch.Tensor | None = None, lambda_grid: float = 1.0, lambda_affine: float = 1.0,
                 lambda_align: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Matcher training: grid loss of the composed grid (and of the affine stage alone) against
    ``grid_true`` (a synthetic pair; omit it for real pairs) + alignment of the warped source with the target.

    ``out`` is a GeometricMatcher output; ``grid_true`` (N, h, w, 2) is compared at its own resolution.
    """
    zero = out["theta_affine"].new_zeros(())
    if grid_true is not None:
        size = tuple(grid_true.shape[1:3])
        g_grid = grid_loss(out["grid"](size), grid_true)
        g_aff = grid_loss(grids.affine_grid(out["theta_affine"], size), grid_true)
    else:
        g_grid = g_aff = zero
        lambda_grid = lambda_affine = 0.0
    if lambda_align:
        warped = grids.warp(src_parsing.float(), out["grid"](tuple(src_parsing.shape[2:])), padding_mode="border")
        align = alignment(warped, tgt_parsing.float())
    else:
        align = zero
    total = lambda_grid * g_grid + lambda_affine * g_aff + lambda_align * align
    return total, _stats(m_grid=g_grid, m_grid_affine=g_aff, m_align=align, m_total=total)
