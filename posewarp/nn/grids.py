"""Differentiable sampling grids: affine and thin-plate-spline (TPS) transformations.

Implements the transformation operations of the geometric matcher and the warping block
(paper section 3.2, "we combine affine and TPS ... we denote those transformations as the
transformation grid"; reference/paper.md 1.1), following the CNNGeometric conventions
(Rocco et al.): a transform maps each *output* (target) location to the *source* location that
is sampled, in normalised coordinates [-1, 1] with ``align_corners=False`` (pixel centres at
``(2i + 1) / W - 1``). Sizes are free: the same parameters give a grid at any resolution.

Parameters:
- affine: ``(N, 6)`` or ``(N, 2, 3)``, ``x' = a x + b y + c``, ``y' = d x + e y + f``.
- TPS: ``(N, 2 * K)`` control points (all K x coordinates, then all K y coordinates) on a
  ``grid_size x grid_size`` lattice; the identity is the regular lattice (``tps_identity``).
  ``offsets=True`` reads the parameters as displacements from that lattice instead.

Identity parameters give *exactly* the identity grid (``identity_grid``), so a label map warped
with ``mode="nearest"`` comes back unchanged bit for bit. Grids are float32 at least, also under
autocast (bf16 coordinates would be off by about a pixel at 256 px).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

ALIGN_CORNERS = False  # one convention for every grid_sample / interpolate on grids in posewarp


def _full(theta: torch.Tensor) -> torch.Tensor:
    """Grids are computed in float32 at least: bf16/fp16 coordinates are off by pixels at 256 px."""
    return theta.float() if theta.is_floating_point() and theta.element_size() < 4 else theta


def _size(size) -> tuple[int, int]:
    h, w = (int(s) for s in size)
    if h < 1 or w < 1:
        raise ValueError(f"grid size must be positive, got {size!r}")
    return h, w


def identity_grid(size, *, batch: int = 1, device=None, dtype=torch.float32) -> torch.Tensor:
    """The grid that samples every pixel centre at itself: ``(batch, H, W, 2)`` (x, y)."""
    h, w = _size(size)
    ys = (torch.arange(h, device=device, dtype=torch.float64) * 2 + 1) / h - 1
    xs = (torch.arange(w, device=device, dtype=torch.float64) * 2 + 1) / w - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).to(dtype)
    return grid.unsqueeze(0).expand(batch, h, w, 2)


def affine_identity(n: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(n, 6)`` identity affine parameters."""
    return torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]], device=device, dtype=dtype).expand(n, -1).contiguous()


