"""Losses: analytic values of each term, gradients only where they belong, and totals falling on tiny problems."""

import math

import pytest
import torch
import torch.nn.functional as F

from posewarp import losses
from posewarp.nn import ParsingGenerator, PatchDiscriminator, VGGFeatures, WarpingGenerator, grids


def test_lsgan_values_for_tensors_feature_lists_and_several_discriminators():
    score = torch.full((2, 1, 3, 3), 0.25)
    assert losses.lsgan(score, True).item() == pytest.approx(0.5625)
    assert losses.lsgan(score, False).item() == pytest.approx(0.0625)
    feats = [torch.randn(2, 4, 3, 3), score]
    assert losses.lsgan(feats, True).item() == pytest.approx(0.5625)
    two = [feats, [torch.randn(2, 4, 3, 3), torch.ones(2, 1, 2, 2)]]
    assert losses.lsgan(two, True).item() == pytest.approx(0.5625 / 2)


def test_feature_matching_is_the_weighted_l1_over_intermediate_layers():
    fake = [torch.zeros(1, 2, 4, 4, requires_grad=True), torch.zeros(1, 3, 2, 2, requires_grad=True), torch.zeros(1, 1, 2, 2)]
    real = [torch.ones(1, 2, 4, 4, requires_grad=True), torch.full((1, 3, 2, 2), 3.0), torch.full((1, 1, 2, 2), 100.0)]
    # default a_i = 4 / (number of intermediate layers) = 2; the score map is not matched
    assert losses.feature_matching(fake, real).item() == pytest.approx(2 * 1 + 2 * 3)
    assert losses.feature_matching(fake, real, weights=(1.0, 0.5)).item() == pytest.approx(1 + 1.5)
    losses.feature_matching(fake, real).backward()
    assert fake[0].grad is not None and real[0].grad is None  # real features are targets
    assert losses.feature_matching(real, real).item() == 0
    with pytest.raises(ValueError):
        losses.feature_matching(fake, real, weights=(1.0,))


def test_perceptual_loss_uses_the_paper_weights():
    vgg = VGGFeatures(layers=("relu1_1", "relu2_1"), random_init=True)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    y = torch.rand(1, 3, 16, 16) * 2 - 1
    assert losses.perceptual(vgg, x, x, weights=(1.0, 1.0)).item() == 0
    f, r = vgg(x), vgg(y)
    expected = F.l1_loss(f[0], r[0]) / 32 + F.l1_loss(f[1], r[1]) / 16
    assert losses.perceptual(vgg, x, y, weights=(1 / 32, 1 / 16)).item() == pytest.approx(expected.item(), rel=1e-5)
    assert losses.PERCEPTUAL_WEIGHTS == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def test_parsing_cross_entropy_accepts_ids_or_one_hot():
    logits = torch.randn(2, 20, 4, 3)
    ids = torch.randint(0, 20, (2, 4, 3))
    onehot = F.one_hot(ids, 20).permute(0, 3, 1, 2).float()
    ce = losses.parsing_cross_entropy(logits, ids)
    assert ce.item() == pytest.approx(F.cross_entropy(logits, ids).item())
    assert losses.parsing_cross_entropy(logits, onehot).item() == pytest.approx(ce.item())
    assert losses.parsing_cross_entropy(torch.zeros(1, 20, 2, 2), ids[:1, :2, :2]).item() == pytest.approx(math.log(20))


def test_grid_loss_is_mean_squared_distance():
    a = grids.identity_grid((4, 4), batch=2)
    b = a + torch.tensor([0.3, 0.4])
    assert losses.grid_loss(a, b).item() == pytest.approx(0.25)
    assert losses.grid_loss(a, a).item() == 0


def test_matcher_loss_without_ground_truth_is_alignment_only():
    src = F.one_hot(torch.randint(0, 20, (2, 16, 8)), 20).permute(0, 3, 1, 2).float()
    out = {"theta_affine": grids.affine_identity(2), "theta_tps": grids.tps_identity(2),
           "grid": lambda size: grids.identity_grid(size, batch=2)}
    total, stats = losses.matcher_loss(out=out, src_parsing=src, tgt_parsing=src)
    assert total.item() == 0 and stats["m_align"] == 0
    other = src.roll(1, dims=3)
    _, stats = losses.matcher_loss(out=out, src_parsing=src, tgt_parsing=other)
    assert stats["m_align"] == pytest.approx((src.argmax(1) != other.argmax(1)).float().mean().item())


