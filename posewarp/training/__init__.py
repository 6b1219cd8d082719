"""Training: config presets, run dirs, checkpoints, DDP/AMP plumbing and the one loop shared by both stages.

Importing this package imports torch; the CLI imports it lazily inside ``posewarp train``.
"""

from posewarp.config import PRESETS, TrainConfig, preset, resolve
from posewarp.snapshots import load_snapshot
from posewarp.training.runner import TrainResult, configure, train

__all__ = ["PRESETS", "TrainConfig", "TrainResult", "configure", "load_snapshot", "preset", "resolve", "train"]
