"""Per-part transformation grids from source and target keypoints (the idea of Deformable GANs' deformable skips).

One global affine+TPS grid cannot follow articulated limbs (paper section 3.2 warps with a single grid).
Here every body part gets its own affine map from the target pose to the source pose, fitted to the
keypoints the part is built on:

- limbs (upper arms, forearms, thighs, shins): the bone's end points fix rotation, position and the
  stretch along the bone; across the bone the body's overall scale applies (limbs keep their width
  when they are foreshortened);
- torso and head: a least-squares affine map of their keypoints, pulled toward the best similarity so
  that few or nearly collinear points (a side view) stay well posed, then bounded (``_bounded``): no
  mirror image, no stretch beyond ``STRETCH`` of the body scale, and a head turned by at most ``HEAD_TURN``.

A part whose keypoints are missing on either side takes its parent's map (forearm -> upper arm ->
torso, shin -> thigh -> torso, head -> torso), the torso falls back to the body scale about the common
points, and with nothing in common the map is the identity.

``part_masks`` assigns every person pixel of a label map to one part (the parts its label can belong
to, nearest bone first); ``part_grid`` composes the per-part maps into one dense sampling grid that
moves each target part's pixels to where that part is in the source (background: identity), and
``layered_warp`` moves each source part onto the target pose without target labels (back to front),
which is what Stage I and the non-learned baselines use. Coordinates follow ``grids``: normalised
[-1, 1], ``align_corners=False``; keypoints are pixels with pixel (row i, column j) centred at (x=j, y=i).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from posewarp.nn import grids


@dataclass(frozen=True)
class Part:
    name: str
    keypoints: tuple[int, ...]  # a bone (two points) for limbs, a point set for torso and head
    labels: frozenset[int]  # parsing labels whose pixels may belong to this part
    parent: int | None  # index into PARTS of the part whose map stands in when this one is undefined
    radius: float = 0.0  # how far (in body-scale units) the part reaches beyond its bone


_SLEEVED = {5, 7}  # upper-clothes, coat: torso and sleeves
_LOWER = {9}  # pants: hips and legs (dresses and skirts move with the torso)
PARTS: tuple[Part, ...] = (
    Part("torso", (1, 2, 5, 8, 11), frozenset({5, 6, 7, 9, 10, 11, 12}), None),
    Part("head", (0, 1, 14, 15, 16, 17), frozenset({1, 2, 4, 11, 13}), 0),
    Part("right_upper_arm", (2, 3), frozenset(_SLEEVED | {15}), 0),
    Part("right_forearm", (3, 4), frozenset(_SLEEVED | {3, 15}), 2),
    Part("left_upper_arm", (5, 6), frozenset(_SLEEVED | {14}), 0),
    Part("left_forearm", (6, 7), frozenset(_SLEEVED | {3, 14}), 4),
    Part("right_thigh", (8, 9), frozenset(_LOWER | {17}), 0),
    Part("right_shin", (9, 10), frozenset(_LOWER | {8, 17, 19}), 6),
    Part("left_thigh", (11, 12), frozenset(_LOWER | {16}), 0),
    Part("left_shin", (12, 13), frozenset(_LOWER | {8, 16, 18}), 8),
)
NUM_PARTS = len(PARTS)
# Back to front for label-free composition: torso, legs, head, arms.
LAYER_ORDER = (0, 6, 7, 8, 9, 1, 2, 3, 4, 5)
HEAD_RADIUS = 0.25  # head points spread about a quarter of the torso length
TORSO_RADIUS = 0.3
_BONE_CLAMP = (0.2, 5.0)  # limits of the along-bone stretch relative to the body scale
STRETCH = {"torso": (0.6, 1.6), "head": (0.7, 1.4)}  # a fitted map's singular values, relative to the body scale
HEAD_TURN = 0.6  # radians: the head map's largest rotation (a head is upright in both photos)


def _visible(kp: torch.Tensor) -> torch.Tensor:
    return kp[..., 2] > 0


def _torso_length(kp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Neck to mid-hip distance ``(N,)`` (pixels) and whether it is defined."""
    vis = _visible(kp)
    w8, w11 = vis[:, 8].float(), vis[:, 11].float()
    mid = (kp[:, 8, :2] * w8[:, None] + kp[:, 11, :2] * w11[:, None]) / (w8 + w11).clamp_min(1)[:, None]
    length = (kp[:, 1, :2] - mid).norm(dim=-1)
    ok = vis[:, 1] & (vis[:, 8] | vis[:, 11]) & (length > 1e-3)
    return length, ok


