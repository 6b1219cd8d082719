"""Per-part keypoint grids: exact maps on planted rigid motions, fallbacks, part assignment, composition, resizing."""

import math

import numpy as np
import pytest
import torch

from posewarp import baselines
from posewarp.nn import grids
from posewarp.nn import part_grids as PG

SIZE = (128, 64)
NAMES = [p.name for p in PG.PARTS]


def body() -> torch.Tensor:
    """A frontal COCO-18 person (1, 18, 3) in pixels of a 128x64 image, every point visible."""
    xy = [(32, 14), (32, 26), (24, 27), (20, 42), (18, 56), (40, 27), (44, 42), (46, 56), (27, 62), (26, 84),
          (26, 106), (37, 62), (38, 84), (38, 106), (30, 12), (34, 12), (28, 13), (36, 13)]
    kp = torch.ones(1, 18, 3)
    kp[0, :, :2] = torch.tensor(xy, dtype=torch.float32)
    return kp


def similarity(kp: torch.Tensor, angle: float, scale: float, shift, centre) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[c, -s], [s, c]]) * scale
    out = kp.clone()
    centre = torch.tensor(centre, dtype=torch.float32)
    out[..., :2] = (kp[..., :2] - centre) @ rot.T + centre + torch.tensor(shift, dtype=torch.float32)
    return out


