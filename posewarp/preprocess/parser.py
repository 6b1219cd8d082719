"""The human parser pipeline: SCHP's letterbox, normalisation, fusion logits, inverse affine and argmax.

With the same weights the labels equal SCHP's ``simple_extractor.py`` (reference/preprocessing.md C.3): BGR
input, an affine letterbox of the whole image into the square network input (black border), ImageNet mean/std
in BGR order, the fusion head upsampled bilinearly (``align_corners=True``) to the input size, every channel
warped back to the image with the inverse affine (``cv2.warpAffine``, linear, border 0) and the argmax.
Beyond it (C.4): flip test-time augmentation with the left/right channels swapped, several scales, batches of
images, and autocast on CUDA (``amp=False`` keeps the reference's float32 numbers). For speed the checkpoint is
loaded in an inference form that computes the same function (batch norms folded into the convolutions, the
pyramid pooling's bottleneck applied before upsampling: :func:`build_network`), which runs as
:mod:`posewarp.preprocess.runtime` measured fastest, optionally compiled; photos above the working size are
downscaled first and their scores upscaled (:mod:`posewarp.preprocess.working_size`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from posewarp.devices import resolve_device
from posewarp.errors import PosewarpError
from posewarp.formats import parsing
from posewarp.preprocess import working_size as WS
from posewarp.preprocess.choices import DEFAULT_PARSER_DATASET, PARSE_BATCH
from posewarp.preprocess.letterbox import letterbox, letterbox_affine, unletterbox
from posewarp.preprocess.runtime import NetworkRunner
from posewarp.tensor_file import read_tensor_file

# SCHP's pretrained_settings: ImageNet statistics in BGR order, input range [0, 1].
MEAN_BGR = (0.406, 0.456, 0.485)
STD_BGR = (0.225, 0.224, 0.229)


@dataclass(frozen=True)
class ParserDataset:
    """What a checkpoint was trained on: its labels, input size, flip swap and registry name."""

    name: str
    labels: tuple[str, ...]
    input_size: int
    flip_permutation: tuple[int, ...]
    weights: str

    @property
    def num_classes(self) -> int:
        return len(self.labels)


ATR_LABELS = (
    "background", "hat", "hair", "sunglasses", "upper-clothes", "skirt", "pants", "dress", "belt", "left-shoe",
    "right-shoe", "face", "left-leg", "right-leg", "left-arm", "right-arm", "bag", "scarf",
)  # fmt: skip
PASCAL_LABELS = ("background", "head", "torso", "upper-arms", "lower-arms", "upper-legs", "lower-legs")


def _swap(n: int, pairs: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    perm = list(range(n))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return tuple(perm)


DATASETS = {
    "lip": ParserDataset("lip", parsing.LABEL_SETS["lip"], 473, tuple(parsing.FLIP_PERMUTATION.tolist()), "schp-lip"),
    "atr": ParserDataset("atr", ATR_LABELS, 512, _swap(18, [(9, 10), (12, 13), (14, 15)]), "schp-atr"),
    "pascal": ParserDataset("pascal", PASCAL_LABELS, 512, tuple(range(7)), "schp-pascal"),
}


def get_dataset(name: str) -> ParserDataset:
    if name not in DATASETS:
        raise PosewarpError(f"unknown parser dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def normalize(bgr: torch.Tensor) -> torch.Tensor:
    """``(N, S, S, 3)`` uint8 BGR to ``(N, 3, S, S)`` float: ToTensor (/255) then Normalize, as SCHP."""
    x = bgr.permute(0, 3, 1, 2).contiguous().float().div(255)  # NCHW memory, like ToTensor
    mean = torch.tensor(MEAN_BGR, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD_BGR, device=x.device).view(1, 3, 1, 1)
    return x.sub(mean).div(std)


# ---------------------------------------------------------------- checkpoint loading


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """An SCHP checkpoint's tensors, ``module.`` prefix stripped (``{'state_dict': ...}`` or a bare dict)."""
    ckpt = read_tensor_file(path)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PosewarpError("not an SCHP checkpoint (expected a dict of tensors under 'state_dict')", path)
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_network(path: str | os.PathLike, dataset: ParserDataset, *, inference: bool = False) -> nn.Module:
    """Build :class:`SCHPNet` for ``dataset`` and load the checkpoint at ``path`` strictly (``inference``: then
    turn it into its faster inference form, see :func:`build_network`)."""
    return build_network(read_state_dict(path), dataset, path, inference=inference)


