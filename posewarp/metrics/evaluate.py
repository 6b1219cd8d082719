"""``posewarp eval`` as one library call: score a folder of generated images against ground truth
with the field's metrics under a named protocol (paper.md 4.1, reference/ecosystem.md section 1).

Here: pairing the folders (``pairing.py``: every ground truth needs its generated image), loading the
networks, and the batch loop; each pair is read once and handed to ``scorer.Scorer``, which holds the
per-metric arithmetic; FID's real statistics come from ``fid_real.py``. Pretrained files come from the
weights registry (``posewarp weights download NAME``); nothing downloads here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import torch

from posewarp.console import track
from posewarp.devices import resolve_device
from posewarp.errors import PosewarpError
from posewarp.interrupt import graceful
from posewarp.metrics import fid_real as real_stats
from posewarp.metrics import protocols
from posewarp.metrics.features import batches, read_metric_image
from posewarp.metrics.fingerprint import file_sha256, module_sha256
from posewarp.metrics.names import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_METRICS,
    DEFAULT_PRED_LAYOUT,
    DEFAULT_PROTOCOL,
    parse_metrics,
)
from posewarp.metrics.pairing import Pair, match_pairs, pair_key, target_keypoints
from posewarp.metrics.scorer import MASKED, Scorer

MISSING_NAMES = 20  # names of missing generated images listed in the JSON (the count is complete)

OPTIONS = {"inception-fid": "--inception-weights", "inception-torchvision": "--inception-torchvision-weights",
           "alexnet": "--alexnet-weights", "lpips-alex": "--lpips-weights", "openpose": "--openpose-weights"}  # fmt: skip
# Which metrics read each optional input: an input given for none of the chosen metrics is said, not ignored.
READERS = {"inception-fid": ("fid", "is", "mask-is"), "inception-torchvision": ("fid",), "alexnet": ("lpips",),
           "lpips-alex": ("lpips",), "openpose": ("pckh",), "--keypoints": ("mask-ssim", "mask-is", "pckh"),
           "--fid-real": ("fid",)}  # fmt: skip


def unused_inputs(wanted, weights: dict, keypoints, fid_real) -> list[str]:
    """Notes for the inputs given that none of the ``wanted`` metrics reads."""
    given = [OPTIONS[k] for k in weights] + [o for o, v in (("--keypoints", keypoints), ("--fid-real", fid_real)) if v]
    readers = {OPTIONS.get(k, k): v for k, v in READERS.items()}
    return [f"{option} is not used: it is for {', '.join(readers[option])}, none of which is among the metrics"
            for option in given if not set(readers[option]) & set(wanted)]  # fmt: skip


def _require(name: str, weights: dict) -> Path:
    """The registry file (or override) for ``name``; a missing file names the download command."""
    from posewarp import weights as W

    return W.require(name, weights.get(name), option=OPTIONS[name])


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


def _inception_models(wanted, proto: protocols.Protocol, weights: dict, inception, dev) -> tuple:
    """``(is_model, fid_model, fid_weights_sha256)``: the registry's networks (or ``inception`` for both)."""
    if inception is not None:
        inception = inception.to(dev).eval()
        return inception, inception, module_sha256(inception)
    is_model = fid_model = digest = None
    if "is" in wanted or "mask-is" in wanted:
        is_model = load_network(proto.is_input.model, weights).to(dev)
    if "fid" in wanted:
        if proto.fid_input.model == proto.is_input.model and is_model is not None:
            fid_model = is_model
        else:
            fid_model = load_network(proto.fid_input.model, weights).to(dev)
        digest = file_sha256(_require(proto.fid_input.model, weights))
    return is_model, fid_model, digest


