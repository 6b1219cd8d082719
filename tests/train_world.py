"""Shared helpers for tests/test_train_*.py: a tiny packed synthetic world and a tiny training config.

Imported by those tests (pytest puts tests/ on sys.path); not a test module itself.
"""

from __future__ import annotations

from pathlib import Path

# Small enough for a few CPU steps per second, big enough to exercise every part.
TINY = {
    "model.ngf": 8, "model.ndf": 8, "model.n_blocks": 1, "model.n_downsample": 2, "model.d_layers": 2,
    "model.matcher_width": 8, "model.matcher_feature_size": 6,
    "data.batch_size": 4, "log_every": 1, "val_every": 1000, "sample_every": 1000, "snapshot_every": 1000,
    "val_batches": 1,
}  # fmt: skip


def make_pack(root: Path, *, identities: int = 4, poses: int = 3, size=(32, 16), seed: int = 0) -> Path:
    """``identities`` synthetic people x ``poses``, split by identity (1 of 4 in test), packed to HDF5."""
    from posewarp.data import pack
    from posewarp.synth import generate

    world = root / "world"
    generate(world, identities=identities, poses_per_identity=poses, size=size, seed=seed, test_fraction=0.25,
             show_progress=False)
    out = root / "world.h5"
    pack(world / "images", world / "keypoints", world / "parsing",
         [world / "pairs-train.csv", world / "pairs-test.csv"], out, show_progress=False)
    return out


def tiny_config(stage: int, data: Path, extra: dict | None = None):
    from posewarp.config import resolve

    return resolve(stage, "tiny", overrides={**TINY, "data.path": str(data), **(extra or {})})

