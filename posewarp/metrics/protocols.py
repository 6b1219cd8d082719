"""Named evaluation protocols: the per-metric choices each line of papers made, each named for the
script it reproduces (paper.md 4.1, reference/ecosystem.md section 1; the README's protocol table).

* ``patn`` (the default): PATN's ``tool/getMetrics_{market,fashion}.py`` as run with its pinned
  scikit-image 0.14.2 (PG2 and Def-GAN are of the same era and formula). SSIM ``skimage0.14`` (13-tap
  Gaussian, crop 5) after padding 256x176 images to 256x256 with 40 px of white (``addBounding``), IS on
  the padded images with the TF 2015-12-05 Inception graph's input handling (TF1 bilinear resize to 299,
  ``(x - 128) / 128``, softmax of the bias-free logits as the OpenAI ``inception_score.py``), 10 splits;
  mask-SSIM / mask-IS with ``produce_ma_mask`` (``metrics/pose_mask.py``). PATN reports no FID or LPIPS;
  those follow pytorch-fid and ``lpips`` here.
* ``patn-modern``: the same with scikit-image >= 0.15's SSIM (11-tap Gaussian): what running PATN's
  script today gives.
* ``gfla``: GFLA's ``script/metrics.py``: SSIM with a uniform 51x51 window on float32 images / 255 (plus
  ``ssim_256`` = the PATN formula), LPIPS AlexNet v0.1 averaged over the first ``N // 64 * 64`` pairs,
  FID on torchvision's ImageNet Inception v3 (``script/inception.py``: torchvision's blocks,
  ``transform_input`` on [0, 1] images, PyTorch bilinear resize) over the first ``N // 64 * 64`` images
  of each set (all of them below 64). ``keep_remainder`` scores every pair instead.
* ``gfla-modern``: GFLA's SSIM and LPIPS on every pair, FID with pytorch-fid (the TF 2015-12-05 weights)
  on every image: what the later papers that switched to pytorch-fid compute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from posewarp.errors import PosewarpError
from posewarp.metrics.ssim import GFLA_WIN51, SKIMAGE_014, WANG_GAUSS, SSIMVariant


@dataclass(frozen=True)
class InceptionInput:
    """How images reach the Inception network: the resize to 299 and the value scaling."""

    name: str
    resize: str  # "tf1-bilinear" (align_corners=False, no half-pixel centres) or "torch-bilinear"
    normalize: str  # "tf" = (x - 128) / 128 on 0..255, "fid" = 2 x - 1 on 0..1, "imagenet" = torchvision's
    # transform_input on x / 255 (applied before the resize, as GFLA divides by 255 first)
    model: str = "inception-fid"  # the registry file of the network: "inception-fid" or "inception-torchvision"


TF_GRAPH = InceptionInput(name="tf-2015-12-05-graph", resize="tf1-bilinear", normalize="tf")
PYTORCH_FID = InceptionInput(name="pytorch-fid", resize="torch-bilinear", normalize="fid")
GFLA_TORCHVISION = InceptionInput(name="gfla-torchvision-inception", resize="torch-bilinear", normalize="imagenet",
                                  model="inception-torchvision")  # fmt: skip


@dataclass(frozen=True)
class Protocol:
    name: str
    ssim: tuple[tuple[str, SSIMVariant], ...]  # (result key, variant); the first is "ssim"
    pad_256x176: bool  # pad 256x176 images to 256x256 with white for SSIM and IS (PATN)
    is_input: InceptionInput
    fid_input: InceptionInput
    is_splits: int = 10
    is_bias_free_logits: bool = True  # OpenAI/PATN IS multiplies pool3 by the softmax weights, no bias
    pad_bound: int = 40
    pckh_alpha: float = 0.5
    lpips: str = "alex-v0.1"
    whole_batches: int | None = None  # FID and LPIPS use only the first N // this * this (GFLA: 64)
    mask: str = "pg2-produce-ma-mask"

    def describe(self) -> dict:
        doc = asdict(self)
        doc["ssim"] = {key: variant.name for key, variant in self.ssim}
        return doc


PATN = Protocol(
    name="patn",
    ssim=(("ssim", SKIMAGE_014),),
    pad_256x176=True,
    is_input=TF_GRAPH,
    fid_input=PYTORCH_FID,
)

PATN_MODERN = replace(PATN, name="patn-modern", ssim=(("ssim", WANG_GAUSS),))

GFLA = Protocol(
    name="gfla",
    ssim=(("ssim", GFLA_WIN51), ("ssim_256", WANG_GAUSS)),
    pad_256x176=False,
    is_input=PYTORCH_FID,
    fid_input=GFLA_TORCHVISION,
    whole_batches=64,
)

GFLA_MODERN = replace(GFLA, name="gfla-modern", fid_input=PYTORCH_FID, whole_batches=None)

PROTOCOLS = {p.name: p for p in (PATN, PATN_MODERN, GFLA, GFLA_MODERN)}


def used(n: int, whole_batches: int | None) -> int:
    """How many of ``n`` images or pairs a script with ``whole_batches`` scores: GFLA's loops run over
    ``n // 64`` full batches of 64, and over all ``n`` when there are fewer than 64."""
    if whole_batches is None or n < whole_batches:
        return n
    return n // whole_batches * whole_batches


def get(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise PosewarpError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}") from None