def test_stage1_losses_finite_and_total_falls():
    g = ParsingGenerator(ngf=8, n_blocks=1)
    d = PatchDiscriminator(in_channels=58, ndf=8)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    src = F.one_hot(torch.randint(0, 20, (2, 32, 16)), 20).permute(0, 3, 1, 2).float()
    pose = (torch.rand(2, 18, 32, 16) > 0.9).float()
    labels = torch.randint(0, 20, (2, 32, 16))
    cond = torch.cat((src, pose), 1)
    real = torch.cat((cond, F.one_hot(labels, 20).permute(0, 3, 1, 2).float()), 1)
    # a GAN's totals need not fall while both players move: each player's total falls while the other is held
    g_totals, d_totals = [], []
    for step in range(40):
        train_g = step < 20
        logits = g(src, pose)
        fake = torch.cat((cond, logits.softmax(1)), 1)
        d_loss, d_stats = losses.discriminator_loss(d_fake_feats=d(fake.detach()), d_real_feats=d(real))
        total, stats = losses.stage1_generator_loss(logits=logits, labels=labels, d_fake_feats=d(fake), d_real_feats=d(real))
        opt_g.zero_grad()
        opt_d.zero_grad()
        (total if train_g else d_loss).backward()
        (opt_g if train_g else opt_d).step()
        assert all(math.isfinite(v) for v in {**stats, **d_stats}.values())
        assert set(stats) == {"g_adv", "g_feat", "g_ce", "g_total"} and set(d_stats) == {"d_real", "d_fake", "d_total"}
        (g_totals if train_g else d_totals).append(stats["g_total"] if train_g else d_stats["d_total"])
    assert sum(g_totals[-5:]) < 0.8 * sum(g_totals[:5])
    assert sum(d_totals[-5:]) < 0.8 * sum(d_totals[:5])


def test_stage2_losses_finite_and_total_falls():
    g = WarpingGenerator(ngf=8, n_blocks=1)
    d = PatchDiscriminator(in_channels=64, ndf=8)
    vgg = VGGFeatures(layers=("relu1_1", "relu2_1", "relu3_1"), random_init=True)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    n, size = 2, (32, 16)
    x = {
        "src_image": torch.rand(n, 3, *size) * 2 - 1,
        "src_parsing": F.one_hot(torch.randint(0, 20, (n, *size)), 20).permute(0, 3, 1, 2).float(),
        "tgt_parsing": F.one_hot(torch.randint(0, 20, (n, *size)), 20).permute(0, 3, 1, 2).float(),
        "tgt_pose": (torch.rand(n, 18, *size) > 0.9).float(),
    }
    target = torch.rand(n, 3, *size) * 2 - 1
    grid = grids.random_grid(n, size, torch.Generator().manual_seed(0), 0.5)
    cond = torch.cat(list(x.values()), 1)
    g_totals, d_totals = [], []
    for step in range(40):
        train_g = step < 20
        fake = g(**x, grid=grid)["image"]
        d_loss, d_stats = losses.discriminator_loss(d_fake_feats=d(torch.cat((cond, fake.detach()), 1)),
                                                           d_real_feats=d(torch.cat((cond, target), 1)))
        total, stats = losses.stage2_generator_loss(
            fake=fake, real=target, d_fake_feats=d(torch.cat((cond, fake), 1)),
            d_real_feats=d(torch.cat((cond, target), 1)), vgg=vgg, vgg_weights=(1 / 32, 1 / 16, 1 / 8))
        opt_g.zero_grad()
        opt_d.zero_grad()
        (total if train_g else d_loss).backward()
        (opt_g if train_g else opt_d).step()
        assert all(math.isfinite(v) for v in {**stats, **d_stats}.values())
        assert all(stats[k] > 0 for k in ("g_adv", "g_feat", "g_vgg", "g_l1"))
        (g_totals if train_g else d_totals).append(stats["g_total"] if train_g else d_stats["d_total"])
    assert sum(g_totals[-5:]) < 0.8 * sum(g_totals[:5])
    assert sum(d_totals[-5:]) < 0.8 * sum(d_totals[:5])
    with pytest.raises(ValueError, match="VGG"):
        losses.stage2_generator_loss(fake=fake, real=target, d_fake_feats=[fake], d_real_feats=[target], lambda_feat=0)
    no_vgg, stats = losses.stage2_generator_loss(fake=fake, real=target, d_fake_feats=[fake], d_real_feats=[target],
                                                 lambda_vgg=0, lambda_feat=0)
    assert stats["g_vgg"] == 0 and stats["g_feat"] == 0 and torch.isfinite(no_vgg)


def test_ssim_loss_is_one_minus_the_fields_ssim_and_has_gradients():
    import numpy as np

    from posewarp.formats.images import to_uint8
    from posewarp.metrics.ssim import ssim

    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 64, 48, generator=g) * 2 - 1
    b = (a + 0.3 * torch.randn(2, 3, 64, 48, generator=g)).clamp(-1, 1)
    assert losses.ssim_loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    expected = 1 - np.mean([ssim(x, y) for x, y in zip(to_uint8(a), to_uint8(b))])
    assert losses.ssim_loss(a, b).item() == pytest.approx(expected, rel=0.02)  # uint8 rounding aside, the same
    fake = b.clone().requires_grad_(True)
    total, stats = losses.stage2_generator_loss(fake=fake, real=a, d_fake_feats=[torch.zeros(1)],
                                                d_real_feats=[torch.zeros(1)], lambda_adv=0, lambda_feat=0,
                                                lambda_vgg=0, lambda_l1=0, lambda_ssim=1.0)
    total.backward()
    assert stats["g_ssim"] == pytest.approx(expected, rel=0.02) and fake.grad.abs().sum() > 0
