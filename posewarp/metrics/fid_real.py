"""Where FID's real-image statistics come from, and the cache that keeps them between runs.

Three origins, named in ``eval --json`` under ``metrics.fid.real.origin``: ``"npz"`` (a pytorch-fid
style file the user passed), ``"cache"`` (an entry of ``$POSEWARP_HOME/fid-stats`` whose key matches the
real images' content and the network's weights, ``fid.cache_key``), or ``"computed"`` (this run; then
saved to the cache). A protocol with ``whole_batches`` (GFLA) uses only the first ``N // 64 * 64``
real images in sorted name order, as its script's batching does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from posewarp.console import track
from posewarp.errors import OutputError, PosewarpError
from posewarp.formats.images import list_images
from posewarp.interrupt import graceful
from posewarp.metrics import fid as FID
from posewarp.metrics import protocols
from posewarp.metrics.features import batches, inception_outputs, read_metric_image


def from_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict]:
    mu, sigma = FID.load_statistics(path)
    return mu, sigma, {"source": str(path), "count": None, "origin": "npz", "cached": True}


class RealSet:
    """The real images of one FID: which files, and the cache entry their statistics belong to."""

    def __init__(self, folder, files: list[Path], proto: protocols.Protocol, weights_sha256: str, cache_dir=None):
        folder = Path(folder)
        if len(files) < 2:
            raise PosewarpError("FID needs at least 2 real images", folder)
        files = sorted(files, key=str)
        self.files = files[: protocols.used(len(files), proto.whole_batches)]
        settings = {"input": proto.fid_input.name, "weights_sha256": weights_sha256,
                    "whole_batches": proto.whole_batches}  # fmt: skip
        key, images = FID.cache_key(folder, self.files, settings)
        self.path = FID.cache_path(key, cache_dir)
        self.info = {"source": str(folder), "count": len(self.files), "dropped": len(files) - len(self.files),
                     "weights_sha256": weights_sha256, "images_sha256": images, "cache": str(self.path)}  # fmt: skip

    def cached(self) -> tuple[np.ndarray, np.ndarray, dict] | None:
        if not self.path.is_file():
            return None
        mu, sigma = FID.load_statistics(self.path)
        return mu, sigma, {**self.info, "origin": "cache", "cached": True}

    def save(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """Statistics of ``features`` (one row per file of ``self.files``), saved for the next run."""
        mu, sigma = FID.statistics(features)
        try:
            FID.save_statistics(self.path, mu, sigma, **self.info)
            info = {**self.info, "origin": "computed", "cached": False}
        except OutputError as exc:  # an unwritable cache is no reason to lose the evaluation
            from posewarp.console import err

            err.print(f"[yellow]note: FID statistics not cached: {exc}[/yellow]", highlight=False)
            info = {**self.info, "origin": "computed", "cached": False, "cache": None}
        return mu, sigma, info


def folder_statistics(folder, model, proto: protocols.Protocol, weights_sha256: str, *, device="cpu",
                      batch_size=32, cache_dir=None, show_progress=True) -> tuple[np.ndarray, np.ndarray, dict]:  # fmt: skip
    """FID statistics of the images in ``folder`` (cached; see the module docstring)."""
    real = RealSet(folder, list_images(folder), proto, weights_sha256, cache_dir)
    hit = real.cached()
    if hit is not None:
        return hit
    feats = []
    with graceful(lambda: "evaluation stopped while reading the real images; nothing was written", immediate=True):
        for chunk in track(batches(real.files, batch_size), "FID real images", show=show_progress):
            feats.append(inception_outputs(model, [read_metric_image(f) for f in chunk], proto.fid_input, device)[0])
    return real.save(np.concatenate(feats))
