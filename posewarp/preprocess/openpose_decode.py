"""OpenPose COCO-18 decoding: heatmap peaks, PAF limb scoring, greedy matching, grouping into people.

Implements reference/preprocessing.md A.8-A.11 (Cao et al., CVPR 2017, Sec. 2.3-2.4, as decoded by the
PyTorch port Hzzone/pytorch-openpose ``Body.__call__``) and gives the same answers, vectorised:

* Peaks (A.8): ``scipy.ndimage.gaussian_filter(sigma=3)`` (mode reflect, truncate 4) on each keypoint
  map; a pixel is a peak iff its smoothed value is ``>=`` its four neighbours (zero outside the image,
  so plateaus can give several peaks) and ``> 0.1``. Peaks are listed row-major per part; the score is
  the UNsmoothed map value; ids run across parts. Speed-up that keeps results bit-identical: a smoothed
  value is a convex combination of raw values within 12 px, so it can exceed 0.1 only near raw values
  above 0.1; each map is smoothed on that region (plus the filter's support) only.
* Limb scores (A.10): 10 samples on ``linspace(A, B, 10)`` (numpy's formula, last = B), indices by
  round-half-to-even (Python 3 ``round``), ``mean = sequential sum / 10`` (as Python's ``sum``),
  distance prior ``min(0.5 * H / norm - 1, 0)`` with ``norm = max(norm, 0.001)``; a connection needs
  more than 8 of 10 samples above 0.05 and a positive prior-weighted score; candidates sorted by that
  score (stable, descending) and matched greedily until ``min(nA, nB)`` connections.
* Grouping (A.11): the port's subset rules (found 1 / found 2 with merge / new person only for limbs
  0..16), then people with fewer than 4 parts or mean score below 0.4 are deleted.
  Where the port would crash (a connection touching three or more partial people, an IndexError in
  its loop) this code leaves the connection unused.

People are returned best first (highest total score, the port's ``subset[:, -2]``, stable for ties)
as ``(P, 18, 3)`` rows of x, y, confidence (the heatmap value at the peak, floored at 1e-3 so that a
found keypoint never reads as missing).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from posewarp.formats.keypoints import LIMBS, NUM_KEYPOINTS

PEAK_THRESHOLD = 0.1  # thre1
PAF_THRESHOLD = 0.05  # thre2
NUM_SAMPLES = 10  # mid_num
SIGMA = 3.0
_RADIUS = int(4.0 * SIGMA + 0.5)  # gaussian_filter's kernel radius with truncate=4.0

# PAF channel of the x component of each limb (A.9: mapIdx[k] - 19); y is the next channel.
PAF_CHANNELS = (12, 20, 14, 16, 22, 24, 0, 2, 4, 6, 8, 10, 28, 30, 34, 32, 36, 18, 26)


def find_peaks(heatmaps: np.ndarray, threshold: float = PEAK_THRESHOLD) -> list[np.ndarray]:
    """Peaks of each keypoint map in ``(H, W, >=18)`` -> per part an ``(n, 3)`` array of x, y, score.

    float32 maps (one scale) give the same answer as the same values in float64: each map is converted to
    float64 before smoothing, as the port's float64 accumulator does.
    """
    heatmaps = np.asarray(heatmaps)
    h, w = heatmaps.shape[:2]
    peaks = []
    for part in range(NUM_KEYPOINTS):
        raw = np.ascontiguousarray(heatmaps[:, :, part], dtype=np.float64)
        # smoothed <= max of raw within the kernel radius, so only pixels near raw > threshold can pass.
        near = raw > threshold * (1.0 - 1e-9)
        ys, xs = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
        if len(ys) == 0:
            peaks.append(np.zeros((0, 3)))
            continue
        # B: where a peak may be; C = B grown by the kernel radius + 1 so that B and its 4-neighbours are exact.
        by0, by1 = max(ys[0] - _RADIUS, 0), min(ys[-1] + _RADIUS + 1, h)
        bx0, bx1 = max(xs[0] - _RADIUS, 0), min(xs[-1] + _RADIUS + 1, w)
        cy0, cy1 = max(by0 - _RADIUS - 1, 0), min(by1 + _RADIUS + 1, h)
        cx0, cx1 = max(bx0 - _RADIUS - 1, 0), min(bx1 + _RADIUS + 1, w)
        smooth = gaussian_filter(raw[cy0:cy1, cx0:cx1], sigma=SIGMA)
        # B with one pixel around it, zero outside the image (the port's zero-filled shifted copies).
        ring = np.zeros((by1 - by0 + 2, bx1 - bx0 + 2), dtype=smooth.dtype)
        ey0, ey1, ex0, ex1 = max(by0 - 1, 0), min(by1 + 1, h), max(bx0 - 1, 0), min(bx1 + 1, w)
        ring[ey0 - (by0 - 1) : ey1 - (by0 - 1), ex0 - (bx0 - 1) : ex1 - (bx0 - 1)] = smooth[
            ey0 - cy0 : ey1 - cy0, ex0 - cx0 : ex1 - cx0
        ]
        centre = ring[1:-1, 1:-1]
        is_peak = centre > threshold
        is_peak &= centre >= ring[:-2, 1:-1]
        is_peak &= centre >= ring[2:, 1:-1]
        is_peak &= centre >= ring[1:-1, :-2]
        is_peak &= centre >= ring[1:-1, 2:]
        py, px = np.nonzero(is_peak)
        py, px = py + by0, px + bx0
        peaks.append(np.stack([px, py, raw[py, px]], axis=1).astype(np.float64))
    return peaks


def _linspace(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linspace(a, b, 10)`` for each (a, b) pair with numpy's exact formula; shape ``(..., 10)``."""
    step = (b - a) / (NUM_SAMPLES - 1)
    out = np.arange(NUM_SAMPLES, dtype=np.float64) * step[..., None] + a[..., None]
    out[..., -1] = b
    return out


