"""The one safe image reader of the project, atomic image writes and tensor conversions.

Any input (EXIF-rotated JPEG, greyscale, RGBA, 16-bit PNG) comes out as ``(H, W, 3)`` RGB uint8;
a truncated or non-image file, a FIFO or device, or a header over the size limits (``posewarp.limits``)
raises ``PosewarpError`` naming the file before any pixel is decoded.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from posewarp import limits
from posewarp.errors import PosewarpError
from posewarp.formats import atomic
from posewarp.formats.input_file import read_bytes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

# posewarp.limits checks every header (pixels and side ratio, configurable) before decoding, in place of
# PIL's fixed decompression-bomb threshold.
Image.MAX_IMAGE_PIXELS = None


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` (by extension, case-insensitive), sorted for a stable order.

    Anything with an image extension that is not a folder is listed, FIFOs, devices and broken links too,
    so that a batch job reports them as bad items instead of passing over them in silence."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PosewarpError("not a folder", folder)
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.suffix.lower() in IMAGE_EXTENSIONS and not p.is_dir())


def check_size(width: int, height: int, path: str | os.PathLike | None = None) -> None:
    """Refuse an image whose header asks for more pixels, or a longer strip, than ``posewarp.limits`` allow."""
    if width < 1 or height < 1:
        raise PosewarpError(f"empty image ({width}x{height})", path)
    most = limits.get("image_pixels")
    if width * height > most:
        raise PosewarpError(f"image is {width}x{height} = {width * height / 1e6:.1f} megapixels, over the limit of "
                            f"{most / 1e6:g} ({limits.hint('image_pixels')})", path)  # fmt: skip
    ratio, widest = max(width, height) / min(width, height), limits.get("image_aspect")
    if ratio > widest:
        raise PosewarpError(f"image is {width}x{height}, {ratio:.0f} times longer than wide, over the limit of "
                            f"{widest:g} ({limits.hint('image_aspect')})", path)  # fmt: skip


def open_checked(data: bytes, path: str | os.PathLike | None = None) -> Image.Image:
    """A PIL image of encoded bytes whose header passed :func:`check_size`; pixels are not decoded yet."""
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        reason = "not an image file" if isinstance(exc, UnidentifiedImageError) else f"unreadable image ({exc})"
        raise PosewarpError(reason, path) from None
    try:
        check_size(*img.size, path)
    except PosewarpError:
        img.close()
        raise
    return img


ALPHA = ("white", "drop")


def decode_image(data: bytes, path: str | os.PathLike | None = None, alpha: str = "white") -> np.ndarray:
    """Decode encoded image bytes to RGB uint8 ``(H, W, 3)``.

    ``alpha``: a transparent image is composited on white (``"white"``, for pictures of people fed to
    the networks) or its alpha channel is dropped and the stored colours kept (``"drop"``, what PIL's
    ``convert("RGB")`` in pytorch-fid and OpenCV's ``imread`` in ``lpips`` do: ``posewarp eval``)."""
    assert alpha in ALPHA, alpha
    with open_checked(data, path) as img:
        try:
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb8(img, alpha)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise PosewarpError(f"unreadable image ({exc})", path) from None


def read_image(path: str | os.PathLike, alpha: str = "white") -> np.ndarray:
    """Read any image file as RGB uint8 ``(H, W, 3)`` with EXIF orientation applied (regular files only,
    size-checked before decoding); ``alpha`` as in :func:`decode_image`."""
    data = read_bytes(path)
    if not data:
        raise PosewarpError("empty file", path)
    return decode_image(data, path, alpha)


def _to_rgb8(img: Image.Image, alpha: str = "white") -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if alpha == "white" and (img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    arr = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(arr, dtype=np.uint8)


WRITE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".webp": "WEBP"}


def image_format(suffix: str, path: str | os.PathLike | None = None) -> str:
    """The PIL format written for a file extension; anything else raises naming ``path``."""
    fmt = WRITE_FORMATS.get(suffix.lower())
    if fmt is None:
        raise PosewarpError(f"cannot write images with extension {suffix!r}; use one of {', '.join(WRITE_FORMATS)}",
                            path)  # fmt: skip
    return fmt


def check_output_name(path: str | os.PathLike | None, option: str, also: tuple[str, ...] = ()) -> None:
    """Before any work: an image output option (``--grid``, ``--out``) ends in an extension that can be written
    (or one of ``also``, e.g. ``.gif``); a usage error naming the option otherwise."""
    from posewarp.errors import UsageError

    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if suffix not in WRITE_FORMATS and suffix not in also:
        allowed = ", ".join((*WRITE_FORMATS, *also))
        raise UsageError(f"{option} must end in one of {allowed} (got {suffix or 'no extension'!r})", path)


def encode_image(rgb: np.ndarray, suffix: str = ".png", quality: int = 95) -> bytes:
    """Encode RGB uint8 ``(H, W, 3)`` (or ``(H, W)``) as PNG or JPEG bytes by file suffix."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise PosewarpError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
    fmt = image_format(suffix)
    buf = io.BytesIO()
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    Image.fromarray(rgb).save(buf, format=fmt, **options)
    return buf.getvalue()


def write_image(path: str | os.PathLike, rgb: np.ndarray, quality: int = 95) -> None:
    """Write an RGB uint8 image atomically; the format follows the extension."""
    atomic.write_bytes(path, encode_image(rgb, Path(path).suffix, quality))


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """RGB uint8 ``(H, W, 3)`` or ``(N, H, W, 3)`` to float ``(3, H, W)`` / ``(N, 3, H, W)`` in [-1, 1]."""
    t = torch.as_tensor(np.asarray(rgb)).float().div(127.5).sub(1.0)
    return t.movedim(-1, -3).contiguous()


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """Float ``(3, H, W)`` / ``(N, 3, H, W)`` in [-1, 1] to RGB uint8 ``(H, W, 3)`` / ``(N, H, W, 3)``."""
    t = t.detach().float().clamp(-1, 1).add(1).mul(127.5).round()
    return t.movedim(-3, -1).to(torch.uint8).cpu().numpy()


def header_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(H, W)`` as :func:`read_image` will return it (EXIF rotation applied), from the header only; None
    when the file cannot be opened as an image (reading it will then report why)."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            rotated = img.getexif().get(0x0112) in (5, 6, 7, 8)  # orientations that swap width and height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return (w, h) if rotated else (h, w)
