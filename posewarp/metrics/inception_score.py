"""Inception Score (Salimans et al. 2016) as PATN's ``tool/inception_score.py`` computes it
(reference/ecosystem.md section 1): the class probabilities are cut into ``splits`` consecutive
parts; each part scores ``exp(mean_x KL(p(y|x) || p(y)))`` with ``p(y)`` the part's mean; the result
is the mean and (population) standard deviation over the parts.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """``(mean, std)`` of the per-split scores of ``(N, C)`` class probabilities (rows sum to 1)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"expected (N, C) probabilities, got shape {probs.shape}")
    if len(probs) < splits:
        raise ValueError(f"{len(probs)} images cannot be cut into {splits} splits")
    n = len(probs)
    scores = []
    for k in range(splits):
        part = probs[k * n // splits : (k + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0)
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
