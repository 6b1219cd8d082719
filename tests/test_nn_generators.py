"""Stage I parser, Stage II warping generator, soft-gated warp block and PatchGAN: shapes, gradients, ablations."""

import pytest
import torch
from torch import nn

from posewarp.nn import ParsingGenerator, PatchDiscriminator, SoftGatedWarpBlock, WarpingGenerator, grids


def inputs(n, h, w):
    return {
        "src_image": torch.rand(n, 3, h, w) * 2 - 1,
        "src_parsing": torch.rand(n, 20, h, w),
        "tgt_parsing": torch.rand(n, 20, h, w),
        "tgt_pose": (torch.rand(n, 18, h, w) > 0.9).float(),
    }


def grads_ok(module):
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    return all(g is not None and torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("size", [(32, 16), (48, 32)])
def test_parsing_generator_forward_backward(size):
    g = ParsingGenerator(ngf=8, n_blocks=2)
    x = inputs(2, *size)
    logits = g(x["src_parsing"], x["tgt_pose"])
    assert logits.shape == (2, 20, *size)
    assert not isinstance(g.decoder[-1], nn.Tanh)  # logits for softmax cross-entropy, not the authors' tanh
    logits.square().mean().backward()
    assert grads_ok(g)


def test_parsing_generator_rejects_bad_inputs():
    g = ParsingGenerator(ngf=8, n_blocks=1)
    x = inputs(1, 32, 16)
    with pytest.raises(ValueError, match="multiples of 8"):
        g(torch.rand(1, 20, 30, 16), torch.rand(1, 18, 30, 16))
    with pytest.raises(ValueError, match="tgt_pose"):
        g(x["src_parsing"], x["tgt_pose"][:, :17])


@pytest.mark.parametrize("size", [(32, 16), (64, 32)])
def test_patch_discriminator_features(size):
    d = PatchDiscriminator(in_channels=64, ndf=8, n_layers=3)
    x = torch.rand(2, 64, *size, requires_grad=True)
    feats = d(x)
    assert len(feats) == 5
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64, 1]
    assert feats[-1].shape[0] == 2 and feats[-1].shape[2] >= 2
    feats[-1].mean().backward()
    assert grads_ok(d) and x.grad is not None


def test_gate_is_in_unit_interval_with_one_value_per_location():
    block = SoftGatedWarpBlock(channels=16, shape_channels=12)
    phi, shape = torch.randn(3, 16, 8, 4), torch.randn(3, 12, 8, 4)
    grid = grids.random_grid(3, (32, 16), torch.Generator().manual_seed(0), 0.5)  # image resolution
    out, gate = block(phi, shape, grid)
    assert out.shape == phi.shape
    assert gate.shape == (3, 1, 8, 4)
    assert (gate > 0).all() and (gate < 1).all()
    (out.sum() + gate.sum()).backward()
    assert grads_ok(block)


def test_warp_block_formula_and_ablations():
    torch.manual_seed(1)
    full = SoftGatedWarpBlock(channels=8, shape_channels=4)
    no_gate = SoftGatedWarpBlock(channels=8, shape_channels=4, gate=False)
    no_warp = SoftGatedWarpBlock(channels=8, shape_channels=4, warp=False)
    no_gate.residual.load_state_dict(full.residual.state_dict())
    no_warp.load_state_dict(full.state_dict())
    phi, shape = torch.randn(2, 8, 8, 8), torch.randn(2, 4, 8, 8)
    theta = torch.tensor([[1.0, 0.0, 0.25, 0.0, 1.0, 0.0]]).repeat(2, 1)  # sample one feature cell to the right
    grid = grids.affine_grid(theta, (8, 8))
    residual = full.residual(phi)
    warped = grids.warp(residual, grid)
    assert torch.allclose(warped[..., :7], residual[..., 1:], atol=1e-5)

    out, gate = full(phi, shape, grid)
    assert torch.allclose(out, phi + gate * warped, atol=1e-5)
    out_ng, gate_ng = no_gate(phi, shape, grid)
    assert torch.equal(gate_ng, torch.ones(2, 1, 8, 8))
    assert torch.allclose(out_ng, phi + warped, atol=1e-5)
    out_nw, gate_nw = no_warp(phi, shape, None)
    assert torch.allclose(out_nw, phi + gate_nw * residual, atol=1e-5)
    # the identity grid warps nothing: the full block then equals the no-warp ablation
    out_id, _ = full(phi, shape, grids.identity_grid((8, 8), batch=2))
    assert torch.allclose(out_id, out_nw, atol=1e-5)
    with pytest.raises(ValueError, match="grid"):
        full(phi, shape, None)


