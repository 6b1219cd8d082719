"""OpenPose COCO-18 keypoint estimation: the reference port's preprocessing, multi-scale, batching, AMP.

Reproduces Hzzone/pytorch-openpose ``Body.__call__`` (reference/preprocessing.md A.5), with the
decoding of :mod:`posewarp.preprocess.openpose_decode`:

1. RGB in, converted to **BGR**; per scale ``s`` the image is resized by ``s * 368 / H`` (height based)
   with ``cv2.INTER_CUBIC`` and padded at the bottom/right with 128 to a multiple of 8;
2. network input ``pixel / 256 - 0.5`` (float32, not /255), output PAFs (38) and heatmaps (19, with the
   port's final ReLU);
3. each map is resized x8 (cubic), cropped to the unpadded size and resized (cubic) to the image size;
4. maps are averaged over scales in float64 (with one scale they are kept in float32: the same values, half
   the memory; the decoder converts each map to float64 before smoothing, as the port's accumulator does).

Single scale (the default, ``scales=(0.5,)`` as in the port) gives the port's maps exactly. With
several scales the port computes ``heatmap_avg += heatmap_avg + heatmap / n``, which doubles the running
sum at every scale (so earlier scales weigh more and the maps exceed 1); here heatmaps and PAFs are both
the plain mean ``sum(maps) / n`` -- the correction the CMU default ``--scales 0.5,1,1.5,2`` needs.

Beyond the port: images whose padded inputs have the same size go through the network together
(``batch_size``; different sizes are never padded further, since more padding would change the
network's answers near the border; a folder is sorted by that size first), CUDA runs under autocast (bf16
where supported, else fp16) when ``amp`` is on, channels_last. The CPU computes in float32 in the port's
contiguous NCHW layout, so that its maps equal the port's bit for bit: channels_last was about 15% faster on an
AVX-512 CPU, but its kernels round differently (1e-6 of the maps) and the peak decision is discontinuous
(a maximum on a near-plateau moved by a pixel in benchmarks/keypoints.py). Batches of several images may
round differently in the last bits too. Photos above
:data:`~posewarp.preprocess.working_size.MAX_WORK_PIXELS` are downscaled first and their keypoints scaled
back (:mod:`posewarp.preprocess.working_size`), which keeps memory bounded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from posewarp.devices import resolve_device
from posewarp.errors import PosewarpError
from posewarp.formats import clashes, draw, images, outputs
from posewarp.formats import keypoints as K
from posewarp.preprocess import batch as B
from posewarp.preprocess import working_size as WS
from posewarp.preprocess.choices import ANNOTATED_PERSON, DEFAULT_ANNOTATED_PERSON, KEYPOINTS_BATCH
from posewarp.preprocess.openpose_decode import decode_people
from posewarp.preprocess.openpose_net import STRIDE, load_body_pose_weights
from posewarp.preprocess.runtime import NetworkRunner

BOX_SIZE = 368
PAD_VALUE = 128
DEFAULT_SCALES = (0.5,)


def prepare(rgb: np.ndarray, scale: float) -> tuple[np.ndarray, tuple[int, int]]:
    """RGB uint8 image -> padded BGR network input ``(3, Hp, Wp)`` float32, and the unpadded size."""
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    factor = scale * BOX_SIZE / rgb.shape[0]
    resized = cv2.resize(bgr, (0, 0), fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    h, w = resized.shape[:2]
    pad_h, pad_w = (STRIDE - h % STRIDE) % STRIDE, (STRIDE - w % STRIDE) % STRIDE
    padded = cv2.copyMakeBorder(resized, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return np.transpose(padded.astype(np.float32), (2, 0, 1)) / 256 - 0.5, (h, w)


def input_shape(height: int, width: int, scale: float) -> tuple[int, int]:
    """The padded network input ``(Hp, Wp)`` :func:`prepare` makes of a ``height`` x ``width`` image."""
    factor = scale * BOX_SIZE / height
    h, w = round(height * factor), round(width * factor)
    return h + (STRIDE - h % STRIDE) % STRIDE, w + (STRIDE - w % STRIDE) % STRIDE


def upsample(maps: np.ndarray, size: tuple[int, int], image_hw: tuple[int, int]) -> np.ndarray:
    """Network maps ``(C, h, w)`` -> ``(H, W, C)`` at the image size, the port's two cubic resizes."""
    hwc = np.transpose(maps, (1, 2, 0))
    big = cv2.resize(hwc, (0, 0), fx=STRIDE, fy=STRIDE, interpolation=cv2.INTER_CUBIC)
    big = big[: size[0], : size[1], :]
    out = cv2.resize(big, (image_hw[1], image_hw[0]), interpolation=cv2.INTER_CUBIC)
    return out if out.ndim == 3 else out[:, :, None]


