"""Scores of one method on the held-out pairs of a pack, for ``benchmarks/quality.py``.

A method is a function from a batch (``PairDataset(maps=False)`` items: source image, labels and
keypoints, target keypoints) to ``{"image": (N, 3, H, W) in [-1, 1], "parsing": (N, H, W) or None,
"gates": [(N, 1, h, w), ...]}``. Metrics, all on the whole test split:

- SSIM (PATN: Gaussian window, uint8) and mask-SSIM (both images times the target's PG2 pose mask);
- L1 in [-1, 1] units on the target person (true parsing > 0) and on the background, separately;
- mIoU of the target parsing the method used (Stage I's prediction) against the truth;
- the gate: its mean over the target person per pair (all warping blocks, each at its resolution),
  the mean and spread of that over pairs, and its correlation with the amount of pose change (the mean
  displacement of the keypoints seen in both images, in image heights).
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


def pose_change(batch: dict, height: int) -> torch.Tensor:
    """``(N,)`` mean displacement of the keypoints seen in both images, in image heights."""
    sk, tk = batch["src_keypoints"], batch["tgt_keypoints"]
    both = (sk[..., 2] > 0) & (tk[..., 2] > 0)
    disp = (sk[..., :2] - tk[..., :2]).norm(dim=-1)
    return (disp * both).sum(1) / both.sum(1).clamp_min(1) / height


def gate_inside(gates: list[torch.Tensor], person: torch.Tensor) -> torch.Tensor:
    """``(N,)`` the gates' mean over the person (``(N, 1, H, W)`` float), averaged over the warping blocks."""
    per_block = []
    for g in gates:
        m = F.interpolate(person, size=g.shape[2:], mode="area")
        per_block.append((g.float() * m).sum((1, 2, 3)) / m.sum((1, 2, 3)).clamp_min(1e-6))
    return torch.stack(per_block).mean(0)


def evaluate(method: Method, data, split: str = "test", batch_size: int = 40) -> dict:
    dataset = PairDataset(data, split, maps=False)
    height = dataset.image_size[0]
    scores: dict[str, list] = {"ssim": [], "mask_ssim": [], "l1_person": [], "l1_background": [], "gate": [], "change": []}
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
        scores["change"] += pose_change(batch, height).tolist()
    result = {k: float(np.mean(scores[k])) for k in ("ssim", "mask_ssim", "l1_person", "l1_background")}
    result["pairs"] = len(scores["ssim"])
    if conf is not None:
        result["miou"] = parsing_scores(conf)["miou"]
    if scores["gate"]:
        gate = np.asarray(scores["gate"])
        result["gate_mean"], result["gate_spread"] = float(gate.mean()), float(gate.std())
        result["gate_corr"] = float(np.corrcoef(gate, np.asarray(scores["change"]))[0, 1]) if gate.std() > 0 else 0.0
    return result
