"""The registry of pretrained files, their checked download, and the lookup every command uses.

Design rules (DESIGN.md "Conventions"): nothing downloads implicitly; ``posewarp weights download
NAME`` fetches a file into ``$POSEWARP_HOME`` (default ``~/.cache/posewarp``), resumes a partial
``.part`` file with an HTTP Range request (the ``.part`` is kept after a network failure or a short read,
never followed if it is a link), checks size and sha256, and renames it into place atomically (a
mismatch deletes the ``.part`` and leaves nothing behind; the fetch itself is ``posewarp.download``). A missing
file makes :func:`require` raise :class:`WeightsMissingError` naming the command to run, the expected path and
the calling command's ways around it; an explicit ``--weights PATH`` always wins. File facts:
reference/preprocessing.md A.4 (and C.7).

To add a file, add one entry to ``REGISTRY`` (size/sha256 ``None`` when not known: such a file is
then only checked for existence, and ``posewarp weights list`` says so).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
from dataclasses import dataclass
from pathlib import Path

from posewarp.errors import PosewarpError, WeightsMissingError


@dataclass(frozen=True)
class WeightFile:
    name: str
    filename: str
    size: int | None
    sha256: str | None
    urls: tuple[str, ...]
    description: str
    source: str
    sha256_prefix: str | None = None  # what the publisher gives when no full sha256 is known (torch hub names)


REGISTRY: dict[str, WeightFile] = {
    "openpose": WeightFile(
        name="openpose",
        filename="body_pose_model.pth",
        size=209_267_595,
        sha256="25a948c16078b0f08e236bda51a385d855ef4c153598947c28c0d47ed94bb746",
        urls=(
            "https://huggingface.co/lllyasviel/Annotators/resolve/main/body_pose_model.pth",
            "https://huggingface.co/lllyasviel/ControlNet/resolve/main/annotator/ckpts/body_pose_model.pth",
        ),
        description="OpenPose COCO-18 body keypoints (VGG-19 front, 6 PAF/heatmap stages)",
        source="CMU pose_iter_440000.caffemodel converted by Hzzone/pytorch-openpose",
    ),
    # SCHP human parsers (reference/preprocessing.md C.7); the authors' originals are on Google Drive only.
    "schp-lip": WeightFile(
        name="schp-lip",
        filename="exp-schp-201908261155-lip.pth",
        size=267_449_349,
        sha256="24fa3254ceeb74c8435458994a64b522fb439a3635b7b86ff470457e0413da00",
        urls=(
            "https://huggingface.co/ApacheOne/ComfyUI-human-parser_models_ATR_LIP_Pascal/resolve/main/exp-schp-201908261155-lip.pth",
            "https://huggingface.co/franciszzj/Leffa/resolve/main/schp/exp-schp-201908261155-lip.pth",
        ),
        description="SCHP human parser, LIP 20 labels (posewarp parse); "
        "authors' Google Drive id 1k4dllHpu0bdx38J7H28rVVLpU-kOHmnH",
        source="GoGoDuck912/Self-Correction-Human-Parsing (Li et al., TPAMI 2020), AugmentCE2P ResNet-101",
    ),
    "schp-atr": WeightFile(
        name="schp-atr",
        filename="exp-schp-201908301523-atr.pth",
        size=267_445_237,
        sha256="e9d7c91ce3b4e7133df56b599fc817b533e3439c5e8d282a59126d2fda339a2a",
        urls=(
            "https://huggingface.co/ApacheOne/ComfyUI-human-parser_models_ATR_LIP_Pascal/resolve/main/exp-schp-201908301523-atr.pth",
            "https://huggingface.co/franciszzj/Leffa/resolve/main/schp/exp-schp-201908301523-atr.pth",
        ),
        description="SCHP human parser, ATR 18 labels (posewarp parse --dataset atr); "
        "authors' Google Drive id 1ruJg4lqR_jgQPj-9K0PP-L2vJERYOxLP",
        source="GoGoDuck912/Self-Correction-Human-Parsing (Li et al., TPAMI 2020), AugmentCE2P ResNet-101",
    ),
    "schp-pascal": WeightFile(
        name="schp-pascal",
        filename="exp-schp-201908270938-pascal-person-part.pth",
        size=267_422_621,
        sha256="3b03d343c39fb0696f75d45c44c67b2fc23f5d0bf0925a82c0465e415799fa85",
        urls=("https://huggingface.co/ApacheOne/ComfyUI-human-parser_models_ATR_LIP_Pascal/resolve/main/exp-schp-201908270938-pascal-person-part.pth",),
        description="SCHP human parser, Pascal-Person-Part 7 labels (posewarp parse --dataset pascal); "
        "authors' Google Drive id 1E5YwNKW2VOEayK9mWCS3Kpsxf-3z04ZE",
        source="GoGoDuck912/Self-Correction-Human-Parsing (Li et al., TPAMI 2020), AugmentCE2P ResNet-101",
    ),
    # Metric networks (posewarp eval). Full checksums not known here; the torch-hub style names carry the first
    # 8 hex digits of each file's sha256 as their publishers give them (6726825d, 7be5be79), which are checked
    # (as torch.hub's check_hash does); every file without a full sha256 is also checked to be a loadable
    # checkpoint holding tensors before it is installed.
    "inception-fid": WeightFile(
        name="inception-fid",
        filename="pt_inception-2015-12-05-6726825d.pth",
        size=None,
        sha256=None,
        urls=("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",),
        description="Inception v3 of FID/IS (TF graph 2015-12-05, 2048-d pool3, 1008 classes)",
        source="TensorFlow inception-2015-12-05.tgz ported by mseitzer/pytorch-fid",
        sha256_prefix="6726825d",
    ),
    "inception-torchvision": WeightFile(
        name="inception-torchvision",
        filename="inception_v3_google-0cc3c7bd.pth",
        size=None,
        sha256=None,
        urls=("https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",),
        description="torchvision's ImageNet Inception v3: the FID network of GFLA's script/metrics.py "
        "(eval --protocol gfla); GFLA-era torchvision fetched it as inception_v3_google-1a9a5a14.pth",
        source="torchvision (inception_v3 IMAGENET1K_V1, ported from TensorFlow's 2016 checkpoint)",
        sha256_prefix="0cc3c7bd",
    ),
    "alexnet": WeightFile(
        name="alexnet",
        filename="alexnet-owt-7be5be79.pth",
        size=None,
        sha256=None,
        urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",),
        description="AlexNet ImageNet weights, the LPIPS trunk (features only)",
        source="torchvision",
        sha256_prefix="7be5be79",
    ),
    "lpips-alex": WeightFile(
        name="lpips-alex",
        filename="lpips-v0.1-alex.pth",
        size=None,
        sha256=None,
        urls=("https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v0.1/alex.pth",),
        description="LPIPS v0.1 linear layers for AlexNet (lin0..lin4)",
        source="richzhang/PerceptualSimilarity lpips/weights/v0.1/alex.pth",
    ),
    # Stage II networks (posewarp.nn.vgg). Size and sha256 as published in many independent download logs
    # and registries (the names carry the sha256 prefix); not re-hashed here (no network).
    "vgg19": WeightFile(
        name="vgg19",
        filename="vgg19-dcbb9e9d.pth",
        size=574_673_361,
        sha256="dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44",
        urls=("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",),
        description="VGG19 ImageNet weights: the Stage II perceptual loss (relu1_1..relu5_1)",
        source="torchvision",
    ),
    "vgg16": WeightFile(
        name="vgg16",
        filename="vgg16-397923af.pth",
        size=553_433_881,
        sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
        urls=("https://download.pytorch.org/models/vgg16-397923af.pth",),
        description="VGG16 ImageNet weights: the geometric matcher's feature extractor (to pool4)",
        source="torchvision",
    ),
}

CHUNK = 1 << 20


def weights_home() -> Path:
    """Where pretrained files live: ``$POSEWARP_HOME`` or ``~/.cache/posewarp``."""
    return Path(os.environ.get("POSEWARP_HOME") or "~/.cache/posewarp").expanduser()


def entry(name: str) -> WeightFile:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise PosewarpError(f"unknown weights {name!r}; known: {known} (see `posewarp weights list`)") from None


def expected_path(name: str) -> Path:
    return weights_home() / entry(name).filename


def require(name: str, override: str | os.PathLike | None = None, *, option: str | None = None,
            alternatives: tuple[str, ...] = ()) -> Path:
    """The file to load: ``override`` when given (it must exist), else the downloaded registry file.

    A missing file raises the one ``WeightsMissingError`` message: the ``posewarp weights download NAME`` to run
    and the expected path, then the calling command's own ways around it, which only it knows: ``option`` (its
    ``--option PATH`` that uses another file) and ``alternatives`` (``"pass --vgg PATH"``: each said as "or ...").
    """
    if override is not None:
        path = Path(override).expanduser()
        if not path.is_file():
            raise PosewarpError("weights file not found", path)
        return path
    path = expected_path(name)
    if path.is_file():
        return path
    if path.parent.exists() and not path.parent.is_dir():
        raise PosewarpError("POSEWARP_HOME (where pretrained files live) is not a folder", path.parent)
    ways = [f"{option} PATH uses another file"] if option else []
    ways += [f"or {way}" for way in alternatives]
    hint = f"; {', '.join(ways)}" if ways else ""
    raise WeightsMissingError(
        f"pretrained weights {name!r} are missing: run `posewarp weights download {name}` (expected at {path}){hint}"
    )


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(spec: WeightFile, path: Path) -> tuple[bool, str]:
    """Size then sha256 against the registry; unknown values are not checked."""
    size = path.stat().st_size
    if spec.size is not None and size != spec.size:
        return False, f"size {size:,} bytes, expected {spec.size:,}"
    if spec.sha256 is not None:
        got = sha256_of(path)
        if got != spec.sha256.lower():
            return False, f"sha256 {got}, expected {spec.sha256}"
        return True, "ok (size and sha256 match)"
    if spec.sha256_prefix is not None:
        got = sha256_of(path)
        if not got.startswith(spec.sha256_prefix.lower()):
            return False, f"sha256 {got}, expected one starting {spec.sha256_prefix} (the publisher's prefix)"
        return True, f"ok (sha256 starts with the publisher's {spec.sha256_prefix}; no full checksum known)"
    return True, "present (no checksum known: checked to be a loadable checkpoint when downloaded)"


def verify(name: str) -> tuple[bool, str]:
    """``(ok, message)`` for the downloaded file of ``name``."""
    spec, path = entry(name), expected_path(name)
    if not path.is_file():
        return False, f"missing: run `posewarp weights download {name}` (expected at {path})"
    return check_file(spec, path)


def download(name: str, *, url: str | None = None, show_progress: bool = True) -> Path:
    """Fetch ``name`` into :func:`weights_home` (resuming a ``.part``), check it, rename it into place.

    ``url`` replaces the registry's URLs (a mirror, or a ``file://`` path). A present file that verifies is
    kept as is. Network failures and short reads keep the ``.part`` for the next try; a body longer than
    announced, or a size or sha256 mismatch, deletes it and raises ``PosewarpError`` (details in
    ``posewarp.download``).
    """
    import http.client

    from posewarp.formats import outputs
    from posewarp.interrupt import graceful
    from posewarp.download import TooLong, fetch, part_size

    spec = entry(name)
    final = expected_path(name)
    if final.is_file() and check_file(spec, final)[0]:
        return final
    outputs.check_folder(final.parent)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise outputs.os_error(exc, final.parent) from None
    part = final.with_name(final.name + ".part")
    urls = (url,) if url else spec.urls
    if not urls:
        raise PosewarpError(f"no download URL known for {name!r}; pass --url")
    errors = []
    note = lambda: f"{part_size(part):,} bytes are kept in {part}; run the same command again to resume"  # noqa: E731
    with graceful(note, immediate=True):
        for candidate in urls:
            try:
                fetch(candidate, part, spec.size, spec.name, show_progress)
                break
            except TooLong as exc:
                part.unlink(missing_ok=True)
                raise PosewarpError(f"download of {name!r} refused: {exc}; deleted the partial file", candidate) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                errors.append(f"{candidate}: {getattr(exc, 'reason', None) or exc}")
        else:
            kept = " (partial file kept: run the same command again to resume)" if part.exists() else ""
            raise PosewarpError(f"download of {name!r} failed{kept}: " + "; ".join(errors))
    ok, message = check_file(spec, part)
    if not ok:
        part.unlink(missing_ok=True)
        raise PosewarpError(f"downloaded file for {name!r} is wrong ({message}); deleted it", url or urls[0])
    if spec.sha256 is None:  # no full checksum: at least a checkpoint, not an HTML error page or a foreign file
        from posewarp.tensor_file import check_checkpoint

        try:
            check_checkpoint(part)
        except PosewarpError as exc:
            part.unlink(missing_ok=True)
            raise PosewarpError(f"downloaded file for {name!r} {exc.message}; deleted it", url or urls[0]) from None
    try:
        os.replace(part, final)
    except OSError as exc:
        raise outputs.os_error(exc, final) from None
    return final
