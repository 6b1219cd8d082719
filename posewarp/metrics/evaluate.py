"""``posewarp eval`` as one library call: score a folder of generated images against ground truth
with the field's metrics under a named protocol (paper.md 4.1, reference/ecosystem.md section 1).

Every image pair is read once; per batch the requested metrics take what they need: SSIM and
mask-SSIM per pair (numpy), Inception outputs of the generated images (class probabilities for IS,
pool features for FID), LPIPS distances, and keypoints of the generated images for PCKh. Pretrained
files come from the weights registry (``posewarp weights download NAME``); nothing downloads here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from posewarp.console import track
from posewarp.devices import resolve_device
from posewarp.errors import OutputError, PosewarpError, WeightsMissingError
from posewarp.formats.heatmaps import pose_mask
from posewarp.formats.images import list_images, read_image, to_tensor
from posewarp.formats.keypoints import check_values, select_person
from posewarp.interrupt import graceful
from posewarp.metrics import fid as FID
from posewarp.metrics import protocols
from posewarp.metrics.inception import FIDInceptionV3, load_fid_inception, prepare
from posewarp.metrics.inception_score import inception_score, softmax
from posewarp.metrics.names import DEFAULT_BATCH_SIZE, DEFAULT_METRICS, DEFAULT_PROTOCOL, parse_metrics
from posewarp.metrics.pairing import Pair, match_pairs, target_keypoints
from posewarp.metrics.pckh import pckh_counts
from posewarp.metrics.ssim import pad_width, ssim

MASKED = ("mask-ssim", "mask-is")  # PATN's Market-1501 scores on images times the target's pose mask
PATN_SIZE = (256, 176)
FID_MIN_IMAGES = 2048  # below the feature dimension the covariance is singular and FID is biased


OPTIONS = {"inception-fid": "--inception-weights", "alexnet": "--alexnet-weights", "lpips-alex": "--lpips-weights",
           "openpose": "--openpose-weights"}  # fmt: skip
# Which metrics read each optional input: an input given for none of the chosen metrics is said, not ignored.
READERS = {"inception-fid": ("fid", "is", "mask-is"), "alexnet": ("lpips",), "lpips-alex": ("lpips",),
           "openpose": ("pckh",), "--keypoints": ("mask-ssim", "mask-is", "pckh"), "--fid-real": ("fid",)}  # fmt: skip


def unused_inputs(wanted, weights: dict, keypoints, fid_real) -> list[str]:
    """Notes for the inputs given that none of the ``wanted`` metrics reads."""
    given = [OPTIONS[k] for k in weights] + [o for o, v in (("--keypoints", keypoints), ("--fid-real", fid_real)) if v]
    readers = {OPTIONS.get(k, k): v for k, v in READERS.items()}
    return [f"{option} is not used: it is for {', '.join(readers[option])}, none of which is among the metrics"
            for option in given if not set(readers[option]) & set(wanted)]  # fmt: skip


def _require(name: str, weights: dict) -> Path:
    """The registry file (or override) for ``name``; a missing file names the download command."""
    from posewarp import weights as W

    try:
        return W.require(name, weights.get(name))
    except WeightsMissingError as exc:
        raise W.another_way(exc, f"{OPTIONS[name]} PATH uses another file") from None


class full_float32(contextlib.ContextDecorator):
    """Metric networks in true float32 on CUDA: TF32 convolutions (PyTorch's cuDNN default) move
    Inception features enough to shift FID and IS in the second decimal. Restores the settings after."""

    def __enter__(self):
        cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
        if hasattr(getattr(cudnn, "conv", None), "fp32_precision"):  # PyTorch >= 2.9: only the new API
            self.saved = ("new", cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision)
            cudnn.conv.fp32_precision = cudnn.rnn.fp32_precision = matmul.fp32_precision = "ieee"
        else:
            self.saved = ("old", cudnn.allow_tf32, matmul.allow_tf32)
            cudnn.allow_tf32 = matmul.allow_tf32 = False
        return self

    def __exit__(self, *exc):
        cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
        if self.saved[0] == "new":
            cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision, matmul.fp32_precision = self.saved[1:]
        else:
            cudnn.allow_tf32, matmul.allow_tf32 = self.saved[1:]
        return False


def _batches(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _pads(image: np.ndarray, proto: protocols.Protocol) -> bool:
    return proto.pad_256x176 and image.shape[:2] == PATN_SIZE


def _pad(image: np.ndarray, proto: protocols.Protocol) -> np.ndarray:
    return pad_width(image, proto.pad_bound) if _pads(image, proto) else image


@torch.inference_mode()
def _inception(model: FIDInceptionV3, images: list[np.ndarray], how: protocols.InceptionInput, device,
               bias_free: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    x = torch.cat([prepare(torch.tensor(im, device=device).permute(2, 0, 1)[None], resize=how.resize,
                           normalize=how.normalize) for im in images])  # fmt: skip
    pool, logits = model(x, bias_free_logits=bias_free)
    return pool.double().cpu().numpy(), logits.double().cpu().numpy()


def real_statistics(folder, model: FIDInceptionV3, proto: protocols.Protocol, *, device="cpu", batch_size=32,
                    files: list[Path] | None = None, cache_dir=None, model_id: str = "inception-fid",
                    show_progress=True) -> tuple[np.ndarray, np.ndarray, dict]:  # fmt: skip
    """FID statistics of the images in ``folder`` (or ``files`` inside it), cached on disk under a key of
    the folder, its files' names and sizes, the protocol's Inception input and ``model_id``."""
    folder = Path(folder)
    files = list_images(folder) if files is None else files
    if len(files) < 2:
        raise PosewarpError("FID needs at least 2 real images", folder)
    settings = {"input": proto.fid_input.name, "model": model_id}
    path = FID.cache_path(FID.cache_key(folder, files, settings), cache_dir)
    info = {"source": str(folder), "count": len(files), "cache": str(path)}
    if path.is_file():
        mu, sigma = FID.load_statistics(path)
        return mu, sigma, {**info, "cached": True}
    feats = []
    with graceful(lambda: "evaluation stopped while reading the real images; nothing was written", immediate=True):
        for chunk in track(_batches(files, batch_size), "FID real images", show=show_progress):
            feats.append(_inception(model, [read_image(f) for f in chunk], proto.fid_input, device, False)[0])
    mu, sigma = FID.statistics(np.concatenate(feats))
    cached = _cache(path, mu, sigma, **info, settings=settings)
    return mu, sigma, {**info, "cached": False, **({} if cached else {"cache": None})}


def _cache(path, mu, sigma, **meta) -> bool:
    """Save FID statistics for the next run; an unwritable cache is no reason to lose the evaluation."""
    try:
        FID.save_statistics(path, mu, sigma, **meta)
    except OutputError as exc:
        from posewarp.console import err

        err.print(f"[yellow]note: FID statistics not cached: {exc}[/yellow]", highlight=False)
        return False
    return True


class Scorer:
    """Accumulates the requested metrics over batches of (generated, ground truth) RGB uint8 images."""

    def __init__(self, proto: protocols.Protocol, wanted: tuple[str, ...], *, device, inception=None, lpips=None,
                 estimator=None, targets: np.ndarray | None = None, gt_features: bool = False):  # fmt: skip
        self.proto, self.wanted, self.device = proto, wanted, device
        self.inception, self.lpips, self.estimator, self.targets = inception, lpips, estimator, targets
        self.gt_features = gt_features  # FID real statistics from the ground truths seen here
        self.ssim: dict[str, list[float]] = {key: [] for key, _ in proto.ssim}
        self.mask_ssim, self.lpips_values, self.probs, self.mask_probs = [], [], [], []
        self.pred_feats, self.gt_feats, self.pred_kps, self.gt_kps = [], [], [], []
        self.seen_gt: set[Path] = set()
        self.count = self.padded = 0

    def _probs(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        p = self.proto
        pool, logits = _inception(self.inception, images, p.is_input, self.device, p.is_bias_free_logits)
        return pool, softmax(logits)

    def _features(self, images: list[np.ndarray]) -> np.ndarray:
        return _inception(self.inception, images, self.proto.fid_input, self.device, False)[0]

    def add(self, pairs: Sequence[Pair], preds: list[np.ndarray], gts: list[np.ndarray]) -> None:
        proto, wanted = self.proto, self.wanted
        for pair, pred, gt in zip(pairs, preds, gts):
            if pred.shape != gt.shape:
                raise PosewarpError(f"generated image is {pred.shape[1]}x{pred.shape[0]} but its ground truth "
                                    f"{pair.gt.name} is {gt.shape[1]}x{gt.shape[0]}", pair.pred)  # fmt: skip
        if self.targets is not None:
            for i, (pair, gt) in enumerate(zip(pairs, gts)):
                check_values(self.targets[self.count + i], None, gt.shape[:2], f"keypoints of {pair.gt.name}: ")
        first, self.count = self.count, self.count + len(pairs)
        self.padded += sum(_pads(p, proto) for p in preds)
        if "ssim" in wanted:
            for pair, pred, gt in zip(pairs, preds, gts):
                for key, variant in proto.ssim:
                    try:
                        self.ssim[key].append(ssim(_pad(pred, proto), _pad(gt, proto), variant))
                    except ValueError as exc:  # e.g. an image smaller than GFLA's 51x51 window
                        raise PosewarpError(f"{variant.name} SSIM: {exc}", pair.pred) from None
        if any(name in wanted for name in MASKED):  # masked uint8 images, as PATN multiplies them
            masks = [pose_mask(self.targets[first + i], gt.shape[:2])[..., None].astype(np.uint8)
                     for i, gt in enumerate(gts)]  # fmt: skip
            masked = [p * m for p, m in zip(preds, masks)]
            if "mask-ssim" in wanted:
                self.mask_ssim += [ssim(p, g * m, proto.ssim[0][1]) for p, g, m in zip(masked, gts, masks)]
            if "mask-is" in wanted:
                self.mask_probs.append(self._probs(masked)[1])
        # one network pass serves IS and FID when their inputs agree (same resize/scaling, no padding)
        shared = proto.is_input == proto.fid_input and not any(_pads(p, proto) for p in preds)
        if "is" in wanted:
            pool, probs = self._probs([_pad(p, proto) for p in preds])
            self.probs.append(probs)
            if "fid" in wanted and shared:
                self.pred_feats.append(pool)
        if "fid" in wanted:
            if not ("is" in wanted and shared):
                self.pred_feats.append(self._features(preds))
            if self.gt_features:  # a target used by several pairs counts once
                fresh = []
                for pair, gt in zip(pairs, gts):
                    if pair.gt not in self.seen_gt:
                        self.seen_gt.add(pair.gt)
                        fresh.append(gt)
                if fresh:
                    self.gt_feats.append(self._features(fresh))
        if "lpips" in wanted:
            same_size = len({p.shape for p in preds}) == 1
            groups = [list(range(len(preds)))] if same_size else [[i] for i in range(len(preds))]
            with torch.inference_mode():
                for idx in groups:
                    x = to_tensor(np.stack([preds[i] for i in idx])).to(self.device)
                    y = to_tensor(np.stack([gts[i] for i in idx])).to(self.device)
                    self.lpips_values += self.lpips(x, y).double().cpu().tolist()
        if "pckh" in wanted:
            self.pred_kps += [select_person(p) for p in self.estimator.batch(preds)]
            if self.targets is None:
                self.gt_kps += [select_person(p) for p in self.estimator.batch(gts)]

    def _inception_score(self, probs: list[np.ndarray], **extra) -> dict:
        p = self.proto
        mean, std = inception_score(np.concatenate(probs), p.is_splits)
        return {"value": mean, "std": std, "splits": p.is_splits, "input": p.is_input.name,
                "bias_free_logits": p.is_bias_free_logits, **extra, "count": self.count}  # fmt: skip

    def results(self, real: tuple[np.ndarray, np.ndarray, dict] | None) -> tuple[dict[str, dict], list[str]]:
        """``(metrics, notes)``; ``real`` = FID real statistics and their description."""
        proto, wanted, n = self.proto, self.wanted, self.count
        out: dict[str, dict] = {}
        notes: list[str] = []
        if "ssim" in wanted:
            for key, variant in proto.ssim:
                out[key] = {"value": float(np.mean(self.ssim[key])), "variant": variant.name, "count": n,
                            "padded_to_256x256": self.padded}  # fmt: skip
        if "mask-ssim" in wanted:
            out["mask-ssim"] = {"value": float(np.mean(self.mask_ssim)), "variant": proto.ssim[0][1].name,
                                "mask": "pg2-pose-mask", "count": n}  # fmt: skip
        if "is" in wanted:
            out["is"] = self._inception_score(self.probs, padded_to_256x256=self.padded)
        if "mask-is" in wanted:
            out["mask-is"] = self._inception_score(self.mask_probs, mask="pg2-pose-mask")
        if "fid" in wanted:
            mu, sigma = FID.statistics(np.concatenate(self.pred_feats))
            try:
                value = FID.frechet_distance(mu, sigma, real[0], real[1])
            except ValueError as exc:
                raise PosewarpError(f"FID failed: {exc}") from None
            out["fid"] = {"value": value, "input": proto.fid_input.name, "real": real[2], "count": n}
            if n < FID_MIN_IMAGES:
                notes.append(f"FID from {n} generated images (< {FID_MIN_IMAGES}) is biased upwards; "
                             "compare it only with FIDs from the same number of images")  # fmt: skip
        if "lpips" in wanted:
            out["lpips"] = {"value": float(np.mean(self.lpips_values)), "variant": proto.lpips, "count": n}
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


@full_float32()
def evaluate(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    *,
    metrics: str | Iterable[str] = DEFAULT_METRICS,
    protocol: str | protocols.Protocol = DEFAULT_PROTOCOL,
    pairs: str | os.PathLike | None = None,
    keypoints: str | os.PathLike | None = None,
    device: str = "auto",
    fid_real: str | os.PathLike | None = None,
    fid_cache_dir: str | os.PathLike | None = None,
    weights: dict[str, str | os.PathLike] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    inception: torch.nn.Module | None = None,
    keypoint_estimator=None,
    show_progress: bool = True,
    pose_format: str = "auto",
    person: int | None = None,
) -> dict:
    """Score ``pred_dir`` against ``gt_dir``; returns the JSON document of ``posewarp eval --json``.

    ``keypoints``: the ground truths' keypoints (a folder of pose files, a PATN CSV or an MS COCO JSON,
    read as ``pose_format``; ``person`` N or the largest where a file has several) for the masked
    metrics and as PCKh targets (without it PCKh runs the estimator on the ground truth too).
    ``fid_real``: a folder of real images or a ``.npz`` with ``mu``/``sigma`` (default: the paired
    ground truths). ``weights`` overrides registry files by name (``inception-fid``, ``alexnet``,
    ``lpips-alex``, ``openpose``). ``inception``: a module used instead of the registry's Inception,
    called as ``model(x, bias_free_logits=...) -> (pool, logits)`` (tests use stand-ins).
    ``keypoint_estimator``: any object with ``batch(list of RGB) -> list of (P, 18, 3)``, used
    instead of OpenPose.
    """
    proto = protocols.get(protocol)
    wanted = parse_metrics(metrics)
    weights = dict(weights or {})
    items: list[Pair] = match_pairs(pred_dir, gt_dir, pairs)
    n = len(items)
    for name in MASKED:
        if name in wanted and keypoints is None:
            raise PosewarpError(f"{name} needs the ground truths' keypoints: pass --keypoints DIR|CSV")
    if ("is" in wanted or "mask-is" in wanted) and n < proto.is_splits:
        raise PosewarpError(f"IS needs at least {proto.is_splits} images for {proto.is_splits} splits, got {n}")
    if "fid" in wanted and n < 2:
        raise PosewarpError("FID needs at least 2 generated images")
    dev = resolve_device(device)
    targets, keypoint_note = None, None
    if keypoints is not None:
        targets, keypoint_note = target_keypoints(keypoints, items, pose_format, person)

    model_id = lpips_model = estimator = None
    if inception is not None:
        inception = inception.to(dev).eval()
        model_id = f"module:{type(inception).__qualname__}"
    elif any(name in wanted for name in ("is", "mask-is", "fid")):
        path = _require("inception-fid", weights)
        inception = load_fid_inception(path).to(dev)
        model_id = f"{path.name}:{path.stat().st_size}"
    if "lpips" in wanted:
        from posewarp.metrics.lpips import load_lpips

        lpips_model = load_lpips(_require("alexnet", weights), _require("lpips-alex", weights)).to(dev)
    if "pckh" in wanted:
        estimator = keypoint_estimator
        if estimator is None:
            from posewarp.preprocess.keypoints import KeypointEstimator

            estimator = KeypointEstimator(_require("openpose", weights), device=dev)

    real, gt_cache = None, None
    if "fid" in wanted and fid_real is not None:
        if Path(fid_real).suffix.lower() == ".npz":
            mu, sigma = FID.load_statistics(fid_real)
            real = (mu, sigma, {"source": str(fid_real), "count": None, "cached": True})
        else:
            real = real_statistics(fid_real, inception, proto, device=dev, batch_size=batch_size,
                                   cache_dir=fid_cache_dir, model_id=model_id, show_progress=show_progress)  # fmt: skip
    elif "fid" in wanted:  # default real set: the paired ground truths (each once), cached like any folder
        gt_files = list(dict.fromkeys(p.gt for p in items))
        settings = {"input": proto.fid_input.name, "model": model_id}
        path = FID.cache_path(FID.cache_key(gt_dir, gt_files, settings), fid_cache_dir)
        gt_cache = {"source": str(gt_dir), "count": len(gt_files), "cache": str(path)}
        if path.is_file():
            real = (*FID.load_statistics(path), {**gt_cache, "cached": True})

    scorer = Scorer(proto, wanted, device=dev, inception=inception, lpips=lpips_model, estimator=estimator,
                    targets=targets, gt_features="fid" in wanted and real is None)  # fmt: skip
    with graceful(lambda: f"evaluation stopped after {scorer.count} of {n} pairs; nothing was written", immediate=True):
        for chunk in track(_batches(items, batch_size), "evaluating", show=show_progress):
            scorer.add(chunk, [read_image(p.pred) for p in chunk], [read_image(p.gt) for p in chunk])
    if scorer.gt_features:
        mu, sigma = FID.statistics(np.concatenate(scorer.gt_feats))
        cached = _cache(gt_cache["cache"], mu, sigma, **gt_cache)
        real = (mu, sigma, {**gt_cache, "cached": False, **({} if cached else {"cache": None})})
    results, notes = scorer.results(real)
    if keypoint_note:
        notes.append(keypoint_note)
    notes += unused_inputs(wanted, weights, keypoints, fid_real)
    return {
        "protocol": proto.name,
        "settings": proto.describe(),
        "pred_dir": str(pred_dir),
        "gt_dir": str(gt_dir),
        "pairs": n,
        "device": str(dev),
        "metrics": results,
        "notes": notes,
    }
