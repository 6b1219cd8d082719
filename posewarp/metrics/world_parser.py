"""A parser trained in-tool on the synthetic world: a small U-Net from an RGB image to the 20 parsing labels.

It is *not* the SCHP parser (``posewarp.preprocess``) and it has seen no real photograph: it is trained here,
in a few CPU minutes, on a world's training split, and it is what the offline measures of
``posewarp.metrics.world_measures`` run on (issue 20, deliverable 2): the output-parsing mIoU of generated
images, and the LPIPS- and FID-like distances on its features. Name its numbers as "computed with a parser
trained in-tool on the synthetic world", never as a published metric.

``WorldParser`` is a pure module (images ``(N, 3, H, W)`` in [-1, 1] -> ``(N, 20, H, W)`` logits, any H and W);
``features(x)`` gives the encoder's maps, one per level. ``train_world_parser`` trains one (seeded,
deterministic on CPU), with mirrored copies (left/right labels swapped) and colour jitter so that it reads
shapes rather than exact colours. Checkpoints are plain dicts (``kind`` "world-parser", ``format`` 1, ``config``,
``weights``, ``trained_on``), written atomically and loaded with ``weights_only=True``;
``fit_or_load_world_parser`` trains once per training set and settings and caches the result.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, parsing

KIND = "world-parser"
FORMAT = 1
CHANNELS = (16, 32, 64, 64)
# Measured with these defaults on 180 renders at 128x64 (identities 0-29 x poses 0-5 of world seed 0), one
# thread on a busy 2-core machine: 315 process CPU seconds; on identities 30-37 x poses 0-5 held out, mIoU 0.36
# over the 20 labels (pixel accuracy 0.88; predicting all background: 0.05 / 0.73), 0.62 over the "pise8"
# labels, where left and right merge. Longer training gained little in trials: at 64x32, 800 steps gave 0.39
# held out against 0.36 for 400; higher learning rates, BatchNorm, unweighted loss and stronger colour
# augmentation (channel permutation, per-part gains) did no better.
TRAIN_DEFAULTS = {"steps": 600, "seed": 0, "batch_size": 16, "lr": 3e-3, "augment": True}
MAX_CHANNELS = 1024  # bounds on a checkpoint's config, checked before a network is built from it
MAX_LEVELS = 8


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution, GroupNorm (per image, so a batch never changes one image's result), ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.GroupNorm(min(4, out_channels), out_channels),
        nn.ReLU(inplace=True),
    )


class WorldParser(nn.Module):
    """U-Net: ``len(channels)`` encoder levels (two 3x3 blocks each, 2x2 max-pooling between levels), a decoder
    that upsamples bilinearly to each skip's size and fuses it with one block, and a 1x1 head to the labels."""

    def __init__(self, *, channels: tuple[int, ...] = CHANNELS, num_labels: int = parsing.NUM_LABELS):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1 or num_labels < 2:
            raise ValueError(f"need at least one level of positive width and 2 labels, got {channels}, {num_labels}")
        self.config = {"channels": list(channels), "num_labels": int(num_labels)}
        ins = (3, *channels[:-1])
        self.encoder = nn.ModuleList(nn.Sequential(_block(i, o), _block(o, o)) for i, o in zip(ins, channels))
        self.decoder = nn.ModuleList(
            _block(channels[k + 1] + channels[k], channels[k]) for k in reversed(range(len(channels) - 1))
        )
        self.head = nn.Conv2d(channels[0], num_labels, 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's output at every level, finest first: ``(N, channels[k], H / 2^k, W / 2^k)`` (floored)."""
        assert x.ndim == 4 and x.shape[1] == 3, f"expected (N, 3, H, W) images, got {tuple(x.shape)}"
        out = []
        for k, level in enumerate(self.encoder):
            x = level(F.max_pool2d(x, 2) if k else x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [-1, 1] -> ``(N, num_labels, H, W)`` logits."""
        feats = self.features(x)
        y = feats[-1]
        for skip, fuse in zip(reversed(feats[:-1]), self.decoder):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = fuse(torch.cat([y, skip], dim=1))
        return self.head(y)


class WorldFeatures(nn.Module):
    """A trained ``WorldParser``'s encoder as a frozen feature trunk for a perceptual loss (``model.vgg: world``):
    ``forward(x)`` is ``parser.features(x)``, every level weighted alike (``tap_weights``, summing to 1).
    Offline it stands where the ImageNet VGG19 stands on real photos; name a model trained with it as such."""

    def __init__(self, parser: WorldParser):
        super().__init__()
        self.parser = parser.eval().requires_grad_(False)
        levels = len(parser.config["channels"])
        self.tap_weights = (1.0 / levels,) * levels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.parser.features(x)


def as_images(images) -> torch.Tensor:
    """uint8 ``(N, H, W, 3)`` (numpy or torch) -> float32 ``(N, 3, H, W)`` in [-1, 1]."""
    t = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if t.ndim != 4 or t.shape[-1] != 3 or t.dtype != torch.uint8:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got {t.dtype} {tuple(t.shape)}")
    return t.permute(0, 3, 1, 2).float().div(127.5).sub(1.0).contiguous()


def as_labels(labels, num_labels: int = parsing.NUM_LABELS) -> torch.Tensor:
    """``(N, H, W)`` integer label ids (numpy or torch) -> int64, checked to lie in ``0..num_labels-1``."""
    t = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    if t.ndim != 3 or t.dtype.is_floating_point or t.dtype == torch.bool:
        raise ValueError(f"expected integer labels (N, H, W), got {t.dtype} {tuple(t.shape)}")
    t = t.long()
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_labels):
        raise ValueError(f"label ids must lie in 0..{num_labels - 1}, found {int(t.min())}..{int(t.max())}")
    return t


def class_weights(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Per-class loss weights ``1 / sqrt(frequency)``, mean 1 over the classes present (absent ones get 0), so
    that small parts (hands, shoes, face) count for the mIoU without drowning the background."""
    counts = torch.bincount(labels.reshape(-1), minlength=num_labels).double()
    w = torch.where(counts > 0, counts.clamp(min=1).rsqrt(), torch.zeros_like(counts))
    return (w / w[counts > 0].mean()).float()


def augment_batch(x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror half the batch (swapping left/right labels, ``parsing.flip``) and jitter colours per image:
    contrast x0.7-1.3 about the image mean, brightness +-0.2, per-channel gain x0.8-1.2 (all in [-1, 1] units)."""
    n = x.shape[0]
    mirror = torch.rand(n, generator=g) < 0.5
    x = torch.where(mirror.view(n, 1, 1, 1), x.flip(-1), x)
    y = torch.where(mirror.view(n, 1, 1), parsing.flip(y), y)
    contrast = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=g)
    bright = 0.4 * torch.rand(n, 1, 1, 1, generator=g) - 0.2
    gain = 0.8 + 0.4 * torch.rand(n, 3, 1, 1, generator=g)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + bright) * gain
    return x.clamp(-1.0, 1.0), y


def fingerprint(images: torch.Tensor, labels: torch.Tensor, settings: dict) -> str:
    """sha256 of the training images, labels and settings: what a cached parser must match to be reused."""
    h = hashlib.sha256()
    head = {"images": list(images.shape), "labels": list(labels.shape), **settings}
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(images.numpy().tobytes())
    h.update(labels.numpy().astype(np.uint8).tobytes())
    return h.hexdigest()


def training_settings(*, steps, seed, batch_size, lr, augment, channels) -> dict:
    """The settings a trained parser records (and a cached one must match), as plain JSON values."""
    return {"steps": int(steps), "seed": int(seed), "batch_size": int(batch_size), "lr": float(lr),
            "augment": bool(augment), "channels": [int(c) for c in channels]}  # fmt: skip


def train_world_parser(
    images,
    labels,
    *,
    steps: int = TRAIN_DEFAULTS["steps"],
    seed: int = TRAIN_DEFAULTS["seed"],
    batch_size: int = TRAIN_DEFAULTS["batch_size"],
    lr: float = TRAIN_DEFAULTS["lr"],
    augment: bool = TRAIN_DEFAULTS["augment"],
    channels: tuple[int, ...] = CHANNELS,
    show_progress: bool = False,
) -> WorldParser:
    """Train a ``WorldParser`` on uint8 ``(N, H, W, 3)`` images and ``(N, H, W)`` labels; returns it in eval mode.

    Adam with a cosine learning-rate decay, class-weighted cross-entropy (``class_weights``), batches drawn
    from seeded per-epoch shuffles; weights, batches and augmentation all come from ``seed`` and the global
    RNG is left untouched, so two runs on one CPU (same thread count) give the same weights. The returned
    module carries ``trained_on`` (settings, image count and size, ``fingerprint``) for ``save_world_parser``.
    """
    from posewarp.console import track

    x_all, y_all = as_images(images), as_labels(labels)
    if x_all.shape[0] != y_all.shape[0] or x_all.shape[-2:] != y_all.shape[-2:]:
        raise ValueError(f"images {tuple(x_all.shape)} and labels {tuple(y_all.shape)} do not match")
    if steps < 1 or batch_size < 1 or len(x_all) < 1:
        raise ValueError(f"need steps >= 1, batch_size >= 1 and at least one image, got {steps}, {batch_size}")
    settings = training_settings(steps=steps, seed=seed, batch_size=batch_size, lr=lr, augment=augment,
                                 channels=channels)  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = WorldParser(channels=channels)
    g = torch.Generator().manual_seed(int(seed) + 1)
    weights = class_weights(y_all, net.config["num_labels"])
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    order, pos = torch.randperm(len(x_all), generator=g), 0
    net.train()
    for step in track(range(steps), "training the world parser", show=show_progress):
        if pos + batch_size > len(order):
            order, pos = torch.randperm(len(x_all), generator=g), 0
        idx = order[pos : pos + batch_size]
        pos += batch_size
        x, y = x_all[idx], y_all[idx]
        if augment:
            x, y = augment_batch(x, y, g)
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))
        loss = F.cross_entropy(net(x), y, weight=weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()
    net.trained_on = {"images": int(len(x_all)), "size": list(x_all.shape[-2:]), **settings,
                      "fingerprint": fingerprint(x_all, y_all, settings)}  # fmt: skip
    return net


def save_world_parser(path: str | os.PathLike, net: WorldParser, trained_on: dict | None = None) -> None:
    """Write ``net`` as a plain-dict checkpoint (atomically); ``trained_on`` (plain strings, numbers, lists and
    dicts, so that ``weights_only`` loading accepts them) adds to what training recorded."""
    doc = {
        "kind": KIND,
        "format": FORMAT,
        "config": dict(net.config),
        "weights": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        "trained_on": {**getattr(net, "trained_on", {}), **(trained_on or {})},
    }
    with atomic.atomic_path(path, suffix=".pt") as tmp:
        torch.save(doc, tmp)


def _check_config(config: object, path) -> dict:
    """A checkpoint's config, refused unless it describes a network of sane size."""
    ok = isinstance(config, dict) and isinstance(config.get("channels"), list)
    ok = ok and isinstance(config.get("num_labels"), int)
    if ok:
        ch = config["channels"]
        ok = 1 <= len(ch) <= MAX_LEVELS and all(isinstance(c, int) and 1 <= c <= MAX_CHANNELS for c in ch)
        ok = ok and 2 <= config["num_labels"] <= 256
    if not ok:
        raise PosewarpError(f"world-parser checkpoint has a bad config: {config!r}"[:200], path)
    return {"channels": tuple(config["channels"]), "num_labels": config["num_labels"]}


def load_world_parser(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> WorldParser:
    """A ``WorldParser`` (eval mode, ``trained_on`` restored) from ``save_world_parser``'s file; anything else
    (another kind of checkpoint, another format version, mismatched weights) is one ``PosewarpError``."""
    from posewarp.tensor_file import read_tensor_file

    doc = read_tensor_file(path, map_location=map_location)
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind != KIND:
        raise PosewarpError(f"not a parser trained in-tool on the synthetic world (kind {str(kind)[:40]!r}, "
                            f"expected {KIND!r})", path)  # fmt: skip
    if doc.get("format") != FORMAT:
        raise PosewarpError(f"world-parser checkpoint format {doc.get('format')!r}; this posewarp reads {FORMAT}", path)
    net = WorldParser(**_check_config(doc.get("config"), path))
    try:
        net.load_state_dict(doc.get("weights"))
    except (RuntimeError, TypeError, AttributeError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise PosewarpError(f"world-parser weights do not fit its config ({reason})", path) from None
    trained_on = doc.get("trained_on")
    net.trained_on = trained_on if isinstance(trained_on, dict) else {}
    return net.eval()


def fit_or_load_world_parser(cache_path: str | os.PathLike, images, labels, **train_kwargs) -> WorldParser:
    """The parser cached at ``cache_path`` if it was trained on exactly these images, labels and settings
    (its ``trained_on["fingerprint"]``); otherwise train one with ``train_world_parser`` and cache it there."""
    given = {k: v for k, v in train_kwargs.items() if k != "show_progress"}
    settings = training_settings(**{**TRAIN_DEFAULTS, "channels": CHANNELS, **given})
    want = fingerprint(as_images(images), as_labels(labels), settings)
    if Path(cache_path).is_file():
        try:
            net = load_world_parser(cache_path)
        except PosewarpError:
            net = None
        if net is not None and net.trained_on.get("fingerprint") == want:
            return net
    net = train_world_parser(images, labels, **train_kwargs)
    save_world_parser(cache_path, net)
    return net
