"""Evaluation metrics of pose-guided person image synthesis: SSIM (+ mask-SSIM), Inception Score,
FID, LPIPS and PCKh under named protocols (``patn``, ``gfla``); see ``posewarp.metrics.evaluate``.

The package itself imports nothing heavy: ``names`` lists the metrics and protocols for the CLI."""
