"""Geometric matcher: shapes, identity at initialisation, VGG16 trunk, and recovery of known affine transforms."""

import pytest
import torch
import torch.nn.functional as F

from posewarp.errors import WeightsMissingError
from posewarp.losses import grid_loss, matcher_loss
from posewarp.nn import GeometricMatcher, grids
from posewarp.nn.geometric_matcher import correlation


def random_parsing(n, size, generator, regions=8, labels=20):
    """Voronoi label maps: ``regions`` cells around random seeds, each with its own label (like body parts)."""
    seeds = torch.rand(n, regions, 2, generator=generator) * 2 - 1
    ids = torch.stack([torch.randperm(labels - 1, generator=generator)[:regions] + 1 for _ in range(n)])
    pts = grids.identity_grid(size)[0]
    dist = ((pts[None, :, :, None, :] - seeds[:, None, None]) ** 2).sum(-1)
    lab = ids.gather(1, dist.flatten(1, 2).argmin(-1)).view(n, *size)
    return F.one_hot(lab, labels).permute(0, 3, 1, 2).float()


def test_correlation_compares_every_source_location_with_every_target_location():
    a, b = torch.randn(2, 5, 3, 4), torch.randn(2, 5, 3, 4)
    corr = correlation(a, b)
    assert corr.shape == (2, 12, 3, 4)
    # channel k = source location (row-major), spatial = target location
    assert torch.allclose(corr[1, 1 * 4 + 2, 2, 3], (a[1, :, 1, 2] * b[1, :, 2, 3]).sum(), atol=1e-5)


def test_fresh_matcher_is_the_identity_and_grids_work_at_any_size():
    torch.manual_seed(0)
    m = GeometricMatcher(feature_size=(6, 6), width=8)
    g = torch.Generator().manual_seed(0)
    src, tgt = random_parsing(2, (32, 16), g), random_parsing(2, (32, 16), g)
    out = m(src, tgt)
    assert out["theta_affine"].shape == (2, 6) and out["theta_tps"].shape == (2, 18)
    for size in ((32, 16), (7, 5)):
        grid = out["grid"](size)
        assert grid.shape == (2, *size, 2)
        assert torch.equal(grid, grids.identity_grid(size, batch=2))  # zero-initialised regression
        assert torch.equal(grids.affine_tps_grid(out["theta_affine"], out["theta_tps"], size, m.grid_size), grid)
    total, stats = matcher_loss(out=out, src_parsing=src, tgt_parsing=tgt, grid_true=grids.identity_grid((8, 4), batch=2))
    assert stats["m_grid"] == 0.0 and 0 < stats["m_align"] < 1
    total.backward()
    assert m.tps_head.linear.weight.grad.abs().sum() > 0 and m.affine_head.linear.weight.grad.abs().sum() > 0


def test_vgg16_trunk_needs_weights_or_random_init():
    with pytest.raises(WeightsMissingError, match="posewarp weights download vgg16"):
        GeometricMatcher(features="vgg16")
    torch.manual_seed(1)
    m = GeometricMatcher(features="vgg16", random_init=True, feature_size=(5, 5), tps=False)  # BatchNorm: n >= 2
    assert m.input_size == (80, 80)
    out = m(torch.rand(2, 20, 40, 24).softmax(1), torch.rand(2, 20, 40, 24).softmax(1))
    assert out["theta_affine"].shape == (2, 6)
    assert torch.equal(out["theta_tps"], grids.tps_identity(2))


def test_matcher_learns_to_recover_known_affine_transforms():
    """Self-supervised grid loss on random parsing maps, each moved by its own known random affine."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    size, steps = (64, 32), 200
    m = GeometricMatcher(feature_size=(8, 6), width=16, tps=False)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.15)
    src_val = random_parsing(32, size, g)
    true_val = grids.random_grid(32, size, g, 1.0, tps=False)
    tgt_val = grids.warp(src_val, true_val, padding_mode="border")

    def held_out():
        m.eval()
        with torch.no_grad():
            loss = grid_loss(m(src_val, tgt_val)["grid"](size), true_val).item()
        m.train()
        return loss

    before = held_out()
    for _ in range(steps):
        src = random_parsing(8, size, g)
        true = grids.random_grid(8, size, g, 1.0, tps=False)
        out = m(src, grids.warp(src, true, padding_mode="border"))
        loss, _ = matcher_loss(out=out, src_parsing=src, tgt_parsing=None, grid_true=true, lambda_align=0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    after = held_out()
    assert after < before / 3, (before, after)