def pixel_map(theta_norm: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Apply a normalised-coordinate affine (2, 3) to pixel points (P, 2) and return pixels."""
    h, w = SIZE
    scale = torch.tensor([2.0 / w, 2.0 / h])
    norm = (points + 0.5) * scale - 1
    moved = norm @ theta_norm[:, :2].T + theta_norm[:, 2]
    return (moved + 1) / scale - 0.5


def test_identity_pose_gives_identity_maps():
    kp = body()
    theta, defined = PG.part_affines(kp, kp, SIZE)
    assert theta.shape == (1, PG.NUM_PARTS, 2, 3) and defined.all()
    eye = torch.eye(2, 3).expand_as(theta)
    assert torch.allclose(theta, eye, atol=1e-5)


def test_a_forearm_rotated_about_the_elbow_is_followed_exactly():
    """The planted rigid limb: only the right forearm turns 60 degrees about the elbow."""
    src = body()
    tgt = src.clone()
    elbow = src[0, 3, :2].tolist()
    tgt[0, 4] = similarity(src[:, 4:5], math.radians(60), 1.0, (0, 0), elbow)[0, 0]
    theta, defined = PG.part_affines(src, tgt, SIZE)
    k = NAMES.index("right_forearm")
    assert defined[0, k]
    # any target point on or beside the moved forearm maps back to where it was on the source forearm
    pts_src = torch.tensor([[19.0, 49.0], [21.0, 50.0], [17.0, 53.0], [18.0, 56.0]])
    pts_tgt = similarity(torch.cat((pts_src, torch.ones(4, 1)), 1), math.radians(60), 1.0, (0, 0), elbow)[:, :2]
    assert torch.allclose(pixel_map(theta[0, k], pts_tgt), pts_src, atol=1e-3)
    # the other parts did not move
    others = [i for i in range(PG.NUM_PARTS) if i != k]
    assert torch.allclose(theta[0, others], torch.eye(2, 3).expand(len(others), 2, 3), atol=1e-5)


@pytest.mark.parametrize("angle,scale,shift", [(0.3, 1.0, (3.0, -4.0)), (-0.2, 0.8, (-5.0, 6.0)), (0.0, 1.25, (0.0, 0.0))])
def test_a_whole_body_similarity_is_recovered_by_every_part(angle, scale, shift):
    src = body()
    tgt = similarity(src, angle, scale, shift, (32, 64))
    theta, defined = PG.part_affines(src, tgt, SIZE)
    assert defined.all()
    probe = torch.tensor([[10.0, 20.0], [40.0, 90.0], [55.0, 5.0]])
    back = similarity(torch.cat((probe, torch.ones(3, 1)), 1), angle, scale, shift, (32, 64))[:, :2]
    for k, name in enumerate(NAMES):
        # the target point `back` must sample the source at `probe`
        assert torch.allclose(pixel_map(theta[0, k], back), probe, atol=0.05 if name in ("torso", "head") else 1e-3), name


def test_missing_keypoints_fall_back_to_the_parent_part():
    src = body()
    tgt = similarity(src, 0.2, 1.0, (2.0, 1.0), (32, 64))
    src[0, 4, 2] = 0  # the source's right wrist is not seen
    tgt[0, 13, 2] = 0  # the target's left ankle is not seen
    theta, defined = PG.part_affines(src, tgt, SIZE)
    for child, parent in (("right_forearm", "right_upper_arm"), ("left_shin", "left_thigh")):
        assert not defined[0, NAMES.index(child)]
        assert torch.equal(theta[0, NAMES.index(child)], theta[0, NAMES.index(parent)])
    nothing = torch.zeros(1, 18, 3)
    theta, defined = PG.part_affines(nothing, nothing, SIZE)
    assert not defined.any() and torch.allclose(theta, torch.eye(2, 3).expand_as(theta))


def label_map() -> torch.Tensor:
    """Labels for ``body()``: face, shirt torso, bare arms (14 left, 15 right), pants legs, background."""
    labels = torch.zeros(1, *SIZE, dtype=torch.long)
    labels[0, 8:22, 28:37] = 13
    labels[0, 24:62, 24:41] = 5
    labels[0, 28:58, 16:23] = 15
    labels[0, 28:58, 42:49] = 14
    labels[0, 62:108, 24:41] = 9
    return labels


def test_part_masks_follow_labels_and_bones():
    masks = PG.part_masks(label_map(), body())
    assert masks.shape == (1, PG.NUM_PARTS, *SIZE)
    assert torch.equal(masks.sum(1), (label_map() > 0).float())  # every person pixel in exactly one part
    at = lambda y, x: NAMES[int(masks[0, :, y, x].argmax())]  # noqa: E731
    assert at(15, 32) == "head"
    assert at(40, 32) == "torso"
    assert at(35, 19) == "right_upper_arm" and at(52, 18) == "right_forearm"
    assert at(52, 46) == "left_forearm"
    assert at(100, 26) == "right_shin" and at(75, 38) == "left_thigh"


def test_part_grid_moves_each_part_and_keeps_the_background():
    src = body()
    tgt = similarity(src, 0.0, 1.0, (4.0, 0.0), (32, 64))  # the person steps 4 px right
    labels = label_map().roll(4, dims=2)
    grid = PG.target_grid(src, tgt, labels)
    identity = grids.identity_grid(SIZE)
    person = labels[0] > 0
    shift = 4 * 2.0 / SIZE[1]
    assert torch.allclose(grid[0][~person], identity[0][~person])
    assert torch.allclose(grid[0][person][:, 0], identity[0][person][:, 0] - shift, atol=1e-4)
    # resized to a feature resolution, a translation stays the same translation in normalised units
    half = grids.resize_grid(grid, (64, 32))
    inside = torch.nn.functional.interpolate(person[None, None].float(), size=(64, 32), mode="area")[0, 0] == 1
    ident_half = grids.identity_grid((64, 32))[0]
    assert torch.allclose(half[0][inside][:, 0], ident_half[inside][:, 0] - shift, atol=1e-4)


def test_layered_warp_puts_arms_over_the_torso():
    src = body()
    labels = label_map()
    masks = PG.part_masks(labels, src)
    tgt = src.clone()
    elbow = src[0, 3, :2].tolist()  # swing the right forearm in front of the chest
    tgt[0, 4] = similarity(src[:, 4:5], math.radians(-70), 1.0, (0, 0), elbow)[0, 0]
    theta, _ = PG.part_affines(src, tgt, SIZE)
    onehot = torch.nn.functional.one_hot(labels, 20).permute(0, 3, 1, 2).float()
    empty = torch.zeros_like(onehot)
    empty[:, 0] = 1
    out, cover = PG.layered_warp(onehot, masks, theta, empty)
    moved = out.argmax(1)[0]
    wrist = tgt[0, 4, :2].round().long()
    assert moved[wrist[1], wrist[0]] == 15  # the forearm covers the shirt where it now lies
    assert cover.dtype == torch.bool and not cover[0, 0, 120, 2]  # nothing lands in a far corner
    assert torch.equal(PG.warped_parsing(labels, src, tgt), out)


def test_part_warp_baseline_is_exact_for_a_translated_person():
    """A person moved 4 px over a flat background: the per-part keypoint warp reproduces the target person
    exactly, the background up to 8-bit rounding, and fills the place the person left (inpainting)."""
    rng = np.random.default_rng(0)
    labels = label_map()
    colours = torch.tensor(rng.uniform(-1, 1, (20, 3)), dtype=torch.float32)
    colours[0] = 0.5
    image = colours[labels].permute(0, 3, 1, 2)
    target = colours[labels.roll(4, dims=2)].permute(0, 3, 1, 2)
    src = body()
    tgt = similarity(src, 0.0, 1.0, (4.0, 0.0), (32, 64))
    out = baselines.part_warp(image, labels, src, tgt)
    err = (out - target).abs().amax(1)[0]
    person = labels.roll(4, dims=2)[0] > 0
    vacated = torch.nn.functional.max_pool2d((labels > 0).float()[None], 3, 1, 1)[0, 0] > 0
    assert err[person].max() < 1e-5
    assert err[~person & ~vacated].max() < 2 / 255 + 1e-6
    assert err[~person & vacated].max() < 0.05


def _maps_px(src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """The per-part maps of ``part_affines`` back in pixel units ``(N, K, 2, 3)``."""
    theta, _ = PG.part_affines(src, tgt, SIZE)
    h, w = SIZE
    n = torch.tensor([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1], [0, 0, 1]])
    full = torch.cat((theta, torch.tensor([0.0, 0, 1]).expand(*theta.shape[:2], 1, 3)), -2)
    return (torch.linalg.inv(n) @ full @ n)[..., :2, :]


def test_front_to_back_and_side_views_give_bounded_maps_without_mirror_images():
    """A turn from the front to the back swaps the image sides of left and right: the raw least-squares torso map
    is a mirror image. A side view packs the head's points together: the raw map scales them up many times.
    Bounded maps keep both upright and within ``STRETCH`` of the body scale (here 1)."""
    from posewarp.synth import Pose, render, world_identity

    ident = world_identity(0, 3)
    front, back = (torch.tensor(render(ident, Pose(yaw=y), size=SIZE)[2])[None] for y in (0.0, 180.0))
    idx = list(PG.PARTS[0].keypoints)
    both = (PG._visible(front) & PG._visible(back))[:, idx].float()
    raw = PG._fit(back[:, idx, :2], front[:, idx, :2], both, torch.ones(1), torch.full((1,), 900.0))
    assert torch.linalg.det(raw[:, :, :2]).item() < 0  # the case the bound is for
    torso = _maps_px(front, back)[0, 0, :, :2]
    assert torch.linalg.det(torso).item() > 0
    assert torch.linalg.svdvals(torso).max().item() <= PG.STRETCH["torso"][1] + 1e-5

    side = body()
    side[0, [14, 16], :2] = torch.tensor([[31.0, 12.0], [31.5, 12.4]])  # eye and ear almost on top of each other
    side[0, [15, 17], 2] = 0
    side[0, 0, :2] = torch.tensor([31.2, 12.2])
    head = _maps_px(body(), side)[0, 1, :, :2]
    s = torch.linalg.svdvals(head)
    lo, hi = PG.STRETCH["head"]
    assert lo - 1e-5 <= s.min().item() and s.max().item() <= hi + 1e-5
    angle = math.atan2(head[1, 0] - head[0, 1], head[0, 0] + head[1, 1])
    assert abs(angle) <= PG.HEAD_TURN + 1e-5
