"""The per-batch accumulation of ``posewarp eval``: SSIM and mask-SSIM per pair (numpy), Inception
outputs of the generated images (class probabilities for IS, pool features for FID), LPIPS distances,
and keypoints of the generated images for PCKh; ``results`` turns them into the JSON metrics.

Nothing is dropped in silence: a pair whose target pose mask is empty (no keypoints) is left out of
mask-SSIM and mask-IS and counted (``skipped_empty_mask``), as PCKh counts its skipped pairs; a
protocol with ``whole_batches`` (GFLA) scores FID and LPIPS on the first ``N // 64 * 64`` pairs and
says how many it dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from posewarp.errors import PosewarpError
from posewarp.formats.images import to_tensor
from posewarp.formats.keypoints import check_values, select_person
from posewarp.metrics import fid as FID
from posewarp.metrics import protocols
from posewarp.metrics.features import inception_outputs
from posewarp.metrics.inception_score import inception_score, softmax
from posewarp.metrics.pairing import Pair
from posewarp.metrics.pckh import pckh_counts
from posewarp.metrics.pose_mask import patn_pose_mask
from posewarp.metrics.ssim import pad_width, ssim

MASKED = ("mask-ssim", "mask-is")  # PATN's Market-1501 scores on images times the target's pose mask
PATN_SIZE = (256, 176)
FID_MIN_IMAGES = 2048  # below the feature dimension the covariance is singular and FID is biased


def _pads(image: np.ndarray, proto: protocols.Protocol) -> bool:
    return proto.pad_256x176 and image.shape[:2] == PATN_SIZE


def _pad(image: np.ndarray, proto: protocols.Protocol) -> np.ndarray:
    return pad_width(image, proto.pad_bound) if _pads(image, proto) else image


class Scorer:
    """Accumulates the requested metrics over batches of (generated, ground truth) RGB uint8 images.

    ``is_model`` / ``fid_model``: Inception networks called as ``model(x, bias_free_logits=...) ->
    (pool, logits)``; ``gt_features``: FID real statistics from the ground truths seen here."""

    def __init__(self, proto: protocols.Protocol, wanted: tuple[str, ...], *, device, is_model=None, fid_model=None,
                 lpips=None, estimator=None, targets: np.ndarray | None = None, gt_features: bool = False):  # fmt: skip
        self.proto, self.wanted, self.device = proto, wanted, device
        self.is_model, self.fid_model = is_model, fid_model
        self.lpips, self.estimator, self.targets = lpips, estimator, targets
        self.gt_features = gt_features
        self.ssim: dict[str, list[float]] = {key: [] for key, _ in proto.ssim}
        self.mask_ssim, self.lpips_values, self.probs, self.mask_probs = [], [], [], []
        self.pred_feats, self.gt_feats, self.gt_paths, self.pred_kps, self.gt_kps = [], [], [], [], []
        self.seen_gt: set[Path] = set()
        self.mask_index: list[int] = []  # pair index of each mask-SSIM value (empty masks have none)
        self.count = self.padded = self.empty_masks = 0

    def _probs(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        p = self.proto
        pool, logits = inception_outputs(self.is_model, images, p.is_input, self.device, p.is_bias_free_logits)
        return pool, softmax(logits)

    def _features(self, images: list[np.ndarray]) -> np.ndarray:
        return inception_outputs(self.fid_model, images, self.proto.fid_input, self.device)[0]

    def _check(self, pairs: Sequence[Pair], preds: list[np.ndarray], gts: list[np.ndarray]) -> None:
        for pair, pred, gt in zip(pairs, preds, gts):
            if pred.shape != gt.shape:
                raise PosewarpError(f"generated image is {pred.shape[1]}x{pred.shape[0]} but its ground truth "
                                    f"{pair.gt.name} is {gt.shape[1]}x{gt.shape[0]}", pair.pred)  # fmt: skip
        if self.targets is not None:
            for i, (pair, gt) in enumerate(zip(pairs, gts)):
                check_values(self.targets[self.count + i], None, gt.shape[:2], f"keypoints of {pair.gt.name}: ")

    def add(self, pairs: Sequence[Pair], preds: list[np.ndarray], gts: list[np.ndarray]) -> None:
        proto, wanted = self.proto, self.wanted
        self._check(pairs, preds, gts)
        first, self.count = self.count, self.count + len(pairs)
        self.padded += sum(_pads(p, proto) for p in preds)
        if "ssim" in wanted:
            for pair, pred, gt in zip(pairs, preds, gts):
                for key, variant in proto.ssim:
                    try:
                        self.ssim[key].append(ssim(_pad(pred, proto), _pad(gt, proto), variant))
                    except ValueError as exc:  # e.g. an image smaller than GFLA's 51x51 window
                        raise PosewarpError(f"{variant.name} SSIM: {exc}", pair.pred) from None
        if any(name in wanted for name in MASKED):
            self._masked(preds, gts, first)
        # one network pass serves IS and FID when their inputs agree (same network and input, no padding)
        shared = (proto.is_input == proto.fid_input and self.is_model is self.fid_model
                  and not any(_pads(p, proto) for p in preds))  # fmt: skip
        if "is" in wanted:
            pool, probs = self._probs([_pad(p, proto) for p in preds])
            self.probs.append(probs)
            if "fid" in wanted and shared:
                self.pred_feats.append(pool)
        if "fid" in wanted:
            if not ("is" in wanted and shared):
                self.pred_feats.append(self._features(preds))
            if self.gt_features:  # a target used by several pairs counts once
                fresh = [(pair.gt, gt) for pair, gt in zip(pairs, gts) if pair.gt not in self.seen_gt]
                fresh = list({path: gt for path, gt in fresh}.items())
                if fresh:
                    self.seen_gt.update(path for path, _ in fresh)
                    self.gt_paths += [path for path, _ in fresh]
                    self.gt_feats.append(self._features([gt for _, gt in fresh]))
        if "lpips" in wanted:
            self._lpips(preds, gts)
        if "pckh" in wanted:
            self.pred_kps += [select_person(p) for p in self.estimator.batch(preds)]
            if self.targets is None:
                self.gt_kps += [select_person(p) for p in self.estimator.batch(gts)]

    def _masked(self, preds: list[np.ndarray], gts: list[np.ndarray], first: int) -> None:
        """Both images times the target's PG2/PATN pose mask (uint8 times 0/1, as PATN multiplies them)."""
        masked_preds = []
        for i, (pred, gt) in enumerate(zip(preds, gts)):
            mask = patn_pose_mask(self.targets[first + i], gt.shape[:2])
            if not mask.any():  # no keypoints: both images all zero would score a perfect 1.0
                self.empty_masks += 1
                continue
            m = mask[..., None].astype(np.uint8)
            masked_preds.append(pred * m)
            if "mask-ssim" in self.wanted:
                self.mask_ssim.append(ssim(pred * m, gt * m, self.proto.ssim[0][1]))
                self.mask_index.append(first + i)
        if "mask-is" in self.wanted and masked_preds:
            self.mask_probs.append(self._probs(masked_preds)[1])

    def _lpips(self, preds: list[np.ndarray], gts: list[np.ndarray]) -> None:
        same_size = len({p.shape for p in preds}) == 1
        groups = [list(range(len(preds)))] if same_size else [[i] for i in range(len(preds))]
        with torch.inference_mode():
            for idx in groups:
                x = to_tensor(np.stack([preds[i] for i in idx])).to(self.device)
                y = to_tensor(np.stack([gts[i] for i in idx])).to(self.device)
                self.lpips_values += self.lpips(x, y).double().cpu().tolist()

    def _inception_score(self, probs: list[np.ndarray], notes: list[str], what: str, **extra) -> dict:
        p = self.proto
        scored = sum(len(x) for x in probs)
        doc = {"splits": p.is_splits, "input": p.is_input.name, "bias_free_logits": p.is_bias_free_logits, **extra,
               "count": scored}  # fmt: skip
        if scored < p.is_splits:
            notes.append(f"{what}: {scored} images are fewer than its {p.is_splits} splits, so nothing was scored")
            return {"value": None, "std": None, **doc}
        mean, std = inception_score(np.concatenate(probs), p.is_splits)
        return {"value": mean, "std": std, **doc}

    def _real_from_ground_truths(self) -> np.ndarray:
        """Features of the first ``used`` ground truths in sorted name order (all of them without whole batches)."""
        feats = np.concatenate(self.gt_feats)
        order = sorted(range(len(self.gt_paths)), key=lambda i: str(self.gt_paths[i]))
        return feats[order[: protocols.used(len(order), self.proto.whole_batches)]]

    def per_pair(self) -> dict[str, list[float | None]]:
        """The per-pair values behind the means (``None`` where a pair has no value: an empty mask)."""
        out: dict[str, list[float | None]] = {key: list(values) for key, values in self.ssim.items() if values}
        if "mask-ssim" in self.wanted:
            masked: list[float | None] = [None] * self.count
            for i, value in zip(self.mask_index, self.mask_ssim):
                masked[i] = value
            out["mask-ssim"] = masked
        if self.lpips_values:
            out["lpips"] = list(self.lpips_values)
        return out

    def results(self, real) -> tuple[dict[str, dict], list[str]]:
        """``(metrics, notes)``; ``real``: FID real statistics and their description, or a ``fid_real.RealSet``
        to fill from the ground-truth features gathered here."""
        proto, wanted, n = self.proto, self.wanted, self.count
        used = protocols.used(n, proto.whole_batches)
        out: dict[str, dict] = {}
        notes: list[str] = []
        if "ssim" in wanted:
            for key, variant in proto.ssim:
                out[key] = {"value": float(np.mean(self.ssim[key])), "variant": variant.name, "count": n,
                            "padded_to_256x256": self.padded}  # fmt: skip
        masked = {"mask": proto.mask, "skipped_empty_mask": self.empty_masks}
        if self.empty_masks:
            notes.append(f"{self.empty_masks} of {n} targets have no keypoints (an empty pose mask): "
                         "left out of the masked metrics")  # fmt: skip
        if "mask-ssim" in wanted:
            value = float(np.mean(self.mask_ssim)) if self.mask_ssim else None
            out["mask-ssim"] = {"value": value, "variant": proto.ssim[0][1].name, **masked,
                                "count": len(self.mask_ssim)}  # fmt: skip
        if "is" in wanted:
            out["is"] = self._inception_score(self.probs, notes, "IS", padded_to_256x256=self.padded)
        if "mask-is" in wanted:
            out["mask-is"] = self._inception_score(self.mask_probs, notes, "mask-IS", **masked)
        if "fid" in wanted:
            if not isinstance(real, tuple):
                real = real.save(self._real_from_ground_truths())
            mu, sigma = FID.statistics(np.concatenate(self.pred_feats)[:used])
            try:
                value = FID.frechet_distance(mu, sigma, real[0], real[1])
            except ValueError as exc:
                raise PosewarpError(f"FID failed: {exc}") from None
            out["fid"] = {"value": value, "input": proto.fid_input.name, "network": proto.fid_input.model,
                          "real": real[2], "count": used, "dropped": n - used}  # fmt: skip
            if used < FID_MIN_IMAGES:
                notes.append(f"FID from {used} generated images (< {FID_MIN_IMAGES}) is biased upwards; "
                             "compare it only with FIDs from the same number of images")  # fmt: skip
        if "lpips" in wanted:
            out["lpips"] = {"value": float(np.mean(self.lpips_values[:used])), "variant": proto.lpips,
                            "count": used, "dropped": n - used}  # fmt: skip
        if used < n and ("fid" in wanted or "lpips" in wanted):
            notes.append(f"{proto.name}: FID and LPIPS from the first {used} of {n} pairs (whole batches of "
                         f"{proto.whole_batches}, as its script); keep_remainder scores all of them")  # fmt: skip
        if "pckh" in wanted:
            targets = self.targets if self.targets is not None else np.stack(self.gt_kps)
            correct, total, skipped = pckh_counts(np.stack(self.pred_kps), targets, proto.pckh_alpha)
            source = "keypoints file" if self.targets is not None else "estimator on ground truth"
            out["pckh"] = {"value": correct / total if total else None, "correct": correct, "total": total,
                           "skipped_pairs": skipped, "alpha": proto.pckh_alpha, "targets": source}  # fmt: skip
            if not total:
                notes.append("PCKh: no target has two or more head keypoints (nose, neck, eyes, ears), "
                             "so nothing was scored")  # fmt: skip
        return out, notes
