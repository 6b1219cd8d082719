"""Scores of one method on the held-out pairs of a pack, for ``benchmarks/quality.py``.

A method is a function from a batch (``PairDataset(maps=False)`` items: source image, labels and
keypoints, target keypoints) to ``{"image": (N, 3, H, W) in [-1, 1], "parsing": (N, H, W) or None,
"gates": [(N, 1, h, w), ...]}``. Metrics, all on the whole test split:

- SSIM (PATN: Gaussian window, uint8) and mask-SSIM (both images times the target's PG2 pose mask);
- L1 in [-1, 1] units on the target person (true parsing > 0) and on the background, separately;
- mIoU of the target parsing the method used (Stage I's prediction) against the truth;
- the gate: its mean over the target person per pair (all warping blocks, each at its resolution),
  the mean and spread of that over pairs, and its correlation with the amount of pose change
  (``pose_change``: keypoint displacement after similarity alignment, in torso lengths);
- for a composite output: the share of the target person's pixels taken from warped source pixels, its
  correlation with the pose change, and the share rendered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from posewarp.data import PairDataset
from posewarp.formats.heatmaps import pose_mask
from posewarp.formats.images import to_uint8
from posewarp.metrics.ssim import ssim
from posewarp.training.validation import confusion, parsing_scores

Method = Callable[[dict], dict]


def pose_change(batch: dict) -> torch.Tensor:
    """``(N,)`` how much the pose changes, not where the person stands: the mean distance between the target
    keypoints and the source keypoints after the best similarity alignment (Procrustes: translation, rotation,
    scale; PA-MPJPE in pose estimation), over the keypoints seen in both, in target torso lengths."""
    from posewarp.nn.part_grids import _torso_length

    sk, tk = batch["src_keypoints"].double(), batch["tgt_keypoints"].double()
    w = ((sk[..., 2] > 0) & (tk[..., 2] > 0)).double()
    n = w.sum(1).clamp_min(1)[:, None]
    a = sk[..., :2] - (w[..., None] * sk[..., :2]).sum(1, keepdim=True) / n[..., None]
    b = tk[..., :2] - (w[..., None] * tk[..., :2]).sum(1, keepdim=True) / n[..., None]
    # complex-number Procrustes: b ~ z * a with z = sum(w conj(a) b) / sum(w |a|^2)
    ac, bc = torch.complex(a[..., 0], a[..., 1]), torch.complex(b[..., 0], b[..., 1])
    z = (w * ac.conj() * bc).sum(1) / (w * ac.abs() ** 2).sum(1).clamp_min(1e-9)
    err = (bc - z[:, None] * ac).abs()
    length, _ = _torso_length(batch["tgt_keypoints"].float())
    return ((w * err).sum(1) / n[:, 0] / length.double().clamp_min(1)).float()


def gate_inside(gates: list[torch.Tensor], person: torch.Tensor) -> torch.Tensor:
    """``(N,)`` the gates' mean over the person (``(N, 1, H, W)`` float), averaged over the warping blocks."""
    per_block = []
    for g in gates:
        m = F.interpolate(person, size=g.shape[2:], mode="area")
        per_block.append((g.float() * m).sum((1, 2, 3)) / m.sum((1, 2, 3)).clamp_min(1e-6))
    return torch.stack(per_block).mean(0)


def evaluate(method: Method, data, split: str = "test", batch_size: int = 40) -> dict:
    dataset = PairDataset(data, split, maps=False)
    scores: dict[str, list] = {"ssim": [], "mask_ssim": [], "l1_person": [], "l1_background": [], "gate": [], "change": [],
                               "warped_share": [], "rendered_share": []}
    conf = None
    for batch in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
        out = method(batch)
        fake, real = out["image"].float().clamp(-1, 1).cpu(), batch["tgt_image"]
        a, b = to_uint8(fake), to_uint8(real)
        masks = pose_mask(batch["tgt_keypoints"], tuple(real.shape[2:])).numpy().astype(np.uint8)[..., None]
        scores["ssim"] += [ssim(x, y) for x, y in zip(a, b)]
        scores["mask_ssim"] += [ssim(x * m, y * m) for x, y, m in zip(a, b, masks)]
        person = (batch["tgt_labels"] > 0)[:, None].float()
        err = (fake - real).abs().mean(1, keepdim=True)
        scores["l1_person"] += ((err * person).sum((1, 2, 3)) / person.sum((1, 2, 3)).clamp_min(1)).tolist()
        scores["l1_background"] += ((err * (1 - person)).sum((1, 2, 3)) / (1 - person).sum((1, 2, 3)).clamp_min(1)).tolist()
        if out.get("parsing") is not None:
            c = confusion(out["parsing"].cpu(), batch["tgt_labels"], 20)
            conf = c if conf is None else conf + c
        if out.get("gates"):
            scores["gate"] += gate_inside([g.cpu() for g in out["gates"]], person).tolist()
        if out.get("composition") is not None:  # candidates: rendering, source, background, warped sources
            weights = out["composition"].cpu()
            scores["warped_share"] += gate_inside([weights[:, 3:].sum(1, keepdim=True)], person).tolist()
            scores["rendered_share"] += gate_inside([weights[:, :1]], person).tolist()
        scores["change"] += pose_change(batch).tolist()
    result = {k: float(np.mean(scores[k])) for k in ("ssim", "mask_ssim", "l1_person", "l1_background")}
    result["pairs"] = len(scores["ssim"])
    if conf is not None:
        result["miou"] = parsing_scores(conf)["miou"]
    change = np.asarray(scores["change"])
    if scores["gate"]:
        gate = np.asarray(scores["gate"])
        result["gate_mean"], result["gate_spread"] = float(gate.mean()), float(gate.std())
        result["gate_corr"] = _corr(gate, change)
    if scores["warped_share"]:
        share = np.asarray(scores["warped_share"])
        result["warped_share"], result["warped_corr"] = float(share.mean()), _corr(share, change)
        result["rendered_share"] = float(np.mean(scores["rendered_share"]))
    return result


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