def build_network(
    state: dict[str, torch.Tensor],
    dataset: ParserDataset,
    path: str | os.PathLike | None = None,
    *,
    inference: bool = False,
) -> nn.Module:
    """:class:`SCHPNet` in eval mode holding ``state`` (keys without ``module.``); a misfit says what does not fit.

    ``inference``: the same function computed faster, no longer in the checkpoint's key layout: batch norms folded
    into the convolutions (:mod:`~posewarp.preprocess.bn_folding`) and the pyramid pooling's bottleneck applied
    before its priors are upsampled (:mod:`~posewarp.preprocess.pyramid_factorized`).
    """
    from posewarp.preprocess.schp_net import SCHPNet

    head = state.get("fushion.3.weight")
    if head is not None and head.ndim == 4 and head.shape[0] != dataset.num_classes:
        guess = [d.name for d in DATASETS.values() if d.num_classes == head.shape[0]]
        hint = f"; it looks like a {guess[0]} checkpoint (--dataset {guess[0]})" if guess else ""
        raise PosewarpError(
            f"checkpoint predicts {head.shape[0]} classes but dataset {dataset.name!r} has "
            f"{dataset.num_classes}{hint}",
            path,
        )
    with torch.device("meta"):  # no random init of 67M numbers that the checkpoint overwrites anyway
        net = SCHPNet(num_classes=dataset.num_classes)
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected and not k.endswith("num_batches_tracked")]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{len(keys)} {what} (e.g. {', '.join(keys[:3])})")
        raise PosewarpError(f"does not fit the SCHP network: {'; '.join(parts)}", path)
    net = net.to_empty(device="cpu")
    for buffer_name, buffer in net.named_buffers():
        if buffer_name.endswith("num_batches_tracked"):  # not in the checkpoint (non-persistent)
            buffer.zero_()
    net.load_state_dict(state, strict=True)  # a copy: the checkpoint's (memory-mapped) tensors can then go
    if inference:
        from posewarp.preprocess.bn_folding import fold_batch_norms
        from posewarp.preprocess.pyramid_factorized import FactorizedPyramidPooling

        fold_batch_norms(net)
        net.context_encoding = FactorizedPyramidPooling(net.context_encoding)
    return net.eval()


# ---------------------------------------------------------------- the parser


def default_batch_size(device: torch.device) -> int:
    """``choices.PARSE_BATCH`` for the device."""
    return PARSE_BATCH["cuda" if device.type == "cuda" else "cpu"]


