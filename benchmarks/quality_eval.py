"""Scores of one method on the held-out pairs of a pack, for ``benchmarks/quality.py``.

A method is a function from a batch (``PairDataset(maps=False)`` items of the pack the models read: source
image, the *estimated* labels and keypoints of both sides under a recipe with estimated inputs) to
``{"image": (N, 3, H, W) in [-1, 1], "parsing": (N, H, W) or None, "gates": [(N, 1, h, w), ...]}``.
Everything is scored against the *truth* pack (the same pairs with the exact parsing and keypoints):

- SSIM (PATN: Gaussian window, uint8) and mask-SSIM (both images times the target's PG2 pose mask);
- L1 in [-1, 1] units on the target person (true parsing > 0) and on the background, separately;
- ghost: L1 inside the source person's silhouette where the target shows background (is the old person
  still drawn where it stood?), over the pairs that have such pixels;
- with a judge (a parser trained in-tool on the world's training photos, ``metrics.world_parser``):
  output-parsing mIoU (the judge's parsing of the generated image against the true target parsing: are the
  right parts in the right places?), world-LPIPS (per pair) and world-FID (the set) on the judge's features;
- mIoU of the target parsing the method used (Stage I's prediction) against the truth;
- per view change (``views``: image name -> front/side/back): SSIM, ghost and world-LPIPS over the pairs that
  keep the view (``same``), turn front<->back (``turn``) or involve a side view (``side``);
- the gate: its mean over the target person per pair, the mean and spread over pairs, its correlation with
  the pose change (``pose_change``); for a composite output, the share of warped pixels.
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
from posewarp.metrics.parsing_scores import confusion, parsing_scores

Method = Callable[[dict], dict]
VIEW_CHANGES = ("same", "turn", "side")


def view_change(a: str, b: str) -> str:
    if a == b:
        return "same"
    return "turn" if {a, b} == {"front", "back"} else "side"


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


def _batches(data, truth, split: str, batch_size: int):
    """Pairs of batches (what the method reads, the truth to score against), checked to name the same images."""
    load = lambda path: torch.utils.data.DataLoader(PairDataset(path, split, maps=False), batch_size=batch_size)  # noqa: E731
    if truth is None:
        yield from ((b, b) for b in load(data))
        return
    for seen, true in zip(load(data), load(truth), strict=True):
        if seen["src_name"] != true["src_name"] or seen["tgt_name"] != true["tgt_name"]:
            raise ValueError(f"{data} and {truth} hold different pairs in split {split!r}")
        yield seen, true


def evaluate(method: Method, data, split: str = "test", batch_size: int = 40, *, truth=None, judge=None,
             views: dict[str, str] | None = None) -> dict:
    from posewarp.metrics import world_measures as W

    keys = ("ssim", "mask_ssim", "l1_person", "l1_background", "ghost", "wlpips", "gate", "change", "warped_share",
            "rendered_share", "view")
    scores: dict[str, list] = {k: [] for k in keys}
    conf = judge_conf = None
    fake_feats, real_feats = [], []
    for batch, true in _batches(data, truth, split, batch_size):
        with torch.no_grad():
            out = method(batch)
        fake, real = out["image"].float().clamp(-1, 1).cpu(), true["tgt_image"]
        a, b = to_uint8(fake), to_uint8(real)
        masks = pose_mask(true["tgt_keypoints"], tuple(real.shape[2:])).numpy().astype(np.uint8)[..., None]
        scores["ssim"] += [ssim(x, y) for x, y in zip(a, b)]
        scores["mask_ssim"] += [ssim(x * m, y * m) for x, y, m in zip(a, b, masks)]
        person = (true["tgt_labels"] > 0)[:, None].float()
        err = (fake - real).abs().mean(1, keepdim=True)
        scores["l1_person"] += ((err * person).sum((1, 2, 3)) / person.sum((1, 2, 3)).clamp_min(1)).tolist()
        scores["l1_background"] += ((err * (1 - person)).sum((1, 2, 3)) / (1 - person).sum((1, 2, 3)).clamp_min(1)).tolist()
        ghost = W.ghost_error(fake, real, true["src_labels"], true["tgt_labels"])
        scores["ghost"] += ghost.error.tolist()
        if judge is not None:
            scores["wlpips"] += W.world_lpips(judge, fake, real).cpu().tolist()
            c = W.output_parsing_confusion(judge, fake, true["tgt_labels"])
            judge_conf = c if judge_conf is None else judge_conf + c
            fake_feats.append(W.pooled_features(judge, fake))
            real_feats.append(W.pooled_features(judge, real))
        if out.get("parsing") is not None:
            c = confusion(out["parsing"].cpu(), true["tgt_labels"], 20)
            conf = c if conf is None else conf + c
        if out.get("gates"):
            scores["gate"] += gate_inside([g.cpu() for g in out["gates"]], person).tolist()
        if out.get("composition") is not None:  # candidates: rendering, source, background, warped sources
            weights = out["composition"].cpu()
            scores["warped_share"] += gate_inside([weights[:, 3:].sum(1, keepdim=True)], person).tolist()
            scores["rendered_share"] += gate_inside([weights[:, :1]], person).tolist()
        scores["change"] += pose_change(true).tolist()
        if views is not None:
            scores["view"] += [view_change(views[s], views[t]) for s, t in zip(true["src_name"], true["tgt_name"])]
    return _summary(scores, conf, judge_conf, fake_feats, real_feats)


def _summary(scores: dict, conf, judge_conf, fake_feats: list, real_feats: list) -> dict:
    from posewarp.metrics import world_measures as W

    result = {k: float(np.mean(scores[k])) for k in ("ssim", "mask_ssim", "l1_person", "l1_background")}
    result["pairs"] = len(scores["ssim"])
    result["ghost"] = float(np.nanmean(scores["ghost"])) if np.isfinite(scores["ghost"]).any() else float("nan")
    if scores["wlpips"]:
        result["wlpips"] = float(np.mean(scores["wlpips"]))
        result["wfid"] = W.world_fid(np.concatenate(real_feats), np.concatenate(fake_feats))
        result["out_miou"] = W.output_parsing_scores(judge_conf)["miou"]
    if conf is not None:
        result["miou"] = parsing_scores(conf)["miou"]
    if scores["view"]:
        view = np.asarray(scores["view"])
        for kind in VIEW_CHANGES:
            sel = view == kind
            result[f"pairs_{kind}"] = int(sel.sum())
            for key in ("ssim", "ghost", "wlpips"):
                vals = np.asarray(scores[key], np.float64)
                if len(vals) == len(view) and sel.any() and np.isfinite(vals[sel]).any():
                    result[f"{key}_{kind}"] = float(np.nanmean(vals[sel]))
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