def load_network(name: str, weights: dict) -> torch.nn.Module:
    """An Inception network by registry name (``inception-fid`` or ``inception-torchvision``)."""
    path = _require(name, weights)
    if name == "inception-torchvision":
        from posewarp.metrics.inception_torchvision import load_torchvision_inception

        return load_torchvision_inception(path)
    from posewarp.metrics.inception import load_fid_inception

    return load_fid_inception(path)


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
    allow_missing: bool = False,
    keep_remainder: bool = False,
    pred_layout: str = DEFAULT_PRED_LAYOUT,
    only: set[str] | None = None,
    per_pair: bool = False,
) -> dict:
    """Score ``pred_dir`` against ``gt_dir``; returns the JSON document of ``posewarp eval --json``.

    ``keypoints``: the ground truths' keypoints (a folder of pose files, a PATN CSV or an MS COCO JSON,
    read as ``pose_format``; ``person`` N or the largest where a file has several) for the masked
    metrics and as PCKh targets (without it PCKh runs the estimator on the ground truth too).
    ``fid_real``: a folder of real images or a ``.npz`` with ``mu``/``sigma`` (default: the paired
    ground truths). ``weights`` overrides registry files by name (``inception-fid``,
    ``inception-torchvision``, ``alexnet``, ``lpips-alex``, ``openpose``). ``inception``: a module used
    instead of the registry's Inception networks, called as ``model(x, bias_free_logits=...) -> (pool,
    logits)`` (tests use stand-ins). ``keypoint_estimator``: any object with ``batch(list of RGB) ->
    list of (P, 18, 3)``, used instead of OpenPose. ``allow_missing``: score the pairs whose generated
    image exists and count the rest, instead of refusing. ``keep_remainder``: a protocol that scores
    only whole batches (GFLA) scores every pair instead. ``pred_layout``: how each generated file holds
    its image (``layouts.py``: ``picture``, ``patn-strip``, ``defgan-strip``, ``gfla``, or ``auto`` from the
    first pair's widths). Images are read with any alpha channel dropped (``features.read_metric_image``).
    ``only``: score just the pairs whose ``pair_key`` is in it (``compare`` passes the pairs every method
    has); ``per_pair``: add ``per_pair`` (the pairs' keys and their SSIM, mask-SSIM, LPIPS values).
    """
    proto = protocols.get(protocol)
    if keep_remainder:
        proto = replace(proto, whole_batches=None)
    wanted = parse_metrics(metrics)
    weights = dict(weights or {})
    matching = match_pairs(pred_dir, gt_dir, pairs, allow_missing=allow_missing, layout=pred_layout)
    layout = matching.layout
    items: list[Pair] = matching.pairs
    if only is not None:
        items = [p for p in items if pair_key(p) in only]
    if proto.whole_batches:  # GFLA's script walks the sorted generated files; its batches drop the rest
        items = sorted(items, key=lambda p: str(p.pred))
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

    is_model, fid_model, fid_digest = _inception_models(wanted, proto, weights, inception, dev)
    lpips_model = estimator = None
    if "lpips" in wanted:
        from posewarp.metrics.lpips import load_lpips

        lpips_model = load_lpips(_require("alexnet", weights), _require("lpips-alex", weights)).to(dev)
    if "pckh" in wanted:
        estimator = keypoint_estimator
        if estimator is None:
            from posewarp.preprocess.keypoints import KeypointEstimator

            estimator = KeypointEstimator(_require("openpose", weights), device=dev)

    real = None
    if "fid" in wanted and fid_real is not None:
        if Path(fid_real).suffix.lower() == ".npz":
            real = real_stats.from_npz(fid_real)
        else:
            real = real_stats.folder_statistics(fid_real, fid_model, proto, fid_digest, device=dev,
                                                batch_size=batch_size, cache_dir=fid_cache_dir,
                                                show_progress=show_progress)  # fmt: skip
    elif "fid" in wanted:  # default real set: the paired ground truths (each once), cached like any folder
        gt_files = list(dict.fromkeys(p.gt for p in items))
        gt_set = real_stats.RealSet(gt_dir, gt_files, proto, fid_digest, fid_cache_dir)
        real = gt_set.cached() or gt_set

    scorer = Scorer(proto, wanted, device=dev, is_model=is_model, fid_model=fid_model, lpips=lpips_model,
                    estimator=estimator, targets=targets, gt_features=not isinstance(real, tuple))  # fmt: skip
    with graceful(lambda: f"evaluation stopped after {scorer.count} of {n} pairs; nothing was written", immediate=True):
        for chunk in track(batches(items, batch_size), "evaluating", show=show_progress):
            preds = [layout.crop(read_metric_image(p.pred), p.pred) for p in chunk]
            scorer.add(chunk, preds, [read_metric_image(p.gt) for p in chunk])
    results, notes = scorer.results(real)
    if matching.missing:
        notes.insert(0, f"{len(matching.missing)} of {matching.expected} pairs have no generated image and were "
                        "not scored (--allow-missing)")  # fmt: skip
    for note in (matching.note, keypoint_note):
        if note:
            notes.append(note)
    notes += unused_inputs(wanted, weights, keypoints, fid_real)
    doc = {
        "protocol": proto.name,
        "settings": proto.describe(),
        "pred_dir": str(pred_dir),
        "gt_dir": str(gt_dir),
        "pred_layout": {"name": layout.name, "detected": matching.detected, "panels": layout.panels,
                        "source": layout.source},
        "pairs": n,
        "expected_pairs": matching.expected,
        "missing": {"count": len(matching.missing), "names": matching.missing[:MISSING_NAMES]},
        "device": str(dev),
        "metrics": results,
        "notes": notes,
    }
    if per_pair:
        doc["per_pair"] = {"keys": [pair_key(p) for p in items], **scorer.per_pair()}
    return doc