class HumanParser:
    """SCHP-compatible human parser: ``parser(rgb) -> (H, W) uint8 labels``.

    ``weights`` defaults to the registry's file for ``dataset`` (``posewarp weights download schp-lip``), loaded in
    its inference form (norms folded, pyramid factorized; :func:`build_network`). ``network`` replaces the SCHP
    network by any module with the same output structure (tests, other backbones), used as given. ``input_size``
    overrides the dataset's square input (473 for LIP); smaller is faster and coarser. ``compile``: run the network
    through ``torch.compile`` (falls back to eager when that fails). ``max_pixels``: the working size (see
    :mod:`posewarp.preprocess.working_size`).
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        dataset: str = DEFAULT_PARSER_DATASET,
        device: str | torch.device = "auto",
        flip: bool = False,
        scales: Sequence[float] = (1.0,),
        amp: bool = True,
        *,
        input_size: int | None = None,
        network: nn.Module | None = None,
        compile: bool = False,
        max_pixels: int | None = None,
    ):
        self.dataset = get_dataset(dataset)
        self.device = resolve_device(device)
        self.flip = bool(flip)
        self.scales = tuple(float(s) for s in scales)
        if not self.scales or min(self.scales) <= 0:
            raise PosewarpError(f"scales must be positive numbers, got {scales!r}")
        self.input_size = int(input_size or self.dataset.input_size)
        if self.input_size < 16:
            raise PosewarpError(f"input size must be at least 16 pixels, got {self.input_size}")
        self.max_pixels = max_pixels
        if network is None:
            from posewarp import weights as registry

            network = load_network(registry.require(self.dataset.weights, weights), self.dataset, inference=True)
        self.runner = NetworkRunner(network, self.device, amp=amp, compile=compile)
        self._flip_perm = torch.as_tensor(self.dataset.flip_permutation, device=self.device)

    @property
    def network(self) -> nn.Module:
        return self.runner.net

    @property
    def labels(self) -> tuple[str, ...]:
        return self.dataset.labels

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.batch([rgb])[0]

    def logits(self, rgb: np.ndarray) -> np.ndarray:
        """``(H, W, C)`` float32 logits at the image's size (SCHP's ``--logits``; argmax gives the labels)."""
        return self.batch_logits([rgb])[0]

    def batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Labels ``(H, W)`` uint8 for several RGB images of any sizes, in one forward pass."""
        return [WS.upscaled_argmax(scores, rgb.shape[:2]) for scores, rgb in zip(self.working_logits(images), images)]

    def batch_logits(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``(H, W, C)`` float32 logits at each image's size (bilinear from the working size for large photos)."""
        return [WS.upscale(scores, rgb.shape[:2]) for scores, rgb in zip(self.working_logits(images), images)]

    def working_logits(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``(h, w, C)`` float32 logits at each image's working size (its own size unless it is a large photo)."""
        if not images:
            return []
        size = self.input_size
        inputs, inverses, shapes = [], [], []
        for rgb in images:
            rgb = np.asarray(rgb)
            if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise PosewarpError(f"the parser expects (H, W, 3) uint8 RGB images, got {rgb.dtype} {rgb.shape}")
            rgb = WS.downscale(rgb, self.max_pixels)
            forward, inverse = letterbox_affine(rgb.shape[0], rgb.shape[1], size)
            inputs.append(letterbox(np.ascontiguousarray(rgb[:, :, ::-1]), forward, size))
            inverses.append(inverse)
            shapes.append(rgb.shape[:2])
        x = normalize(torch.from_numpy(np.stack(inputs)).to(self.device))
        scores = self.letterboxed_logits(x).permute(0, 2, 3, 1).cpu().numpy()
        return [unletterbox(scores[i], inverses[i], h, w) for i, (h, w) in enumerate(shapes)]

    @torch.inference_mode()
    def letterboxed_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Fusion logits ``(N, C, S, S)`` float32 for normalised inputs ``(N, 3, S, S)``, averaged over TTA."""
        size = x.shape[-2:]
        total = None
        for scale in self.scales:
            xs = x if scale == 1.0 else F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=True)
            batch = torch.cat([xs, xs.flip(-1)]) if self.flip else xs
            out = self.runner(batch)[0][-1].float()
            if out.shape[1] != self.dataset.num_classes:
                raise PosewarpError(f"network gave {out.shape[1]} channels, expected {self.dataset.num_classes}")
            if out.shape[-2:] != size:
                out = F.interpolate(out, size=size, mode="bilinear", align_corners=True)
            if self.flip:
                plain, mirrored = out.chunk(2)
                out = (plain + mirrored[:, self._flip_perm].flip(-1)) * 0.5
            total = out if total is None else total + out
        return total if len(self.scales) == 1 else total / len(self.scales)


# ---------------------------------------------------------------- folder to folder (`posewarp parse`)


def label_names(dataset: str = DEFAULT_PARSER_DATASET, label_set: str | None = None) -> tuple[str, ...]:
    """Names of the label ids: LIP's own, or ``label_set="cihp"`` (id 10 torso-skin instead of jumpsuits)."""
    spec = get_dataset(dataset)
    if label_set is None:
        return spec.labels
    if spec.name != "lip":
        raise PosewarpError(f"label sets (lip, cihp) name the 20 LIP labels; dataset {spec.name!r} has its own")
    if label_set not in parsing.LABEL_SETS:
        raise PosewarpError(f"unknown label set {label_set!r}; known: {', '.join(parsing.LABEL_SETS)}")
    return parsing.LABEL_SETS[label_set]


def write_logits(path: Path, scores: np.ndarray, image_hw: tuple[int, int]) -> None:
    """Working-size logits as ``(H, W, C)`` float32 ``.npy`` at the image's size (SCHP's ``--logits`` layout),
    written atomically through a memory map so that a large photo's logits never sit in memory whole."""
    from posewarp.formats import atomic

    with atomic.atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(*image_hw, scores.shape[2]))
        WS.upscale(scores, image_hw, out=out)
        out.flush()
        del out


# Compiling the parser took 19-53 s (warm/cold inductor cache) on a 2-core CPU and saved about 0.1 CPU s per
# image at 473x473 (benchmarks/parse.py): ``compile=None`` compiles on the CPU when a job has this many images.
COMPILE_AUTO_IMAGES = 1000


def parse_folder(
    image_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
    dataset: str = DEFAULT_PARSER_DATASET,
    device: str = "auto",
    flip: bool = False,
    scales: Sequence[float] = (1.0,),
    amp: bool = True,
    input_size: int | None = None,
    batch_size: int | None = None,
    compile: bool | None = None,
    threads: int | None = None,
    logits: bool = False,
    overlay_dir: str | os.PathLike | None = None,
    label_set: str | None = None,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    network: nn.Module | None = None,
):
    """``posewarp parse``: a palette label PNG ``OUTDIR/<relative path>.png`` (pixel values = label ids, the
    image's size) for every image of a folder; ``logits`` adds ``<stem>.npy`` (H, W, C float32) beside it,
    ``overlay_dir`` colour overlays. Images already parsed are skipped unless ``overwrite``; unreadable images
    are reported and skipped. ``compile`` None compiles on the CPU for jobs of :data:`COMPILE_AUTO_IMAGES` images
    or more; ``threads``: see :mod:`posewarp.threads`. Returns the :class:`~posewarp.preprocess.batch.BatchReport`;
    its counts give the share of image pixels per label (percent, named by ``label_set``) for the labels seen,
    its ``runtime`` how the network ran.
    """
    from posewarp.formats import clashes, draw, images, outputs
    from posewarp.preprocess import batch as B
    from posewarp.threads import cpu_threads

    names = label_names(dataset, label_set)
    image_dir, out_dir = Path(image_dir), Path(out_dir)
    overlay_dir = None if overlay_dir is None else Path(overlay_dir)
    B.outside(out_dir, image_dir, "--out")
    B.outside(overlay_dir, image_dir, "--overlay")
    if overlay_dir is not None:
        outputs.check_folder(overlay_dir)
    places = clashes.Places()
    if weights is not None:
        places.read(weights, "--weights", option=True)
    also = [(overlay_dir, ".png", "--overlay"), (out_dir if logits else None, ".npy", "--logits")]
    todo, skipped = B.plan_folder(image_dir, out_dir, ".png", shard=shard, overwrite=overwrite, also=also,
                                  places=places)  # fmt: skip
    report = B.BatchReport(skipped=skipped)
    if not todo:
        return report
    if compile is None:
        compile = resolve_device(device).type == "cpu" and len(todo) >= COMPILE_AUTO_IMAGES
    pixels = np.zeros(len(names), np.int64)
    with cpu_threads(threads) as thread_note:
        if network is None:
            from posewarp import weights as registry

            weights = registry.require(get_dataset(dataset).weights, weights, option="--weights")
        parser = HumanParser(
            weights, dataset, device=device, flip=flip, scales=scales, amp=amp, input_size=input_size,
            network=network, compile=compile,
        )  # fmt: skip

        def process(items: list, rgbs: list[np.ndarray]) -> None:
            for item, rgb, scores in zip(items, rgbs, parser.working_logits(rgbs)):
                labels = WS.upscaled_argmax(scores, rgb.shape[:2])
                if logits:
                    write_logits(B.output_path(out_dir, item.name, ".npy"), scores, rgb.shape[:2])
                if overlay_dir is not None:
                    images.write_image(B.output_path(overlay_dir, item.name, ".png"), draw.overlay(rgb, labels))
                parsing.write_label_png(item.output, labels)  # last: its presence marks the image as done
                pixels[:] += np.bincount(labels.ravel(), minlength=len(names))

        batch_size = default_batch_size(parser.device) if batch_size is None else batch_size
        B.run_network("parse", todo, process, runner=parser.runner, thread_note=thread_note, batch_size=batch_size,
                      report=report, show_progress=show_progress)  # fmt: skip
    if pixels.sum():
        share = 100.0 * pixels / pixels.sum()
        for i in np.argsort(-share, kind="stable"):
            if pixels[i]:
                report.counts[f"{names[i]} (% of pixels)"] = round(float(share[i]), 2)
    return report
