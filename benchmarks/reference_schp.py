"""The baseline of benchmarks/parse.py: SCHP's ``simple_extractor.py`` per image, as its documented rules read.

Written from /work/shared/reference/preprocessing.md C.3 (not copied): ``cv2.imread`` (BGR), the box
``[0, 0, w-1, h-1]`` turned into centre and square scale, the 3-point affine to 473x473 (``cv2.warpAffine``,
linear, black border), ``ToTensor`` + ``Normalize`` (BGR means/stds), the network under ``torch.no_grad`` in
contiguous NCHW with its batch norms unfolded (the compiled InPlaceABN applies them as separate passes),
``nn.Upsample`` (bilinear, align_corners) of the fusion output to 473x473, the inverse affine channel by channel,
``argmax`` and a palette PNG. The network holds the same weights as posewarp's; its norms compute InPlaceABN's
formula (:class:`~posewarp.preprocess.schp_net.ActivatedBatchNorm2d`).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision import transforms

INPUT_SIZE = 473
TRANSFORM = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize(mean=[0.406, 0.456, 0.485], std=[0.225, 0.224, 0.229])]
)


def affine(center: np.ndarray, scale: np.ndarray, size: int, inv: bool) -> np.ndarray:
    src, dst = np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([0, scale[0] * -0.5], np.float32)
    dst[0] = [(size - 1) * 0.5, (size - 1) * 0.5]
    dst[1] = dst[0] + np.array([0, (size - 1) * -0.5], np.float32)
    for pts in (src, dst):
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]], np.float32)
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def palette(num_classes: int) -> list[int]:
    """The VOC bit-interleave palette SCHP writes its PNGs with."""
    out = [0] * (num_classes * 3)
    for j in range(num_classes):
        lab, i = j, 0
        while lab:
            for c in range(3):
                out[j * 3 + c] |= ((lab >> c) & 1) << (7 - i)
            i += 1
            lab >>= 3
    return out


def extract_array(net: torch.nn.Module, bgr: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(labels (H, W) uint8, logits (H, W, C) float32)`` of a BGR uint8 image."""
    h, w = bgr.shape[:2]
    bw, bh = w - 1, h - 1
    center = np.array([bw * 0.5, bh * 0.5], np.float32)
    scale = np.array([max(bw, bh)] * 2, np.float32)
    inp = cv2.warpAffine(bgr, affine(center, scale, size, False), (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))  # fmt: skip
    with torch.no_grad():
        output = net(TRANSFORM(inp).unsqueeze(0))
        up = torch.nn.Upsample(size=(size, size), mode="bilinear", align_corners=True)(output[0][-1][0].unsqueeze(0))
    logits = up.squeeze().permute(1, 2, 0).numpy()
    trans = affine(center, scale, size, True)
    warped = [
        cv2.warpAffine(logits[:, :, i], trans, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=0)  # fmt: skip
        for i in range(logits.shape[2])
    ]
    logits = np.stack(warped, axis=2)
    return np.argmax(logits, axis=2).astype(np.uint8), logits


def extract(net: torch.nn.Module, path: str, out_png: str | None = None, size: int = INPUT_SIZE):
    """:func:`extract_array` of an image file (``cv2.imread``); writes the palette PNG when asked."""
    labels, logits = extract_array(net, cv2.imread(str(path), cv2.IMREAD_COLOR), size)
    if out_png is not None:
        img = Image.fromarray(labels)
        img.putpalette(palette(logits.shape[2]))
        img.save(out_png)
    return labels, logits
