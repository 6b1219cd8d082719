"""The baseline of benchmarks/keypoints.py: Hzzone/pytorch-openpose ``Body.__call__`` as its documented rules read.

Written from /work/shared/reference/preprocessing.md A.5 and A.8-A.11 (not copied): BGR image, one scale (0.5),
cubic resize to 184 px height, padding with 128 to a multiple of 8, ``/256 - 0.5``, the network under
``torch.no_grad`` in contiguous NCHW, both maps resized x8 then to the image size (cubic), the doubling
accumulation, full-map ``gaussian_filter(sigma=3)`` peak finding, a Python loop over every candidate pair with
10 samples, greedy matching and the subset rules, in the port's own loop style. One deviation: where the port
raises IndexError (a connection touching three partial people) this one skips the connection, as posewarp does.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from posewarp.preprocess.openpose_net import BodyPoseNet

# 1-based part pairs and PAF channel pairs (+19), as the port lists them (A.9).
LIMB_SEQ = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13],
            [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [3, 17], [6, 18]]  # fmt: skip
MAP_IDX = [[31, 32], [39, 40], [33, 34], [35, 36], [41, 42], [43, 44], [19, 20], [21, 22], [23, 24], [25, 26],
           [27, 28], [29, 30], [47, 48], [49, 50], [53, 54], [51, 52], [55, 56], [37, 38], [45, 46]]  # fmt: skip


def load_body(flat: dict[str, torch.Tensor]) -> BodyPoseNet:
    """The port's ``util.transfer``: module key -> the flat file key without its first component."""
    net = BodyPoseNet()
    net.load_state_dict({k: flat[k.split(".", 1)[1]] for k in net.state_dict()})
    return net.eval()


def pad_right_down(img: np.ndarray, stride: int = 8, value: int = 128) -> tuple[np.ndarray, list[int]]:
    h, w = img.shape[:2]
    pad = [0, 0, 0 if h % stride == 0 else stride - h % stride, 0 if w % stride == 0 else stride - w % stride]
    out = np.concatenate((img, np.tile(img[-1:, :, :] * 0 + value, (pad[2], 1, 1))), axis=0)
    out = np.concatenate((out, np.tile(out[:, -1:, :] * 0 + value, (1, pad[3], 1))), axis=1)
    return out, pad


