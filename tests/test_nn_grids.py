"""Affine / TPS sampling grids: exact identities, analytic cases, agreement with torch, random samplers."""

import pytest
import torch
import torch.nn.functional as F

from posewarp.nn import grids


def label_map(n=2, h=24, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 20, (n, 1, h, w), generator=g)


def test_identity_parameters_give_exactly_the_identity_grid_and_warp():
    size = (24, 16)
    ident = grids.identity_grid(size, batch=2)
    aff = grids.affine_grid(grids.affine_identity(2), size)
    aff23 = grids.affine_grid(grids.affine_identity(2).view(2, 2, 3), size)
    tps = grids.tps_grid(grids.tps_identity(2), size)
    tps_off = grids.tps_grid(torch.zeros(2, 18), size, offsets=True)
    both = grids.affine_tps_grid(grids.affine_identity(2), grids.tps_identity(2), size)
    labels = label_map()
    onehot = F.one_hot(labels[:, 0], 20).permute(0, 3, 1, 2).float()
    for grid in (aff, aff23, tps, tps_off, both):
        assert torch.equal(grid, ident)
        assert torch.equal(grids.warp(labels, grid, mode="nearest"), labels)
        assert torch.equal(grids.warp(onehot, grid, mode="nearest"), onehot)
        assert torch.allclose(grids.warp(onehot, grid), onehot, atol=1e-5)


def test_identity_grid_is_pixel_centres_and_matches_torch():
    grid = grids.identity_grid((4, 2))[0]
    assert torch.allclose(grid[:, 0, 0], torch.full((4,), -0.5))
    assert torch.allclose(grid[0, :, 1], torch.full((2,), -0.75))
    theta = grids.random_affine(3, torch.Generator().manual_seed(1), 1.0)
    ours = grids.affine_grid(theta, (20, 12))
    ref = F.affine_grid(theta.view(3, 2, 3), (3, 1, 20, 12), align_corners=grids.ALIGN_CORNERS)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_known_affine_moves_a_label_map():
    labels = label_map(1, 16, 16)
    # sample x' = x + 2 pixels (in normalised units 2 * 2/16): output column j shows input column j + 2
    theta = torch.tensor([[1.0, 0.0, 0.25, 0.0, 1.0, 0.0]])
    out = grids.warp(labels, grids.affine_grid(theta, (16, 16)), mode="nearest")
    assert torch.equal(out[..., :14], labels[..., 2:])
    assert torch.equal(out[..., 14:], torch.zeros_like(out[..., 14:]))


def test_tps_interpolates_its_control_points():
    g = torch.Generator().manual_seed(2)
    theta = grids.random_tps(4, g, 1.0)
    lattice = grids.tps_control_points(3)
    mapped = grids.tps_points(theta, lattice)
    assert torch.allclose(mapped, torch.stack((theta[:, :9], theta[:, 9:]), dim=-1), atol=1e-5)
    # 4x4 lattice too
    theta4 = grids.random_tps(2, g, 1.0, grid_size=4)
    mapped4 = grids.tps_points(theta4, grids.tps_control_points(4), grid_size=4)
    assert torch.allclose(mapped4, torch.stack((theta4[:, :16], theta4[:, 16:]), dim=-1), atol=1e-5)


def test_tps_reproduces_an_affine_map_exactly():
    theta_a = grids.random_affine(3, torch.Generator().manual_seed(3), 1.0)
    lattice = grids.tps_control_points(3).unsqueeze(0).expand(3, -1, -1)
    moved = grids.apply_affine(theta_a, lattice)
    theta_t = torch.cat((moved[..., 0], moved[..., 1]), dim=1)
    assert torch.allclose(grids.tps_grid(theta_t, (30, 20)), grids.affine_grid(theta_a, (30, 20)), atol=1e-5)


