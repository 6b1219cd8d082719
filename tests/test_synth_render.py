"""The synthetic person renderer: keypoints agree with the drawn body, exact labels, views and left/right."""

import dataclasses

import numpy as np
import pytest

from posewarp.formats import parsing
from posewarp.synth import KEYPOINT_LABELS, Arm, Pose, render, sample_identity
from posewarp.synth.appearance import Material
from posewarp.synth.person import identity_rng

NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST = range(8)
R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, R_EYE, L_EYE, R_EAR, L_EAR = range(8, 18)
RIGHT_ARM, LEFT_ARM, RIGHT_LEG, LEFT_LEG, RIGHT_SHOE, LEFT_SHOE = 15, 14, 17, 16, 19, 18


def ident(i=0, **changes):
    """A sampled identity in pants and short sleeves, so the arm and leg ends are skin and shoes."""
    fields = dict(garment="shirt", lower="pants", sleeves="short", hat=None, sunglasses=False) | changes
    return dataclasses.replace(sample_identity(identity_rng(0, i)), **fields)


def frontal(yaw=0.0):
    return Pose(kind="stand", yaw=yaw, head_yaw=0.0, fill=0.9)


def at(labels, kp, i):
    return int(labels[int(round(float(kp[i, 1]))), int(round(float(kp[i, 0])))])


def test_render_shapes_and_types():
    rgb, labels, kp = render(3, 2, size=(128, 64), seed=5)
    assert rgb.shape == (128, 64, 3) and rgb.dtype == np.uint8
    assert labels.shape == (128, 64) and labels.dtype == np.uint8 and labels.max() < parsing.NUM_LABELS
    assert kp.shape == (18, 3) and kp.dtype == np.float32
    assert set(np.unique(kp[:, 2])) <= {0.0, 1.0}
    assert (kp[kp[:, 2] == 0] == 0).all()  # missing points are 0,0,0 as in OpenPose JSON