def body_scale(src_kp: torch.Tensor, tgt_kp: torch.Tensor) -> torch.Tensor:
    """``(N,)`` how much larger the source body is than the target (torso length ratio; 1 when unknown)."""
    ls, oks = _torso_length(src_kp)
    lt, okt = _torso_length(tgt_kp)
    ok = oks & okt
    return torch.where(ok, ls / lt.clamp_min(1e-3), torch.ones_like(ls))


def _fit(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, scale: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """Affine ``(N, 2, 3)`` with ``A x + t ~ y`` for weighted points ``x, y (N, P, 2)``, ``w (N, P)``.

    A is pulled toward the best similarity (itself pulled toward ``scale * I``) with strength ``reg``
    (N,) in squared pixels, so one point gives a translation with the body scale, two a similarity, and
    three or more spread points their least-squares affine map.
    """
    sw = w.sum(1).clamp_min(1e-6)
    xm = (w[..., None] * x).sum(1) / sw[:, None]
    ym = (w[..., None] * y).sum(1) / sw[:, None]
    xc, yc = x - xm[:, None], y - ym[:, None]
    s = (w * (xc * xc).sum(-1)).sum(1)
    p = (w * (xc * yc).sum(-1)).sum(1)
    q = (w * (xc[..., 0] * yc[..., 1] - xc[..., 1] * yc[..., 0])).sum(1)
    mu = 1e-6 * reg  # only decides when the points coincide (one point: the body scale, no rotation)
    a = (p + 2 * mu * scale) / (s + 2 * mu)
    b = q / (s + 2 * mu)
    sim = torch.stack((torch.stack((a, -b), -1), torch.stack((b, a), -1)), -2)  # (N, 2, 2)
    eye = torch.eye(2, dtype=x.dtype, device=x.device)
    cov_yx = torch.einsum("np,npi,npj->nij", w, yc, xc)
    cov_xx = torch.einsum("np,npi,npj->nij", w, xc, xc)
    lam = 0.1 * reg
    lin = (cov_yx + lam[:, None, None] * sim) @ torch.linalg.inv(cov_xx + lam[:, None, None] * eye)
    t = ym - (lin @ xm[..., None])[..., 0]
    return torch.cat((lin, t[..., None]), dim=-1)


def _bounded(theta: torch.Tensor, x: torch.Tensor, w: torch.Tensor, scale: torch.Tensor, stretch: tuple[float, float],
             turn: float | None = None) -> torch.Tensor:
    """``theta (N, 2, 3)`` made safe for few, nearly collinear or mismatched points (a turn from the front to the
    side or the back): a mirror image becomes the nearest rotation, singular values are clamped to ``stretch``
    times ``scale``, the rotation to ``turn`` radians; the map still takes the points' weighted centre where
    the fit took it."""
    lin, t = theta[..., :2], theta[..., 2]
    u, sv, vh = torch.linalg.svd(lin)
    flip = torch.linalg.det(lin) < 0
    lo, hi = (scale * stretch[0])[:, None], (scale * stretch[1])[:, None]
    sv = torch.where(flip[:, None], (sv[:, :1] * sv[:, 1:]).sqrt().expand_as(sv), sv).clamp(lo, hi)
    d = torch.ones_like(sv)
    d[:, 1] = torch.linalg.det(u @ vh).sign()
    rot = u @ torch.diag_embed(d) @ vh  # the rotation nearest to lin (no reflection)
    out = torch.where(flip[:, None, None], rot * sv[:, :1, None], u @ torch.diag_embed(sv) @ vh)
    if turn is not None:
        angle = torch.atan2(out[:, 1, 0] - out[:, 0, 1], out[:, 0, 0] + out[:, 1, 1])
        excess = angle - angle.clamp(-turn, turn)
        c, s = torch.cos(-excess), torch.sin(-excess)
        back = torch.stack((torch.stack((c, -s), -1), torch.stack((s, c), -1)), -2)
        out = back @ out
    sw = w.sum(1).clamp_min(1e-6)
    xm = (w[..., None] * x).sum(1) / sw[:, None]
    ym = (lin @ xm[..., None])[..., 0] + t  # where the fit takes the centre
    return torch.cat((out, (ym - (out @ xm[..., None])[..., 0])[..., None]), dim=-1)


def _bone(sp: torch.Tensor, sq: torch.Tensor, tp: torch.Tensor, tq: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Affine ``(N, 2, 3)`` taking the target bone ``tp -> tq`` onto the source bone ``sp -> sq``."""
    dt, ds = tq - tp, sq - sp
    lt, ls = dt.norm(dim=-1).clamp_min(1e-3), ds.norm(dim=-1).clamp_min(1e-3)
    ut, us = dt / lt[:, None], ds / ls[:, None]
    vt = torch.stack((-ut[:, 1], ut[:, 0]), -1)
    vs = torch.stack((-us[:, 1], us[:, 0]), -1)
    along = (ls / lt).clamp(scale * _BONE_CLAMP[0], scale * _BONE_CLAMP[1])
    src_axes = torch.stack((us * along[:, None], vs * scale[:, None]), -1)  # columns: images of the target axes
    tgt_axes = torch.stack((ut, vt), -2)  # rows: target axes
    lin = src_axes @ tgt_axes
    t = sp - (lin @ tp[..., None])[..., 0]
    return torch.cat((lin, t[..., None]), dim=-1)


def _to_normalised(theta_px: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pixel-space affine maps ``(..., 2, 3)`` as maps of ``grids``' normalised coordinates."""
    h, w = size
    n = torch.tensor([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1], [0, 0, 1]], dtype=theta_px.dtype,
                     device=theta_px.device)
    full = torch.cat((theta_px, torch.zeros_like(theta_px[..., :1, :])), dim=-2)
    full[..., 2, 2] = 1
    return (n @ full @ torch.linalg.inv(n))[..., :2, :]


def part_affines(src_kp: torch.Tensor, tgt_kp: torch.Tensor, size) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-part maps from target to source: ``theta (N, K, 2, 3)`` in normalised coordinates at ``size``
    (H, W), and ``defined (N, K)``: whether the part's own keypoints fixed its map (else a parent's)."""
    if src_kp.shape != tgt_kp.shape or src_kp.dim() != 3 or src_kp.shape[1:] != (18, 3):
        raise ValueError(f"keypoints must both be (N, 18, 3), got {tuple(src_kp.shape)} and {tuple(tgt_kp.shape)}")
    src_kp, tgt_kp = src_kp.float(), tgt_kp.float()
    n = src_kp.shape[0]
    scale = body_scale(src_kp, tgt_kp)
    both = _visible(src_kp) & _visible(tgt_kp)
    lt, okt = _torso_length(tgt_kp)
    unit = torch.where(okt, lt, torch.full_like(lt, float(size[0]) / 3))  # a body length in target pixels
    s_xy, t_xy = src_kp[..., :2], tgt_kp[..., :2]
    eye = torch.eye(2, 3, dtype=src_kp.dtype, device=src_kp.device).expand(n, 2, 3)
    thetas: list[torch.Tensor] = []
    defined: list[torch.Tensor] = []
    for part in PARTS:
        idx = list(part.keypoints)
        w = both[:, idx].float()
        if len(idx) == 2:
            theta = _bone(s_xy[:, idx[0]], s_xy[:, idx[1]], t_xy[:, idx[0]], t_xy[:, idx[1]], scale)
            ok = w.sum(1) == 2
        else:
            theta = _fit(t_xy[:, idx], s_xy[:, idx], w, scale, unit**2)
            theta = _bounded(theta, t_xy[:, idx], w, scale, STRETCH[part.name], HEAD_TURN if part.name == "head" else None)
            ok = w.sum(1) >= (1 if part.parent is None else 2)
        if part.parent is None:
            fallback = _bounded(_fit(t_xy, s_xy, both.float(), scale, unit**2), t_xy, both.float(), scale, STRETCH["torso"])
        else:
            fallback = thetas[part.parent]
        if part.parent is None:
            fallback = torch.where((both.sum(1) > 0)[:, None, None], fallback, eye)
        thetas.append(torch.where(ok[:, None, None], theta, fallback))
        defined.append(ok)
    return _to_normalised(torch.stack(thetas, 1), tuple(size)), torch.stack(defined, 1)


def _capsules(kp: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, ...]:
    """Every part's skeleton as a capsule: segment ends ``a, b (N, K, 2)``, radius ``r (N, K)``, ``seen (N, K)``.

    Limbs are their bone; the torso is the spine (neck to mid-hip) thickened by a share of the body
    length; the head is a disk about the mean of its points."""
    vis = _visible(kp)
    length, ok = _torso_length(kp)
    unit = torch.where(ok, length, torch.full_like(length, size[0] / 3.0))
    a, b, r, seen = [], [], [], []
    for part in PARTS:
        idx = list(part.keypoints)
        if len(idx) == 2:
            a.append(kp[:, idx[0], :2])
            b.append(kp[:, idx[1], :2])
            r.append(torch.zeros_like(unit))
            seen.append(vis[:, idx[0]] & vis[:, idx[1]])
            continue
        wv = vis[:, idx].float()
        centre = (kp[:, idx, :2] * wv[..., None]).sum(1) / wv.sum(1).clamp_min(1)[:, None]
        seen.append(wv.sum(1) > 0)
        if part.name == "torso":
            hv = vis[:, [8, 11]].float()
            mid = (kp[:, [8, 11], :2] * hv[..., None]).sum(1) / hv.sum(1).clamp_min(1)[:, None]
            a.append(torch.where(vis[:, 1, None], kp[:, 1, :2], centre))
            b.append(torch.where((hv.sum(1) > 0)[:, None], mid, centre))
            r.append(TORSO_RADIUS * unit)
        else:
            a.append(centre)
            b.append(centre)
            r.append(HEAD_RADIUS * unit)
    return torch.stack(a, 1), torch.stack(b, 1), torch.stack(r, 1), torch.stack(seen, 1)


def _part_distances(kp: torch.Tensor, batch: torch.Tensor, px: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(P, K)`` distance of pixels ``px (P, 2)`` (x, y) of images ``batch (P,)`` to every part's capsule
    (inf where the part is not seen)."""
    a, b, r, seen = (t[batch] for t in _capsules(kp, size))
    ab, ap = b - a, px[:, None] - a
    t = ((ap * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0, 1)
    d = ((ap - t[..., None] * ab).norm(dim=-1) - r).clamp_min(0)
    return d.masked_fill(~seen, float("inf"))


def _label_table(device) -> torch.Tensor:
    """``(20, K)`` which parts each parsing label may belong to."""
    table = torch.zeros(20, NUM_PARTS, dtype=torch.bool, device=device)
    for k, part in enumerate(PARTS):
        for label in part.labels:
            table[label, k] = True
    return table


def part_masks(labels: torch.Tensor, kp: torch.Tensor) -> torch.Tensor:
    """One-hot ``(N, K, H, W)`` float: each person pixel (label > 0) in its nearest part among those its
    label allows; a pixel whose allowed parts are all unseen goes to the nearest seen part; background 0."""
    if labels.dim() != 3 or kp.dim() != 3 or labels.shape[0] != kp.shape[0]:
        raise ValueError(f"labels (N, H, W) and keypoints (N, 18, 3) expected, got {tuple(labels.shape)}, {tuple(kp.shape)}")
    n, h, w = labels.shape
    out = torch.zeros(n, h, w, NUM_PARTS, dtype=torch.float32, device=labels.device)
    batch, ys, xs = torch.nonzero(labels > 0, as_tuple=True)  # only person pixels need a part
    if len(batch):
        px = torch.stack((xs, ys), -1).float()
        dist = _part_distances(kp.float(), batch, px, (h, w))  # (P, K)
        d_allowed = dist.masked_fill(~_label_table(labels.device)[labels[batch, ys, xs].long()], float("inf"))
        nearest, choice = d_allowed.min(-1)
        choice = torch.where(torch.isfinite(nearest), choice, dist.argmin(-1))
        seen = torch.isfinite(dist).any(-1)
        out[batch[seen], ys[seen], xs[seen], choice[seen]] = 1.0
    return out.permute(0, 3, 1, 2)


def _per_part_grids(theta: torch.Tensor, size) -> torch.Tensor:
    """``(N, K, H, W, 2)``: the sampling grid of every part's map."""
    base = grids.identity_grid(size, batch=1, device=theta.device, dtype=theta.dtype)[0]  # (H, W, 2)
    return torch.einsum("nkij,hwj->nkhwi", theta[..., :2], base) + theta[:, :, None, None, :, 2]


def part_grid(theta: torch.Tensor, tgt_masks: torch.Tensor) -> torch.Tensor:
    """Sampling grid ``(N, H, W, 2)``: each target part's pixels sample the source through their part's map,
    background pixels sample the source where they are (identity)."""
    n, k, h, w = tgt_masks.shape
    if theta.shape != (n, k, 2, 3):
        raise ValueError(f"theta {tuple(theta.shape)} does not fit masks {tuple(tgt_masks.shape)}")
    masks = tgt_masks.to(theta.dtype)
    base = grids.identity_grid((h, w), batch=1, device=theta.device, dtype=theta.dtype)[0]
    per_part = (masks[..., None] * _per_part_grids(theta, (h, w))).sum(1)
    return per_part + (1 - masks.sum(1))[..., None] * base


def layered_grid(src_masks: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Label-free composition: every source part moved by its map, back to front (``LAYER_ORDER``).

    Returns the grid ``(N, H, W, 2)`` that samples, at each target pixel, the frontmost part landing
    there, and that pixel's coverage ``(N, 1, H, W)`` (False: no part lands; the grid is then the identity).
    """
    n, k, h, w = src_masks.shape
    per_part = _per_part_grids(theta, (h, w))  # (N, K, H, W, 2)
    landed = grids.warp(src_masks.reshape(n * k, 1, h, w).to(theta.dtype), per_part.reshape(n * k, h, w, 2))
    landed = landed.reshape(n, k, h, w) > 0.5
    rank = torch.zeros(k, dtype=torch.long, device=theta.device)
    rank[list(LAYER_ORDER)] = torch.arange(1, k + 1, device=theta.device)
    front = (landed.long() * rank[None, :, None, None]).argmax(1)  # the part with the highest layer rank
    cover = landed.any(1, keepdim=True)
    chosen = torch.gather(per_part, 1, front[:, None, :, :, None].expand(n, 1, h, w, 2))[:, 0]
    base = grids.identity_grid((h, w), batch=1, device=theta.device, dtype=theta.dtype)
    return torch.where(cover[:, 0, ..., None], chosen, base), cover


def layered_warp(x: torch.Tensor, src_masks: torch.Tensor, theta: torch.Tensor, background: torch.Tensor,
                 *, mode: str = "bilinear") -> tuple[torch.Tensor, torch.Tensor]:
    """``x (N, C, H, W)``'s parts moved onto the target pose over ``background`` (``layered_grid``);
    returns the result and the coverage."""
    grid, cover = layered_grid(src_masks, theta)
    return torch.where(cover, grids.warp(x, grid, mode=mode, padding_mode="border"), background), cover


def warped_parsing(src_labels: torch.Tensor, src_kp: torch.Tensor, tgt_kp: torch.Tensor) -> torch.Tensor:
    """The source parsing moved part by part onto the target pose (``layered_warp``): ``(N, 20, H, W)``
    soft one-hot, background where no part lands. Needs no target labels (Stage I's first guess)."""
    from posewarp.formats.parsing import NUM_LABELS, one_hot

    size = tuple(src_labels.shape[1:])
    theta, _ = part_affines(src_kp, tgt_kp, size)
    onehot = one_hot(src_labels, NUM_LABELS).float()
    empty = torch.zeros_like(onehot)
    empty[:, 0] = 1
    out, _ = layered_warp(onehot, part_masks(src_labels, src_kp), theta, empty)
    return out


def target_grid(src_kp: torch.Tensor, tgt_kp: torch.Tensor, tgt_labels: torch.Tensor) -> torch.Tensor:
    """The per-part grid ``(N, H, W, 2)`` of a pair at the target parsing's resolution (``part_grid``)."""
    theta, _ = part_affines(src_kp, tgt_kp, tuple(tgt_labels.shape[1:]))
    return part_grid(theta, part_masks(tgt_labels, tgt_kp))