@pytest.mark.parametrize("size", [(32, 16), (64, 32)])
def test_warping_generator_forward_backward(size):
    gen = WarpingGenerator(ngf=8, n_blocks=2, extra_block=True)
    x = inputs(2, *size)
    grid = grids.random_grid(2, size, torch.Generator().manual_seed(2), 0.5)
    out = gen(**x, grid=grid)
    img = out["image"]
    assert img.shape == (2, 3, *size)
    assert img.abs().max() <= 1
    h, w = size
    assert [tuple(g.shape) for g in out["gates"]] == [(2, 1, h // 4, w // 4), (2, 1, h // 8, w // 8)]
    assert [f.shape[1] for f in out["warped"]] == [32, 64]
    assert all(((g > 0) & (g < 1)).all() for g in out["gates"])
    (img.mean() + sum(g.mean() for g in out["gates"])).backward()
    assert grads_ok(gen)


def test_warping_generator_ablations():
    x = inputs(1, 32, 16)
    plain = WarpingGenerator(ngf=8, n_blocks=1, warp=False, gate=False)
    out = plain(**x, grid=None)
    assert out["image"].shape == (1, 3, 32, 16) and torch.equal(out["gates"][0], torch.ones(1, 1, 4, 2))
    gen = WarpingGenerator(ngf=8, n_blocks=1)
    assert len(gen.warp_blocks) == 1
    with pytest.raises(ValueError, match="grid"):
        gen(**x, grid=None)
    with pytest.raises(ValueError, match="tgt_parsing"):
        gen(**{**x, "tgt_parsing": x["tgt_parsing"][:, :, :16]}, grid=grids.identity_grid((32, 16)))


def test_paper_sizes_match_the_authors_networks():
    """Parameter counts at the paper sizes (built on the meta device: no memory, no init cost)."""

    with torch.device("meta"):
        parser = ParsingGenerator()
        gen = WarpingGenerator()
        d = PatchDiscriminator(in_channels=64)
        res_blocks = count_parameters(gen.blocks)
    assert count_parameters(parser) == 45_756_436  # the authors' Stage I ResGenerator: 45.8 M
    assert res_blocks == 9 * 2 * (1024 * 1024 * 9 + 1024)  # 9 residual blocks at 1024 channels: 169.9 M
    # 179.5 M of the authors' Stage II generator + the learned residual R and the gate of the warp block
    warp_block = count_parameters(gen.warp_blocks)
    assert count_parameters(gen) - warp_block == pytest.approx(179.5e6, rel=2e-3)
    assert count_parameters(d) == pytest.approx(2.8e6, rel=0.01)


def test_channel_gate_selects_per_channel_between_unwarped_and_warped():
    from posewarp.nn.soft_gated_warp import ChannelGatedWarpBlock

    torch.manual_seed(3)
    block = ChannelGatedWarpBlock(channels=8, shape_channels=4, num_grids=2)
    phi, shape = torch.randn(2, 8, 8, 4), torch.randn(2, 4, 8, 4)
    theta = torch.tensor([[1.0, 0.0, 0.5, 0.0, 1.0, 0.0]]).repeat(2, 1)
    two = torch.stack((grids.affine_grid(theta, (32, 16)), grids.identity_grid((32, 16), batch=2)), dim=1)
    out, degree = block(phi, shape, two)
    assert out.shape == phi.shape and degree.shape == (2, 1, 8, 4)
    assert ((degree > 0) & (degree < 1)).all()
    # the output is a per-channel convex combination of the candidates (the second grid is the identity)
    warped = grids.warp(phi, grids.resize_grid(two[:, 0], (8, 4)))
    lo, hi = torch.minimum(phi, warped) - 1e-5, torch.maximum(phi, warped) + 1e-5
    assert ((out >= lo) & (out <= hi)).all()
    (out.sum() + degree.sum()).backward()
    assert grads_ok(block)
    # ablations: no gate = always the warped features (degree 1); no warp = the unwarped features (degree 0)
    no_gate = ChannelGatedWarpBlock(channels=8, shape_channels=4, num_grids=1, gate=False)
    out_ng, deg_ng = no_gate(phi, shape, two[:, :1])
    assert torch.allclose(out_ng, warped) and torch.equal(deg_ng, torch.ones(2, 1, 8, 4))
    no_warp = ChannelGatedWarpBlock(channels=8, shape_channels=4, warp=False)
    out_nw, deg_nw = no_warp(phi, shape, None)
    assert torch.equal(out_nw, phi) and torch.equal(deg_nw, torch.zeros(2, 1, 8, 4))
    with pytest.raises(ValueError, match="2 grid"):
        block(phi, shape, two[:, :1])


@pytest.mark.parametrize("upsample_mode", ["resize", "transposed"])
def test_posewarp_generator_warps_every_level_and_ablates(upsample_mode):
    size = (32, 16)
    kw = dict(ngf=8, n_downsample=2, n_blocks=1, warp_levels="all", gate_mode="channel", num_grids=2,
              region_style=True, upsample_mode=upsample_mode)
    gen = WarpingGenerator(**kw)
    x = inputs(2, *size)
    grid = torch.stack([grids.random_grid(2, size, torch.Generator().manual_seed(i), 0.3) for i in (4, 5)], dim=1)
    out = gen(**x, grid=grid)
    assert out["image"].shape == (2, 3, *size) and out["image"].abs().max() <= 1
    assert [tuple(g.shape) for g in out["gates"]] == [(2, 1, 32, 16), (2, 1, 16, 8), (2, 1, 8, 4)]
    assert [f.shape[1] for f in out["warped"]] == [8, 16, 32]
    out["image"].mean().backward()
    assert grads_ok(gen)
    if upsample_mode == "resize":
        assert not any(isinstance(m, nn.ConvTranspose2d) for m in gen.modules())
    # the same network without the warp (identity everywhere) or without the gate (always warped)
    plain = WarpingGenerator(**{**kw, "warp": False})
    assert all(torch.equal(g, torch.zeros_like(g)) for g in plain(**x, grid=None)["gates"])
    ungated = WarpingGenerator(**{**kw, "gate": False})
    assert all(torch.equal(g, torch.ones_like(g)) for g in ungated(**x, grid=grid)["gates"])
    with pytest.raises(ValueError, match="several grids"):
        WarpingGenerator(ngf=8, num_grids=2)


def test_parser_with_prior_and_skips():
    g = ParsingGenerator(ngf=8, n_downsample=2, n_blocks=1, warped_channels=20, skips=True, upsample_mode="resize")
    x = inputs(2, 32, 16)
    prior = torch.rand(2, 20, 32, 16)
    logits = g(x["src_parsing"], x["tgt_pose"], prior)
    assert logits.shape == (2, 20, 32, 16)
    logits.square().mean().backward()
    assert grads_ok(g)
    with pytest.raises(ValueError, match="warped_parsing"):
        g(x["src_parsing"], x["tgt_pose"])


def test_refiner_starts_at_the_composite_and_learns():
    size = (32, 16)
    kw = dict(ngf=8, n_downsample=2, n_blocks=1, warp_levels="all", gate_mode="channel", region_style=True,
              upsample_mode="resize", composite=True)
    torch.manual_seed(0)
    plain = WarpingGenerator(**kw)
    torch.manual_seed(0)
    refined = WarpingGenerator(**kw, refine=True)
    missing = refined.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("refiner.") for k in missing)
    x = inputs(2, *size)
    grid = grids.random_grid(2, size, torch.Generator().manual_seed(3), 0.3)
    a, b = plain(**x, grid=grid)["image"], refined(**x, grid=grid)["image"]
    torch.testing.assert_close(b, a.clamp(-1, 1))  # a zero residual: exactly the composite
    b.mean().backward()
    assert refined.refiner[-1][-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="composite"):
        WarpingGenerator(ngf=8, refine=True)


def count_parameters(module: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