def test_affine_tps_grid_equals_warping_twice():
    g = torch.Generator().manual_seed(4)
    size = (32, 24)
    theta_a = grids.random_affine(2, g, 0.5)
    theta_t = grids.random_tps(2, g, 0.3)
    first, second = grids.affine_grid(theta_a, size), grids.tps_grid(theta_t, size)
    composed = grids.affine_tps_grid(theta_a, theta_t, size)
    via_sampling = grids.warp(first.permute(0, 3, 1, 2), second, padding_mode="border").permute(0, 2, 3, 1)
    ident = grids.identity_grid(size)
    lo, hi = ident[..., 0].min(), ident[..., 0].max()
    inside = ((second >= lo) & (second <= hi)).all(-1)  # bilinear resampling is exact inside the centres
    assert inside.float().mean() > 0.5
    assert torch.allclose(composed[inside], via_sampling[inside], atol=1e-5)


def test_grids_at_any_resolution_are_consistent():
    theta_a = grids.random_affine(2, torch.Generator().manual_seed(5), 1.0)
    theta_t = grids.random_tps(2, torch.Generator().manual_seed(6), 0.5)
    big = grids.affine_tps_grid(theta_a, theta_t, (64, 32))
    small = grids.affine_tps_grid(theta_a, theta_t, (8, 4))
    assert torch.allclose(grids.resize_grid(big, (8, 4)), small, atol=1e-2)  # TPS is not linear: area mean
    ident = grids.identity_grid((64, 32))
    assert torch.allclose(grids.resize_grid(ident, (8, 4)), grids.identity_grid((8, 4)), atol=1e-6)
    assert grids.resize_grid(ident, (64, 32)) is ident


def test_random_samplers_are_seeded_and_zero_strength_is_identity():
    a1 = grids.random_affine(5, torch.Generator().manual_seed(7), 0.7)
    a2 = grids.random_affine(5, torch.Generator().manual_seed(7), 0.7)
    assert a1.shape == (5, 6) and torch.equal(a1, a2)
    assert torch.allclose(grids.random_affine(5, None, 0.0), grids.affine_identity(5))
    t = grids.random_tps(5, torch.Generator().manual_seed(7), 1.0)
    assert t.shape == (5, 18)
    assert (t - grids.tps_identity(5)).abs().max() <= 0.4 + 1e-6
    assert torch.equal(grids.random_tps(2, None, 0.0), grids.tps_identity(2))
    grid = grids.random_grid(3, (16, 8), torch.Generator().manual_seed(8), 0.5)
    assert grid.shape == (3, 16, 8, 2) and torch.isfinite(grid).all()


def test_grids_are_differentiable():
    theta_a = grids.affine_identity(2).requires_grad_(True)
    theta_t = grids.tps_identity(2).requires_grad_(True)
    x = torch.rand(2, 3, 16, 8)
    out = grids.warp(x, grids.affine_tps_grid(theta_a, theta_t, (16, 8)))
    (out * torch.rand_like(out)).sum().backward()
    assert theta_a.grad.abs().sum() > 0 and theta_t.grad.abs().sum() > 0


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        grids.affine_grid(torch.zeros(2, 5), (4, 4))
    with pytest.raises(ValueError):
        grids.tps_grid(torch.zeros(2, 8), (4, 4))
    with pytest.raises(ValueError):
        grids.warp(label_map(), grids.identity_grid((24, 16), batch=2))  # bilinear on integers


def test_grids_stay_float32_under_autocast_and_for_low_precision_parameters():
    size = (16, 8)
    theta_t = grids.random_tps(2, torch.Generator().manual_seed(9), 0.5)
    ref = grids.tps_grid(theta_t, size)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = grids.tps_grid(theta_t, size)
        ident = grids.affine_tps_grid(grids.affine_identity(2, dtype=torch.bfloat16),
                                      grids.tps_identity(2, dtype=torch.bfloat16), size)
        feats = torch.rand(2, 4, *size).to(torch.bfloat16)
        warped = grids.warp(feats, ident)
    assert inside.dtype == torch.float32 and torch.equal(inside, ref)
    assert ident.dtype == torch.float32 and torch.equal(ident, grids.identity_grid(size, batch=2))
    assert warped.dtype == torch.bfloat16 and torch.equal(warped, feats)