def default_batch_size(device: torch.device) -> int:
    """``choices.KEYPOINTS_BATCH`` for the device."""
    return KEYPOINTS_BATCH["cuda" if device.type == "cuda" else "cpu"]


class KeypointEstimator:
    """``estimator(rgb) -> (P, 18, 3)`` people (x, y, confidence in image pixels), best first.

    ``batch_size`` None: :func:`default_batch_size`. ``compile``: run the network through ``torch.compile``
    (falls back to eager when that fails). ``max_pixels``: the working size (see
    :mod:`posewarp.preprocess.working_size`).
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | torch.device = "auto",
        scales: Sequence[float] = DEFAULT_SCALES,
        amp: bool = True,
        *,
        batch_size: int | None = None,
        net: torch.nn.Module | None = None,
        compile: bool = False,
        max_pixels: int | None = None,
    ):
        from posewarp import weights as W

        scales = tuple(float(s) for s in scales)
        if not scales or any(not np.isfinite(s) or s <= 0 for s in scales):
            raise PosewarpError(f"scales must be positive numbers, got {scales}")
        self.scales = scales
        self.device = resolve_device(device)
        self.batch_size = default_batch_size(self.device) if batch_size is None else max(1, int(batch_size))
        self.max_pixels = max_pixels
        if net is None:
            net = load_body_pose_weights(W.require("openpose", weights))
        exact = torch.contiguous_format if self.device.type == "cpu" else None  # the port's layout (see above)
        self.runner = NetworkRunner(net, self.device, amp=amp, compile=compile, memory_format=exact)

    @property
    def net(self) -> torch.nn.Module:
        return self.runner.net

    def _forward(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        paf, heat = self.runner(torch.from_numpy(inputs))
        return paf.float().cpu().numpy(), heat.float().cpu().numpy()

    def sort_key(self, height: int, width: int) -> tuple[int, int]:
        """Images with equal keys share network calls (the first scale's input at the working size)."""
        return input_shape(*WS.working_size(height, width, self.max_pixels), self.scales[0])

    def maps(self, rgbs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per image the scale-averaged ``(heatmaps (H, W, 19), pafs (H, W, 38))`` (no downscaling); float64,
        or float32 with a single scale (the same values: the port adds them to zeros in float64)."""
        for rgb in rgbs:
            _check(rgb)
        n = len(self.scales)
        if n == 1:
            return self._maps_at(rgbs, self.scales[0])
        heat_avg = [np.zeros((*rgb.shape[:2], 19)) for rgb in rgbs]
        paf_avg = [np.zeros((*rgb.shape[:2], 38)) for rgb in rgbs]
        for scale in self.scales:
            for i, (heat, paf) in enumerate(self._maps_at(rgbs, scale)):
                heat_avg[i] += heat / n
                paf_avg[i] += paf / n
        return list(zip(heat_avg, paf_avg))

    def _maps_at(self, rgbs: list[np.ndarray], scale: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """float32 ``(heatmaps, pafs)`` at one scale, brought to each image's size; same-size inputs batched."""
        out: list = [None] * len(rgbs)
        prepared = [prepare(rgb, scale) for rgb in rgbs]
        groups: dict[tuple, list[int]] = {}
        for idx, (inp, _) in enumerate(prepared):
            groups.setdefault(inp.shape, []).append(idx)
        for members in groups.values():
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                pafs, heats = self._forward(np.stack([prepared[i][0] for i in chunk]))
                for k, i in enumerate(chunk):
                    size, image_hw = prepared[i][1], rgbs[i].shape[:2]
                    out[i] = (upsample(heats[k], size, image_hw), upsample(pafs[k], size, image_hw))
        return out

    def batch(self, rgbs: list[np.ndarray]) -> list[np.ndarray]:
        """``(P, 18, 3)`` people for each image (photos above the working size are downscaled first)."""
        for rgb in rgbs:
            _check(rgb)
        work = [WS.downscale(rgb, self.max_pixels) for rgb in rgbs]
        people = [decode_people(heat, paf, heat.shape[0]) for heat, paf in self.maps(work)]
        return [WS.scale_points(p, w.shape[:2], r.shape[:2]) for p, w, r in zip(people, work, rgbs)]

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.batch([rgb])[0]


def _check(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise PosewarpError(f"expected an RGB uint8 (H, W, 3) image, got {rgb.dtype} {rgb.shape}")


def estimate_folder(
    image_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    scales: Sequence[float] = DEFAULT_SCALES,
    amp: bool = True,
    batch_size: int | None = None,
    compile: bool = False,
    threads: int | None = None,
    annotations: str | os.PathLike | None = None,
    overlay_dir: str | os.PathLike | None = None,
    person: str = DEFAULT_ANNOTATED_PERSON,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    net: torch.nn.Module | None = None,
) -> B.BatchReport:
    """``posewarp keypoints``: OpenPose JSON (all people, best first) for every image of a folder.

    Writes ``OUTDIR/<relative path>.json``; skips images already done unless ``overwrite``;
    ``overlay_dir`` gets skeleton drawings; ``annotations`` a PATN CSV with one person per image
    (``person``: ``best`` = the decoder's highest total score, ``largest`` = biggest keypoint box) for
    every image of the folder that has a JSON in ``out_dir`` (so the last of several shards writes
    the complete file). ``threads``: see :mod:`posewarp.threads`; the report's ``runtime`` says how the
    network ran.
    """
    from posewarp.threads import cpu_threads

    if person not in ANNOTATED_PERSON:
        raise PosewarpError(f"unknown person selection {person!r}; use {' or '.join(map(repr, ANNOTATED_PERSON))}")
    image_dir, out_dir = Path(image_dir), Path(out_dir)
    places = clashes.Places()
    if annotations is not None:
        outputs.check_file(annotations)
        places.write(annotations, "--annotations", option=True)
    if weights is not None:
        places.read(weights, "--weights", option=True)
    if overlay_dir is not None:
        outputs.check_folder(overlay_dir)
        B.outside(Path(overlay_dir), image_dir, "--overlay")
    todo, skipped = B.plan_folder(image_dir, out_dir, ".json", shard=shard, overwrite=overwrite,
                                  also=[(overlay_dir, ".png", "--overlay")], places=places)  # fmt: skip
    report = B.BatchReport(skipped=skipped, counts={"people found": 0})
    if not todo:
        return _annotate(report, image_dir, out_dir, annotations, person)
    with cpu_threads(threads) as thread_note:
        if net is None:
            from posewarp import weights as W

            weights = W.require("openpose", weights, option="--weights")
        estimator = KeypointEstimator(
            weights, device=device, scales=scales, amp=amp, batch_size=batch_size, net=net, compile=compile
        )
        if estimator.batch_size > 1:  # same-size images next to each other, so that they share network calls
            todo = B.order_by(todo, lambda item: estimator.sort_key(*(images.header_size(item.image) or (1, 1))))

        def process(items: list[B.BatchItem], rgbs: list[np.ndarray]) -> None:
            for item, rgb, people in zip(items, rgbs, estimator.batch(rgbs)):
                if overlay_dir is not None:
                    picture = draw.skeleton(rgb, people) if len(people) else rgb
                    images.write_image(B.output_path(overlay_dir, item.name, ".png"), picture)
                K.write_openpose_json(item.output, people)  # last: its presence marks the image as done
                report.count("people found", len(people))

        B.run_network("keypoints", todo, process, runner=estimator.runner, thread_note=thread_note,
                      batch_size=estimator.batch_size, report=report, show_progress=show_progress)  # fmt: skip
    return _annotate(report, image_dir, out_dir, annotations, person)


def _annotate(report: B.BatchReport, image_dir: Path, out_dir: Path, annotations, person: str) -> B.BatchReport:
    if annotations is not None:
        left_out: list[tuple[str, str]] = []
        write_annotations(image_dir, out_dir, annotations, person, left_out)
        report.failed.extend(left_out)
    return report


def write_annotations(image_dir: Path, out_dir: Path, csv_path: str | os.PathLike,
                      person: str = DEFAULT_ANNOTATED_PERSON, left_out: list[tuple[str, str]] | None = None) -> int:
    """PATN CSV (one person per image, name = relative image path) from the JSON files; returns rows. An image
    whose name a UTF-8 CSV cannot hold (a file name that is not UTF-8) is left out and added to ``left_out``."""
    rows = {}
    for image in images.list_images(image_dir):
        name = image.relative_to(image_dir).as_posix()
        json_path = B.output_path(out_dir, name, ".json")
        if not json_path.is_file():
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(name).decode("utf-8", "backslashreplace")
            if left_out is not None:
                left_out.append((shown, "left out of --annotations: the file name is not UTF-8, which the CSV needs"))
            continue
        people = K.read_openpose_json(json_path)
        if person == "best" or len(people) == 0:
            rows[name] = people[0] if len(people) else K.empty()
        else:
            rows[name] = K.select_person(people, person)
    K.write_patn_csv(csv_path, rows)
    return len(rows)
