"""Named evaluation protocols: the per-metric choices each line of papers made (paper.md 4.1,
reference/ecosystem.md section 1).

* ``patn`` (PG2 / PATN / Def-GAN, the default): SSIM ``wang-gauss`` after padding 256x176 images to
  256x256 with 40 px of white (PATN's ``addBounding``), IS on the padded images with the TF
  2015-12-05 Inception graph's input handling (TF1 bilinear resize to 299, ``(x - 128) / 128``,
  softmax of the bias-free logits as in the OpenAI ``inception_score.py``), 10 splits. PATN reports
  no FID or LPIPS; for those it uses GFLA's choices.
* ``gfla`` (GFLA / PISE / DPTN / PIDM tables): SSIM with a uniform 51x51 window on float images
  (plus ``ssim_256`` = the PATN formula), FID from pytorch-fid's 2048-d pool features (PyTorch
  bilinear resize to 299, ``2x - 1``), LPIPS AlexNet v0.1 on [-1, 1] images, no padding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from posewarp.errors import PosewarpError
from posewarp.metrics.ssim import GFLA_WIN51, WANG_GAUSS, SSIMVariant


@dataclass(frozen=True)
class InceptionInput:
    """How images reach the Inception network: the resize to 299 and the value scaling."""

    name: str
    resize: str  # "tf1-bilinear" (align_corners=False, no half-pixel centres) or "torch-bilinear"
    normalize: str  # "tf" = (x - 128) / 128 on 0..255, "fid" = 2 x - 1 on 0..1


TF_GRAPH = InceptionInput(name="tf-2015-12-05-graph", resize="tf1-bilinear", normalize="tf")
PYTORCH_FID = InceptionInput(name="pytorch-fid", resize="torch-bilinear", normalize="fid")


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

    def describe(self) -> dict:
        doc = asdict(self)
        doc["ssim"] = {key: variant.name for key, variant in self.ssim}
        return doc


PATN = Protocol(
    name="patn",
    ssim=(("ssim", WANG_GAUSS),),
    pad_256x176=True,
    is_input=TF_GRAPH,
    fid_input=PYTORCH_FID,
)

GFLA = Protocol(
    name="gfla",
    ssim=(("ssim", GFLA_WIN51), ("ssim_256", WANG_GAUSS)),
    pad_256x176=False,
    is_input=PYTORCH_FID,
    fid_input=PYTORCH_FID,
)

PROTOCOLS = {p.name: p for p in (PATN, GFLA)}


def get(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise PosewarpError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}") from None
