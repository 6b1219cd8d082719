"""Training: run dirs, resumable state, DDP, the one GAN step, the one loop, Stage I and Stage II.

``runner.train`` and ``runner.configure`` are its entry points; the config and its presets are ``posewarp.config``,
snapshots ``posewarp.snapshots``. Importing this package imports torch; the CLI imports it lazily inside
``posewarp train``.
"""

from posewarp.training.runner import TrainResult, configure, train

__all__ = ["TrainResult", "configure", "train"]
