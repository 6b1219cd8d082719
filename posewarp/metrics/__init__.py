"""Evaluation metrics of pose-guided person image synthesis: SSIM (+ mask-SSIM), Inception Score,
FID, LPIPS and PCKh under named protocols (``patn``, ``gfla``); see ``posewarp.metrics.evaluate``. Offline
measures computed with a parser trained in-tool on the synthetic world (output-parsing mIoU, world-LPIPS,
world-FID) and the ghost error are in ``world_parser`` and ``world_measures``.

The package itself imports nothing heavy: ``names`` lists the metrics and protocols for the CLI."""
