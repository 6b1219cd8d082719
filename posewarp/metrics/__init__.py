"""Evaluation metrics of pose-guided person image synthesis: SSIM (+ mask-SSIM), Inception Score,
FID, LPIPS and PCKh under protocols named for the scripts they reproduce (``patn``, ``patn-modern``,
``gfla``, ``gfla-modern``); see ``posewarp.metrics.evaluate`` for one method and
``posewarp.metrics.compare`` for several side by side (with the floors of ``floors.py``). Offline measures
computed with a parser trained in-tool on the synthetic world (output-parsing mIoU, world-LPIPS, world-FID)
and the ghost error are in ``world_parser`` and ``world_measures``.

The package itself imports nothing heavy: ``names`` lists the metrics, protocols and layouts for the CLI."""