def match_limb(candidates: np.ndarray, ids_a: np.ndarray, ids_b: np.ndarray) -> np.ndarray:
    """Greedy one-to-one matching of rows (i, j, score, ...) sorted best first: ``(c, 5)`` id A, id B, score, i, j."""
    used_a, used_b, out = set(), set(), []
    limit = min(len(ids_a), len(ids_b))
    for i, j, score in candidates[:, :3]:
        i, j = int(i), int(j)
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.append((ids_a[i], ids_b[j], score, i, j))
            if len(out) >= limit:
                break
    return np.array(out, dtype=np.float64).reshape(-1, 5)


def score_pairs(
    peaks: list[np.ndarray], pafs: np.ndarray, image_height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (limb, i, j) candidate pair of every limb at once -> limb, i, j, prior score, accepted."""
    limb, ii, jj = [], [], []
    for k, (a, b) in enumerate(LIMBS):
        na, nb = len(peaks[a]), len(peaks[b])
        if na and nb:  # i-major, the port's loop order
            limb.append(np.full(na * nb, k))
            ii.append(np.repeat(np.arange(na), nb))
            jj.append(np.tile(np.arange(nb), na))
    if not limb:
        empty = np.zeros(0, np.intp)
        return empty, empty, empty, np.zeros(0), np.zeros(0, bool)
    limb, ii, jj = np.concatenate(limb), np.concatenate(ii), np.concatenate(jj)
    starts = np.array([a for a, _ in LIMBS])[limb]
    ends = np.array([b for _, b in LIMBS])[limb]
    flat = np.concatenate(peaks, axis=0)
    offsets = np.cumsum([0] + [len(p) for p in peaks])
    pa, pb = flat[offsets[starts] + ii], flat[offsets[ends] + jj]
    vx, vy = pb[:, 0] - pa[:, 0], pb[:, 1] - pa[:, 1]
    norm = np.maximum(0.001, np.sqrt(vx * vx + vy * vy))
    ux, uy = vx / norm, vy / norm
    xs = np.rint(_linspace(pa[:, 0], pb[:, 0])).astype(np.intp)  # rint = round half to even, like round()
    ys = np.rint(_linspace(pa[:, 1], pb[:, 1])).astype(np.intp)
    ch = np.array(PAF_CHANNELS)[limb][:, None]
    along = pafs[ys, xs, ch] * ux[:, None] + pafs[ys, xs, ch + 1] * uy[:, None]  # (pairs, 10)
    total = np.zeros(len(limb))
    for s in range(NUM_SAMPLES):  # sequential sum, as Python's sum()
        total = total + along[:, s]
    prior = total / NUM_SAMPLES + np.minimum(0.5 * image_height / norm - 1, 0)
    ok = (np.count_nonzero(along > PAF_THRESHOLD, axis=-1) > 0.8 * NUM_SAMPLES) & (prior > 0)
    return limb, ii, jj, prior, ok


def connect(peaks: list[np.ndarray], pafs: np.ndarray, image_height: int) -> list[np.ndarray | None]:
    """Per limb the accepted connections (``(c, 5)``: id A, id B, score, i, j), ``None`` where a part has no peak."""
    offsets = np.cumsum([0] + [len(p) for p in peaks])
    limb, ii, jj, prior, ok = score_pairs(peaks, pafs, image_height)
    limb, ii, jj, prior = limb[ok], ii[ok], jj[ok], prior[ok]
    order = np.lexsort((-prior, limb))  # per limb by score descending; ties keep the i-major order
    limb, ii, jj, prior = limb[order], ii[order], jj[order], prior[order]
    bounds = np.searchsorted(limb, np.arange(len(LIMBS) + 1))
    connections: list[np.ndarray | None] = []
    for k, (a, b) in enumerate(LIMBS):
        if len(peaks[a]) == 0 or len(peaks[b]) == 0:
            connections.append(None)
            continue
        sl = slice(bounds[k], bounds[k + 1])
        rows = np.stack([ii[sl], jj[sl], prior[sl]], axis=1).astype(np.float64)
        ids_a = offsets[a] + np.arange(len(peaks[a]), dtype=np.float64)
        ids_b = offsets[b] + np.arange(len(peaks[b]), dtype=np.float64)
        connections.append(match_limb(rows, ids_a, ids_b))
    return connections


def group(connections: list[np.ndarray | None], candidate: np.ndarray) -> np.ndarray:
    """Assemble connections into people: ``subset`` rows of 18 candidate ids (-1 missing), score, count."""
    subset = -1 * np.ones((0, NUM_KEYPOINTS + 2))
    for k, (index_a, index_b) in enumerate(LIMBS):
        conns = connections[k]
        if conns is None:
            continue
        for part_a, part_b, score, _, _ in conns:
            found_rows = [
                r for r in range(len(subset)) if subset[r][index_a] == part_a or subset[r][index_b] == part_b
            ]
            found = len(found_rows)
            if found == 1:
                row = subset[found_rows[0]]
                if row[index_b] != part_b:
                    row[index_b] = part_b
                    row[-1] += 1
                    row[-2] += candidate[int(part_b), 2] + score
            elif found == 2:
                j1, j2 = found_rows
                membership = ((subset[j1] >= 0).astype(int) + (subset[j2] >= 0).astype(int))[:-2]
                if not np.any(membership == 2):  # disjoint: merge the two partial people
                    subset[j1][:-2] += subset[j2][:-2] + 1
                    subset[j1][-2:] += subset[j2][-2:]
                    subset[j1][-2] += score
                    subset = np.delete(subset, j2, 0)
                else:
                    subset[j1][index_b] = part_b
                    subset[j1][-1] += 1
                    subset[j1][-2] += candidate[int(part_b), 2] + score
            elif found == 0 and k < 17:
                row = -1 * np.ones(NUM_KEYPOINTS + 2)
                row[index_a], row[index_b] = part_a, part_b
                row[-1] = 2
                row[-2] = 0 + candidate[int(part_a), 2] + candidate[int(part_b), 2] + score
                subset = np.vstack([subset, row])
    keep = [r for r in range(len(subset)) if not (subset[r][-1] < 4 or subset[r][-2] / subset[r][-1] < 0.4)]
    return subset[keep]


def decode(heatmaps: np.ndarray, pafs: np.ndarray, image_height: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The port's ``(candidate, subset)`` from full-size maps ``(H, W, >=18)`` and ``(H, W, 38)``.

    ``candidate`` rows: x, y, score, id; ``subset`` rows: 18 ids (-1 missing), total score, part count,
    in the port's order (not sorted).
    """
    if heatmaps.ndim != 3 or heatmaps.shape[2] < NUM_KEYPOINTS or pafs.shape != (*heatmaps.shape[:2], 38):
        raise ValueError(f"expected (H, W, 19) heatmaps and (H, W, 38) PAFs, got {heatmaps.shape} {pafs.shape}")
    height = heatmaps.shape[0] if image_height is None else image_height
    peaks = find_peaks(heatmaps)
    candidate = np.concatenate(peaks, axis=0) if peaks else np.zeros((0, 3))
    candidate = np.concatenate([candidate, np.arange(len(candidate), dtype=np.float64)[:, None]], axis=1)
    subset = group(connect(peaks, pafs, height), candidate)
    return candidate, subset


def to_people(candidate: np.ndarray, subset: np.ndarray) -> np.ndarray:
    """``(P, 18, 3)`` float32 x, y, confidence from the port's arrays, best (highest total score) first."""
    order = np.argsort(-subset[:, -2], kind="stable") if len(subset) else np.zeros(0, int)
    people = np.zeros((len(order), NUM_KEYPOINTS, 3), np.float32)
    for p, row in enumerate(subset[order]):
        ids = row[:NUM_KEYPOINTS].astype(int)
        present = ids >= 0
        people[p, present, :2] = candidate[ids[present], :2]
        people[p, present, 2] = np.maximum(candidate[ids[present], 2], 1e-3)
    return people


def decode_people(heatmaps: np.ndarray, pafs: np.ndarray, image_height: int | None = None) -> np.ndarray:
    """Full-size maps -> ``(P, 18, 3)`` people, best first."""
    return to_people(*decode(heatmaps, pafs, image_height))
