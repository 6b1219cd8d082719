"""Parsing scores from a confusion matrix: pixel accuracy and mean IoU.

Confusion matrices add up, so batches, ranks and splits are summed first and scored once; Stage I's
validation, Stage II's warped-parsing check and the output-parsing mIoU of ``world_measures`` all score this way.
"""

from __future__ import annotations

import torch


def confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(C, C)`` counts, rows = ground truth, columns = prediction, for label maps of one shape."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    idx = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes).double()


def parsing_scores(conf: torch.Tensor) -> dict[str, float]:
    """Pixel accuracy and mIoU (over the classes present in the ground truth or the prediction)."""
    conf = conf.double()
    tp = conf.diag()
    union = conf.sum(0) + conf.sum(1) - tp
    present = union > 0
    miou = (tp[present] / union[present]).mean().item() if present.any() else float("nan")
    total = conf.sum().item()
    return {"pixel_acc": tp.sum().item() / total if total else float("nan"), "miou": miou}