def apply_affine(theta: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Map points ``(N, ..., 2)`` through affine parameters ``(N, 6)`` or ``(N, 2, 3)``."""
    theta = _full(theta).reshape(theta.shape[0], 6)
    points = _full(points)
    if points.shape[0] != theta.shape[0] or points.shape[-1] != 2:
        raise ValueError(f"points {tuple(points.shape)} do not match theta {tuple(theta.shape)}")
    shape = (theta.shape[0],) + (1,) * (points.dim() - 2)
    a, b, c, d, e, f = (theta[:, i].reshape(shape) for i in range(6))
    x, y = points[..., 0], points[..., 1]
    return torch.stack((a * x + b * y + c, d * x + e * y + f), dim=-1)


def affine_grid(theta: torch.Tensor, size) -> torch.Tensor:
    """Sampling grid ``(N, H, W, 2)`` of the affine transform ``theta`` at resolution ``size``."""
    if theta.dim() not in (2, 3) or theta[0].numel() != 6:
        raise ValueError(f"affine theta must be (N, 6) or (N, 2, 3), got {tuple(theta.shape)}")
    theta = _full(theta)
    base = identity_grid(size, batch=theta.shape[0], device=theta.device, dtype=theta.dtype)
    return apply_affine(theta, base)


def tps_control_points(grid_size: int = 3, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """The regular control lattice ``(K, 2)`` over [-1, 1], x varying fastest.

    The identities here are made from plain lists, expand and contiguous: on the meta device (the snapshot check
    builds networks there) stack, cat and repeat import torch._dynamo and sympy, 1.7 s of every
    ``posewarp transfer``'s start-up."""
    axis = torch.linspace(-1.0, 1.0, grid_size, dtype=torch.float64, device="cpu").tolist()
    points = [(x, y) for y in axis for x in axis]
    return torch.tensor(points, dtype=torch.float64, device=device).to(dtype)


def tps_identity(n: int, grid_size: int = 3, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(n, 2K)`` TPS parameters (x coordinates then y coordinates) of the identity."""
    p = tps_control_points(grid_size, device=device, dtype=dtype)
    return p.t().contiguous().view(1, -1).expand(n, -1).contiguous()


def _tps_u(r2: torch.Tensor) -> torch.Tensor:
    # U(r) = r^2 log r^2, with U(0) = 0
    return torch.where(r2 > 0, r2 * torch.log(r2.clamp_min(1e-300)), torch.zeros_like(r2))


def _tps_design(points: torch.Tensor, grid_size: int) -> torch.Tensor:
    """``(P, K)`` float64 matrix B such that the TPS displacement of ``points`` (P, 2) is ``B @ offsets``.

    The TPS interpolant is linear in the target control points; with the source lattice fixed,
    f(p) - p depends only on the offsets D = Q - P, so zero offsets give exactly zero displacement.
    """
    p = tps_control_points(grid_size, dtype=torch.float64)  # (K, 2)
    k = p.shape[0]
    kmat = _tps_u(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1))
    pmat = torch.cat((torch.ones(k, 1, dtype=torch.float64), p), dim=1)  # (K, 3)
    lmat = torch.zeros(k + 3, k + 3, dtype=torch.float64)
    lmat[:k, :k] = kmat
    lmat[:k, k:] = pmat
    lmat[k:, :k] = pmat.T
    linv = torch.linalg.inv(lmat)[:, :k]  # (K+3, K): coefficients from the K target values
    pts = points.to(torch.float64).reshape(-1, 2)
    u = _tps_u(((pts[:, None, :] - p[None, :, :]) ** 2).sum(-1))  # (P, K)
    design = torch.cat((u, torch.ones(pts.shape[0], 1, dtype=torch.float64), pts), dim=1)
    return design @ linv


@functools.lru_cache(maxsize=32)
def _tps_basis(h: int, w: int, grid_size: int) -> torch.Tensor:
    return _tps_design(identity_grid((h, w), dtype=torch.float64)[0], grid_size)


def _tps_offsets(theta: torch.Tensor, grid_size: int, offsets: bool) -> torch.Tensor:
    k = grid_size * grid_size
    if theta.dim() != 2 or theta.shape[1] != 2 * k:
        raise ValueError(f"TPS theta must be (N, {2 * k}) for a {grid_size}x{grid_size} grid, got {tuple(theta.shape)}")
    theta = _full(theta)
    if not offsets:
        theta = theta - tps_identity(theta.shape[0], grid_size, device=theta.device, dtype=theta.dtype)
    return theta.reshape(theta.shape[0], 2, k).transpose(1, 2)  # (N, K, 2)


def tps_points(theta: torch.Tensor, points: torch.Tensor, grid_size: int = 3, *, offsets: bool = False) -> torch.Tensor:
    """Map points ``(P, 2)`` (shared by the batch) through the TPS ``theta`` -> ``(N, P, 2)``."""
    disp = _tps_offsets(theta, grid_size, offsets)
    basis = _tps_design(points.detach().cpu(), grid_size).to(device=disp.device, dtype=disp.dtype)
    with torch.autocast(disp.device.type, enabled=False):
        moved = torch.matmul(basis, disp)
    return points.to(device=disp.device, dtype=disp.dtype).unsqueeze(0) + moved


def tps_grid(theta: torch.Tensor, size, grid_size: int = 3, *, offsets: bool = False) -> torch.Tensor:
    """Sampling grid ``(N, H, W, 2)`` of the TPS with control points (or ``offsets``) ``theta``."""
    h, w = _size(size)
    disp = _tps_offsets(theta, grid_size, offsets)
    n = disp.shape[0]
    basis = _tps_basis(h, w, grid_size).to(device=disp.device, dtype=disp.dtype)
    base = identity_grid((h, w), batch=n, device=disp.device, dtype=disp.dtype)
    with torch.autocast(disp.device.type, enabled=False):
        moved = torch.matmul(basis, disp)
    return base + moved.reshape(n, h, w, 2)


def affine_tps_grid(theta_affine: torch.Tensor, theta_tps: torch.Tensor, size, grid_size: int = 3) -> torch.Tensor:
    """The composed matcher grid: TPS estimated on the affine-warped source, then the affine.

    Sampling the source with it equals warping the source by the affine grid and then warping
    that result by the TPS grid (exactly, without a second interpolation).
    """
    return apply_affine(theta_affine, tps_grid(theta_tps, size, grid_size))


def warp(x: torch.Tensor, grid: torch.Tensor, *, mode: str = "bilinear", padding_mode: str = "zeros") -> torch.Tensor:
    """Sample ``x`` (N, C, H, W) at ``grid`` (N, h, w, 2) -> (N, C, h, w); integer label maps allowed with nearest."""
    if grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != x.shape[0]:
        raise ValueError(f"grid {tuple(grid.shape)} does not fit input {tuple(x.shape)}")
    if not x.is_floating_point():
        if mode != "nearest":
            raise ValueError("integer tensors can only be warped with mode='nearest'")
        return F.grid_sample(x.to(grid.dtype), grid, mode="nearest", padding_mode=padding_mode,
                             align_corners=ALIGN_CORNERS).round().to(x.dtype)
    if x.element_size() < grid.element_size():  # bf16/fp16 features: sample at the grid's precision
        out = F.grid_sample(x.to(grid.dtype), grid, mode=mode, padding_mode=padding_mode, align_corners=ALIGN_CORNERS)
        return out.to(x.dtype)
    return F.grid_sample(x, grid.to(x.dtype), mode=mode, padding_mode=padding_mode, align_corners=ALIGN_CORNERS)


def resize_grid(grid: torch.Tensor, size) -> torch.Tensor:
    """Resample a dense grid to another resolution (normalised coordinates are resolution-free)."""
    h, w = _size(size)
    if tuple(grid.shape[1:3]) == (h, w):
        return grid
    g = grid.permute(0, 3, 1, 2)
    mode = "area" if h <= grid.shape[1] and w <= grid.shape[2] else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": ALIGN_CORNERS}
    return F.interpolate(g, size=(h, w), mode=mode, **kwargs).permute(0, 2, 3, 1)


def _uniform(n: int, k: int, generator, device, dtype) -> torch.Tensor:
    return torch.rand(n, k, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype) * 2 - 1


def random_affine(n: int, generator: torch.Generator | None = None, strength: float = 0.5, *,
                  device=None, dtype=torch.float32) -> torch.Tensor:
    """Random ``(n, 6)`` affine parameters for self-supervised matcher training.

    ``strength`` in [0, 1] scales a rotation up to 30 degrees, anisotropic scale up to +-25 %,
    shear up to 0.25 and translation up to 0.25 (of the half-width); 0 gives the identity.
    """
    u = _uniform(n, 6, generator, device, dtype) * strength
    angle = u[:, 0] * (math.pi / 6)
    sx, sy = 1 + 0.25 * u[:, 1], 1 + 0.25 * u[:, 2]
    shear = 0.25 * u[:, 3]
    tx, ty = 0.25 * u[:, 4], 0.25 * u[:, 5]
    cos, sin = torch.cos(angle), torch.sin(angle)
    # rotation @ shear @ scale
    a, b = cos * sx, (cos * shear - sin) * sy
    d, e = sin * sx, (sin * shear + cos) * sy
    return torch.stack((a, b, tx, d, e, ty), dim=1)


def random_tps(n: int, generator: torch.Generator | None = None, strength: float = 0.5, *, grid_size: int = 3,
               device=None, dtype=torch.float32) -> torch.Tensor:
    """Random ``(n, 2K)`` TPS control points: the lattice moved by up to ``0.4 * strength`` each."""
    k = grid_size * grid_size
    return tps_identity(n, grid_size, device=device, dtype=dtype) + 0.4 * strength * _uniform(n, 2 * k, generator, device, dtype)


def random_grid(n: int, size, generator: torch.Generator | None = None, strength: float = 0.5, *, tps: bool = True,
                grid_size: int = 3, device=None, dtype=torch.float32) -> torch.Tensor:
    """A random ground-truth grid for the matcher's self-supervised phase: affine, then TPS if ``tps``.

    ``target = warp(source, grid)`` makes a synthetic pair whose true matcher grid is ``grid``.
    """
    theta_a = random_affine(n, generator, strength, device=device, dtype=dtype)
    if not tps:
        return affine_grid(theta_a, size)
    theta_t = random_tps(n, generator, strength, grid_size=grid_size, device=device, dtype=dtype)
    return affine_tps_grid(theta_a, theta_t, size, grid_size)
