"""OpenPose decoding: planted skeletons decode exactly; the vectorised code equals a literal loop oracle.

The oracle is benchmarks/reference_openpose.py: a transcription of reference/preprocessing.md A.8-A.11 (the
pytorch-openpose rules) in the port's own loop style, also the baseline of benchmarks/keypoints.py; ``decode``
must give identical arrays.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from posewarp.formats.keypoints import LIMBS
from posewarp.preprocess import openpose_decode as D

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import reference_openpose  # noqa: E402


def oracle(heatmap, paf, height):
    return reference_openpose.decode(heatmap, paf, height)


# A standing person, offsets from the neck (x, y); limbs shorter than half of the 128 px image height.
TEMPLATE = np.array([(0, -14), (0, 0), (-12, 0), (-16, 18), (-18, 34), (12, 0), (16, 18), (18, 34), (-8, 34),
                     (-9, 54), (-10, 74), (8, 34), (9, 54), (10, 74), (-4, -18), (4, -18),
                     (-8, -16), (8, -16)])  # fmt: skip


def plant(people, shape=(128, 160), sigma=2.0, band=2.0):
    """Heatmaps (H, W, 19) with a unit gaussian per keypoint and PAFs (H, W, 38) of unit vectors per limb."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    heat, paf = np.zeros((h, w, 19)), np.zeros((h, w, 38))
    for person in people:
        for p, (x, y) in person.items():
            heat[:, :, p] = np.maximum(heat[:, :, p], np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
        for k, (a, b) in enumerate(LIMBS):
            if a not in person or b not in person:
                continue
            pa, pb = np.array(person[a], float), np.array(person[b], float)
            d = pb - pa
            length = np.linalg.norm(d)
            t = np.clip(((xx - pa[0]) * d[0] + (yy - pa[1]) * d[1]) / length**2, 0, 1)
            near = np.hypot(xx - (pa[0] + t * d[0]), yy - (pa[1] + t * d[1])) <= band
            ch = D.PAF_CHANNELS[k]
            paf[near, ch], paf[near, ch + 1] = d[0] / length, d[1] / length
    return heat, paf


def person_at(neck, drop=()):
    return {p: (int(neck[0] + dx), int(neck[1] + dy)) for p, (dx, dy) in enumerate(TEMPLATE) if p not in drop}


def expected(person):
    out = np.zeros((18, 3), np.float32)
    for p, (x, y) in person.items():
        out[p] = (x, y, 1.0)
    return out


def test_one_person_decodes_to_the_planted_keypoints():
    person = person_at((80, 30))
    people = D.decode_people(*plant([person]))
    assert people.shape == (1, 18, 3)
    np.testing.assert_allclose(people[0], expected(person), atol=1e-6)


def test_two_people_best_first_and_a_missing_limb():
    full, partial = person_at((40, 30)), person_at((120, 30), drop=(7, 4))  # no wrists: fewer parts, lower score
    people = D.decode_people(*plant([partial, full], shape=(128, 170)))
    assert people.shape == (2, 18, 3)
    np.testing.assert_allclose(people[0], expected(full), atol=1e-6)
    np.testing.assert_allclose(people[1], expected(partial), atol=1e-6)
    assert people[1, 4, 2] == 0 and people[1, 7, 2] == 0


def test_person_touching_the_border():
    person = person_at((16, 53))  # ankles on the last row, right wrist on the first column
    person[4] = (0, 80)
    assert person[10][1] == 127 and person[13][1] == 127
    heat, paf = plant([person])
    people = D.decode_people(heat, paf)
    np.testing.assert_allclose(people[0], expected(person), atol=1e-6)


def test_too_few_parts_or_low_scores_are_pruned():
    head_only = {p: xy for p, xy in person_at((80, 40)).items() if p in (0, 14, 16)}  # 3 parts
    assert len(D.decode_people(*plant([head_only]))) == 0
    heat, paf = plant([person_at((80, 30))])
    assert len(D.decode_people(heat * 0.15, paf * 0.06)) == 0  # mean score per part below 0.4


def test_long_limbs_pay_the_distance_prior():
    # PAF strength 0.6; prior min(0.5 * H / length - 1, 0): with H = 8 only the short head limbs survive.
    person = person_at((80, 30))
    heat, paf = plant([person])
    assert len(D.decode_people(heat, paf * 0.6, image_height=128)) == 1
    people = D.decode_people(heat, paf * 0.6, image_height=8)
    assert people.shape == (1, 18, 3)
    head = [0, 14, 15, 16, 17]
    np.testing.assert_allclose(people[0, head], expected(person)[head], atol=1e-6)
    assert not people[0, 1:14, 2].any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_decoding_equals_the_loop_oracle_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    h, w = 48, 40
    heat = gaussian_filter(rng.random((h, w, 19)), sigma=(1.5, 1.5, 0)) * 4 - 1.7
    heat[:, :, 3] = np.round(heat[:, :, 3], 1)  # plateaus: several equal neighbours
    heat[5:9, 0:4, 5] = 0.9  # a flat block on the border
    paf = gaussian_filter(rng.standard_normal((h, w, 38)), sigma=(2, 2, 0)) * 3
    paf[:, :, 12:14] = 0.7  # one limb with a constant field, so many pairs pass
    cand, subset = D.decode(heat, paf, image_height=h)
    ref_cand, ref_subset = oracle(heat, paf, h)
    assert len(ref_cand) > 20 and len(ref_subset) >= 1  # the maps exercise every rule
    np.testing.assert_array_equal(cand, ref_cand)
    np.testing.assert_array_equal(subset, ref_subset)


def test_vectorised_decoding_equals_the_oracle_on_planted_people_with_noise():
    rng = np.random.default_rng(5)
    heat, paf = plant([person_at((40, 30)), person_at((110, 32), drop=(9, 10))], shape=(128, 150))
    heat += rng.normal(0, 0.05, heat.shape)
    paf += rng.normal(0, 0.2, paf.shape)
    cand, subset = D.decode(heat, paf, image_height=128)
    ref_cand, ref_subset = oracle(heat, paf, 128)
    np.testing.assert_array_equal(cand, ref_cand)
    np.testing.assert_array_equal(subset, ref_subset)
    assert len(subset) == 2


def test_empty_maps_give_no_people():
    people = D.decode_people(np.zeros((32, 24, 19)), np.zeros((32, 24, 38)))
    assert people.shape == (0, 18, 3)
