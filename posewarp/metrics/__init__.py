"""Evaluation metrics of pose-guided person image synthesis: SSIM (+ mask-SSIM), Inception Score,
FID, LPIPS and PCKh under named protocols (``patn``, ``gfla``); see ``evaluate``."""

from posewarp.metrics.evaluate import METRICS, evaluate  # noqa: F401
from posewarp.metrics.protocols import PROTOCOLS  # noqa: F401