def body_maps(net: torch.nn.Module, ori: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (H, W, 19) and PAFs (H, W, 38) in float64 at the image size."""
    multiplier = [s * 368 / ori.shape[0] for s in [0.5]]
    heat_avg = np.zeros((ori.shape[0], ori.shape[1], 19))
    paf_avg = np.zeros((ori.shape[0], ori.shape[1], 38))
    for m in multiplier:
        img = cv2.resize(ori, (0, 0), fx=m, fy=m, interpolation=cv2.INTER_CUBIC)
        padded, pad = pad_right_down(img)
        im = np.ascontiguousarray(np.transpose(np.float32(padded[:, :, :, np.newaxis]), (3, 2, 0, 1)) / 256 - 0.5)
        with torch.no_grad():
            l1, l2 = net(torch.from_numpy(im).float())
        maps = []
        for out in (l2, l1):
            x = np.transpose(np.squeeze(out.numpy()), (1, 2, 0))
            x = cv2.resize(x, (0, 0), fx=8, fy=8, interpolation=cv2.INTER_CUBIC)
            x = x[: padded.shape[0] - pad[2], : padded.shape[1] - pad[3], :]
            maps.append(cv2.resize(x, (ori.shape[1], ori.shape[0]), interpolation=cv2.INTER_CUBIC))
        heat_avg += heat_avg + maps[0] / len(multiplier)
        paf_avg += maps[1] / len(multiplier)
    return heat_avg, paf_avg


def peaks(heat_avg: np.ndarray) -> list[list[tuple]]:
    all_peaks, counter = [], 0
    for part in range(18):
        map_ori = heat_avg[:, :, part]
        one = gaussian_filter(map_ori, sigma=3)
        left, right, up, down = (np.zeros(one.shape) for _ in range(4))
        left[1:, :], right[:-1, :], up[:, 1:], down[:, :-1] = one[:-1, :], one[1:, :], one[:, :-1], one[:, 1:]
        binary = np.logical_and.reduce((one >= left, one >= right, one >= up, one >= down, one > 0.1))
        found = list(zip(np.nonzero(binary)[1], np.nonzero(binary)[0]))
        all_peaks.append([(x, y, map_ori[y, x], counter + i) for i, (x, y) in enumerate(found)])
        counter += len(found)
    return all_peaks


def connections(all_peaks, paf_avg: np.ndarray, height: int) -> tuple[list, list[int]]:
    connection_all, special_k = [], []
    for k in range(len(MAP_IDX)):
        score_mid = paf_avg[:, :, [x - 19 for x in MAP_IDX[k]]]
        cand_a, cand_b = all_peaks[LIMB_SEQ[k][0] - 1], all_peaks[LIMB_SEQ[k][1] - 1]
        if not cand_a or not cand_b:
            special_k.append(k)
            connection_all.append([])
            continue
        cands = []
        for i in range(len(cand_a)):
            for j in range(len(cand_b)):
                vec = np.subtract(cand_b[j][:2], cand_a[i][:2])
                norm = max(0.001, math.sqrt(vec[0] * vec[0] + vec[1] * vec[1]))
                vec = np.divide(vec, norm)
                pts = list(zip(np.linspace(cand_a[i][0], cand_b[j][0], num=10),
                               np.linspace(cand_a[i][1], cand_b[j][1], num=10)))  # fmt: skip
                vec_x = np.array([score_mid[int(round(p[1])), int(round(p[0])), 0] for p in pts])
                vec_y = np.array([score_mid[int(round(p[1])), int(round(p[0])), 1] for p in pts])
                mid = np.multiply(vec_x, vec[0]) + np.multiply(vec_y, vec[1])
                score = sum(mid) / len(mid) + min(0.5 * height / norm - 1, 0)
                if len(np.nonzero(mid > 0.05)[0]) > 0.8 * len(mid) and score > 0:
                    cands.append([i, j, score, score + cand_a[i][2] + cand_b[j][2]])
        cands = sorted(cands, key=lambda c: c[2], reverse=True)
        connection = np.zeros((0, 5))
        for i, j, s, _ in cands:
            if i not in connection[:, 3] and j not in connection[:, 4]:
                connection = np.vstack([connection, [cand_a[i][3], cand_b[j][3], s, i, j]])
                if len(connection) >= min(len(cand_a), len(cand_b)):
                    break
        connection_all.append(connection)
    return connection_all, special_k


def group(connection_all, special_k, candidate: np.ndarray) -> np.ndarray:
    subset = -1 * np.ones((0, 20))
    for k in range(len(MAP_IDX)):
        if k in special_k:
            continue
        part_as, part_bs = connection_all[k][:, 0], connection_all[k][:, 1]
        index_a, index_b = np.array(LIMB_SEQ[k]) - 1
        for i in range(len(connection_all[k])):
            found, subset_idx = 0, [-1, -1]
            for j in range(len(subset)):
                if subset[j][index_a] == part_as[i] or subset[j][index_b] == part_bs[i]:
                    if found < 2:
                        subset_idx[found] = j
                    found += 1
            if found == 1:
                j = subset_idx[0]
                if subset[j][index_b] != part_bs[i]:
                    subset[j][index_b] = part_bs[i]
                    subset[j][-1] += 1
                    subset[j][-2] += candidate[part_bs[i].astype(int), 2] + connection_all[k][i][2]
            elif found == 2:
                j1, j2 = subset_idx
                membership = ((subset[j1] >= 0).astype(int) + (subset[j2] >= 0).astype(int))[:-2]
                if len(np.nonzero(membership == 2)[0]) == 0:
                    subset[j1][:-2] += subset[j2][:-2] + 1
                    subset[j1][-2:] += subset[j2][-2:]
                    subset[j1][-2] += connection_all[k][i][2]
                    subset = np.delete(subset, j2, 0)
                else:
                    subset[j1][index_b] = part_bs[i]
                    subset[j1][-1] += 1
                    subset[j1][-2] += candidate[part_bs[i].astype(int), 2] + connection_all[k][i][2]
            elif not found and k < 17:
                row = -1 * np.ones(20)
                row[index_a], row[index_b] = part_as[i], part_bs[i]
                row[-1] = 2
                row[-2] = sum(candidate[connection_all[k][i, :2].astype(int), 2]) + connection_all[k][i][2]
                subset = np.vstack([subset, row])
    delete = [i for i in range(len(subset)) if subset[i][-1] < 4 or subset[i][-2] / subset[i][-1] < 0.4]
    return np.delete(subset, delete, axis=0)


def decode(heat_avg: np.ndarray, paf_avg: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """``(candidate, subset)`` from maps at the image size: peaks, limb connections, people."""
    all_peaks = peaks(heat_avg)
    connection_all, special_k = connections(all_peaks, paf_avg, height)
    candidate = np.array([p for part in all_peaks for p in part], np.float64).reshape(-1, 4)
    return candidate, group(connection_all, special_k, candidate)


def body(net: torch.nn.Module, ori: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(candidate, subset)`` of a BGR uint8 image, as ``Body.__call__`` returns them."""
    return decode(*body_maps(net, ori), ori.shape[0])
