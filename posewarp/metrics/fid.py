"""Frechet Inception Distance (Heusel et al. 2017) on 2048-d pool features, the pytorch-fid way
(GFLA's FID, reference/ecosystem.md section 1), with cached real-image statistics.

``FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))``; ``sqrtm`` of a near-singular product
is retried with ``eps`` added to both diagonals, and a tiny imaginary part from numerical error is
dropped (a large one is an error), as pytorch-fid does.

Real statistics are saved as ``.npz`` (``mu``, ``sigma``, like pytorch-fid's files) under
``$POSEWARP_HOME/fid-stats/`` keyed by the folder, the sha256 of every real image's bytes (with its
name), the sha256 of the network's weights and the protocol's input handling (``fingerprint.py``), so
a second run over the same training set skips the network, and other weights or edited images
never reuse stale statistics.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
from scipy import linalg

from posewarp.errors import PosewarpError
from posewarp.formats import atomic
from posewarp.formats.input_file import read_bytes
from posewarp.metrics.fingerprint import images_sha256


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (sample, ``N - 1``) covariance of ``(N, D)`` features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics of different sizes: {mu1.shape} vs {mu2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products (fewer images than dimensions) are expected
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma1)) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"matrix square root has an imaginary part of {np.abs(covmean.imag).max():.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def _check_shapes(data: bytes, path) -> None:
    """Refuse arrays whose headers promise more than FID statistics hold, before numpy allocates them."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in ("mu.npy", "sigma.npy"):
            with z.open(name) as member:
                fmt = np.lib.format
                version = fmt.read_magic(member)
                header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape = header(member)[0]
                if len(shape) > 2 or any(d > MAX_FEATURES for d in shape):
                    raise PosewarpError(f"{name[:-4]} has shape {shape}; FID statistics have at most "
                                        f"{MAX_FEATURES} features", path)  # fmt: skip


def posewarp_home() -> Path:
    return Path(os.environ.get("POSEWARP_HOME", Path.home() / ".cache" / "posewarp"))


def cache_key(folder: str | os.PathLike, files: list[Path], settings: dict) -> tuple[str, str]:
    """``(key, images_sha256)``: a digest of the folder, every file's name and content, and the feature
    settings (which must name the weights' sha256)."""
    images = images_sha256(folder, files)
    h = hashlib.sha256()
    h.update(json.dumps({"folder": str(Path(folder).resolve()), "settings": settings, "images": images},
                        sort_keys=True).encode())  # fmt: skip
    return h.hexdigest()[:24], images


def cache_path(key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    base = Path(cache_dir) if cache_dir is not None else posewarp_home() / "fid-stats"
    return base / f"{key}.npz"


def save_statistics(path: str | os.PathLike, mu: np.ndarray, sigma: np.ndarray, **meta) -> None:
    buf = io.BytesIO()
    np.savez(buf, mu=mu, sigma=sigma, meta=json.dumps(meta))
    atomic.write_bytes(path, buf.getvalue())


MAX_FEATURES = 8192  # feature dimension of FID statistics (Inception's pool3 has 2048)


def load_statistics(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``mu`` and ``sigma`` of a pytorch-fid style ``.npz`` file (a regular file; array headers checked for
    size before any array is read)."""
    data = read_bytes(path)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            if "mu" not in f or "sigma" not in f:
                raise PosewarpError("FID statistics file needs arrays 'mu' and 'sigma'", path)
            _check_shapes(data, path)
            mu, sigma = f["mu"].astype(np.float64), f["sigma"].astype(np.float64)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise PosewarpError(f"not a readable .npz file ({exc})", path) from None
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise PosewarpError(f"inconsistent FID statistics: mu {mu.shape}, sigma {sigma.shape}", path)
    return mu, sigma