def test_same_arguments_same_pixels_and_other_seed_differs():
    a = render(4, 1, size=(128, 64), seed=7)
    b = render(4, 1, size=(128, 64), seed=7)
    c = render(4, 1, size=(128, 64), seed=8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("size", [(128, 64), (256, 176)])
def test_every_visible_keypoint_lies_on_its_part(size):
    shown = 0
    for i in range(12):
        rgb, labels, kp = render(i, i % 4, size=size, seed=1)
        for k in np.flatnonzero(kp[:, 2] > 0):
            assert at(labels, kp, k) in KEYPOINT_LABELS[k], (i, k)
            shown += 1
        if kp[NOSE, 2] > 0:
            assert at(labels, kp, NOSE) == 13  # nose on the face
        for w, arm in ((R_WRIST, RIGHT_ARM), (L_WRIST, LEFT_ARM)):
            if kp[w, 2] > 0:
                assert at(labels, kp, w) == arm  # wrists on bare arm (hand) skin of their own side
        for a, side in ((R_ANKLE, (RIGHT_LEG, RIGHT_SHOE)), (L_ANKLE, (LEFT_LEG, LEFT_SHOE))):
            if kp[a, 2] > 0:
                assert at(labels, kp, a) in side
    assert shown > 12 * 10  # most points are visible, so the check above is not vacuous


def test_frontal_standing_person_shows_all_18_points_with_right_side_on_image_left():
    rgb, labels, kp = render(ident(), frontal(), size=(256, 176))
    assert (kp[:, 2] > 0).all()
    for k in range(18):
        assert at(labels, kp, k) in KEYPOINT_LABELS[k]
    assert kp[R_SHOULDER, 0] < kp[NECK, 0] < kp[L_SHOULDER, 0]
    assert kp[R_HIP, 0] < kp[L_HIP, 0] and kp[R_EYE, 0] < kp[L_EYE, 0] and kp[R_EAR, 0] < kp[L_EAR, 0]
    # the right-arm / right-leg labels are on the image's left too
    xs = np.arange(labels.shape[1])[None, :].repeat(labels.shape[0], 0)
    assert xs[labels == RIGHT_ARM].mean() < xs[labels == LEFT_ARM].mean()
    assert xs[labels == RIGHT_LEG].mean() < xs[labels == LEFT_LEG].mean()
    assert xs[labels == RIGHT_SHOE].mean() < xs[labels == LEFT_SHOE].mean()


def test_back_view_swaps_sides_and_hides_the_face():
    rgb, labels, kp = render(ident(), frontal(yaw=180.0), size=(256, 176))
    assert kp[R_SHOULDER, 0] > kp[L_SHOULDER, 0]
    xs = np.arange(labels.shape[1])[None, :].repeat(labels.shape[0], 0)
    assert xs[labels == RIGHT_LEG].mean() > xs[labels == LEFT_LEG].mean()
    assert kp[[NOSE, R_EYE, L_EYE], 2].sum() == 0  # no face seen from behind
    assert kp[R_EAR, 2] > 0 and kp[L_EAR, 2] > 0


def test_side_view_hides_the_far_ear_and_eye():
    # yaw +90 faces the image right: the person's left side is away from the camera
    _, labels, kp = render(ident(), frontal(yaw=90.0), size=(256, 176))
    assert kp[R_EAR, 2] > 0 and kp[L_EAR, 2] == 0 and kp[L_EYE, 2] == 0 and kp[NOSE, 2] > 0
    assert kp[NOSE, 0] > kp[R_EAR, 0]  # the nose points the way the person faces
    _, labels, kp = render(ident(), frontal(yaw=-90.0), size=(256, 176))
    assert kp[L_EAR, 2] > 0 and kp[R_EAR, 2] == 0 and kp[NOSE, 0] < kp[L_EAR, 0]


def test_wrists_and_ankles_sit_at_the_ends_of_their_limbs():
    pose = Pose(kind="arms_out", yaw=0.0, arm_right=Arm(80, 0, 0), arm_left=Arm(80, 0, 0), fill=0.85)
    _, labels, kp = render(ident(), pose, size=(256, 176))
    ys, xs = np.indices(labels.shape)
    arms = ((R_SHOULDER, R_ELBOW, R_WRIST, RIGHT_ARM), (L_SHOULDER, L_ELBOW, L_WRIST, LEFT_ARM))
    for shoulder, elbow, wrist, arm in arms:
        d = np.hypot(xs - kp[shoulder, 0], ys - kp[shoulder, 1])[labels == arm]
        reach = np.hypot(*(kp[wrist, :2] - kp[shoulder, :2]))
        assert reach > np.hypot(*(kp[elbow, :2] - kp[shoulder, :2]))
        # only the hand (about a fifth of shoulder-to-wrist) reaches past the wrist, not another forearm
        assert 0.1 * reach < d.max() - reach < 0.3 * reach
    for ankle, leg, shoe in ((R_ANKLE, RIGHT_LEG, RIGHT_SHOE), (L_ANKLE, LEFT_LEG, LEFT_SHOE)):
        lowest = ys[(labels == leg) | (labels == shoe)].max()
        assert 0 <= lowest - kp[ankle, 1] < 0.05 * labels.shape[0]
        assert (ys[labels == leg] <= kp[ankle, 1] + 0.03 * labels.shape[0]).all()


def test_clothes_labels_follow_the_identity():
    _, labels, _ = render(ident(sleeves="long", lower="skirt"), frontal(), size=(256, 176))
    present = set(np.unique(labels).tolist())
    assert {5, 12, 13} <= present and 9 not in present and 6 not in present
    _, labels, _ = render(ident(garment="dress", hat="cap", sunglasses=True), frontal(), size=(256, 176))
    present = set(np.unique(labels).tolist())
    assert {1, 4, 6, 13} <= present and 5 not in present and 12 not in present


def test_patterns_move_with_the_part_not_the_frame():
    # vertical stripes on a person shifted sideways: in body coordinates the stripes travel with the
    # shirt; painted in image coordinates they would stay put
    person = ident(top=Material("vstripes", (200, 30, 30), (30, 30, 200), 0.05))
    a_rgb, a_lab, a_kp = render(person, Pose(kind="stand", fill=0.8, shift=(-1.0, 0.0)), size=(256, 176))
    b_rgb, b_lab, b_kp = render(person, Pose(kind="stand", fill=0.8, shift=(1.0, 0.0)), size=(256, 176))
    dx = int(round(float(b_kp[NECK, 0] - a_kp[NECK, 0])))
    assert dx > 5
    both = (np.roll(a_lab, dx, axis=1) == 5) & (b_lab == 5)
    assert both.sum() > 0.9 * (b_lab == 5).sum()
    moved = np.abs(np.roll(a_rgb, dx, axis=1).astype(int) - b_rgb.astype(int))[both].mean()
    still = np.abs(a_rgb.astype(int) - b_rgb.astype(int))[both].mean()
    assert moved < 0.3 * still


def test_preview_sheet_has_one_row_per_identity():
    from posewarp.synth.preview import preview

    sheet = preview([0, 1], 2, size=(64, 32), panels=("image", "parsing"))
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 4 * 34 + 2 and sheet.shape[0] == 14 + 2 * 66 + 2


def test_image_and_labels_come_from_the_same_shapes():
    from scipy import ndimage

    from posewarp.synth.appearance import Background
    from posewarp.synth.shapes import background_image

    street = Background("cluttered", (90, 120, 150), (60, 60, 60), 0.7, ((0.1, 0.1, 0.5, 0.4, (200, 50, 50)),))
    person = ident(background=street)
    rgb, labels, _ = render(person, frontal(), size=(256, 176))
    backdrop = np.clip(background_image(street, 256, 176) + 0.5, 0, 255).astype(np.uint8)
    far = ~ndimage.binary_dilation(labels > 0, iterations=2)
    np.testing.assert_array_equal(rgb[far], backdrop[far])  # untouched where no part comes near
    near = (labels > 0) & ~ndimage.binary_dilation(labels == 0, iterations=2)
    assert (np.abs(rgb[near].astype(int) - backdrop[near].astype(int)).sum(-1) > 30).mean() > 0.95
    # anti-aliased edges: some boundary pixels are blends, neither backdrop nor fully covered
    edge = ndimage.binary_dilation(labels > 0) & (labels == 0)
    assert (rgb[edge] != backdrop[edge]).any(-1).mean() > 0.3
