"""Several methods side by side (``posewarp eval --pred A --pred B ...``): every method is scored on
exactly the same pairs, the ones all of them have (the counts say how many each had), and the table
has one row per method.

``bootstrap`` adds a 95% percentile interval to each per-pair metric (SSIM, ``ssim_256``, mask-SSIM,
LPIPS): the common pairs are resampled with replacement ``bootstrap`` times with one seeded generator,
the same resamples for every method, so the interval of a method's difference to the first row
(``difference_to_first``) shows which differences mean anything. IS and FID are statistics of a whole
set and PCKh of joints; they get no interval here (resampling them would rerun the network each time).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.metrics.names import DEFAULT_FLOORS, DEFAULT_PRED_LAYOUT
from posewarp.metrics.pairing import Matching, match_pairs, pair_key

CONFIDENCE = 0.95


def method_names(pred_dirs: Sequence[str | os.PathLike]) -> list[str]:
    """A short, unique name per method: its folder's name, with parent folders added until unique."""
    paths = [Path(p).resolve() for p in pred_dirs]
    depth = 1
    while True:
        names = ["/".join(p.parts[-depth:]) for p in paths]
        if len(set(names)) == len(names) or depth >= max(len(p.parts) for p in paths):
            return names if len(set(names)) == len(names) else [f"{n} ({i + 1})" for i, n in enumerate(names)]
        depth += 1


def common_pairs(matchings: Sequence[Matching], names: Sequence[str]) -> tuple[set[str], dict[str, int]]:
    keys = [{pair_key(p) for p in m.pairs} for m in matchings]
    common = set.intersection(*keys)
    if not common:
        raise PosewarpError(f"the methods {', '.join(names)} share no pair: nothing can be compared")
    return common, {name: len(k) for name, k in zip(names, keys)}


def bootstrap_intervals(per_pair: dict[str, dict[str, list]], keys: list[str], resamples: int, seed: int) -> dict:
    """``{method: {metric: {"interval": [lo, hi], "difference_to_first": [lo, hi]}}}`` from paired resamples."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(keys), size=(resamples, len(keys)))
    lo, hi = 100 * (1 - CONFIDENCE) / 2, 100 * (1 + CONFIDENCE) / 2
    means: dict[str, dict[str, np.ndarray]] = {}
    for method, values in per_pair.items():
        means[method] = {}
        position = {k: i for i, k in enumerate(values["keys"])}
        order = [position[k] for k in keys]
        for metric, column in values.items():
            if metric == "keys":
                continue
            x = np.array([np.nan if column[i] is None else column[i] for i in order], np.float64)
            with warnings.catch_warnings():  # a resample of only empty masks has no mean: NaN, dropped below
                warnings.simplefilter("ignore", RuntimeWarning)
                means[method][metric] = np.nanmean(x[index], axis=1)
    first = next(iter(means))
    out: dict[str, dict] = {}
    for method, metrics in means.items():
        out[method] = {}
        for metric, m in metrics.items():
            doc = {"interval": _percentiles(m, lo, hi)}
            if method != first and metric in means[first]:
                doc["difference_to_first"] = _percentiles(m - means[first][metric], lo, hi)
            out[method][metric] = doc
    return out


def _percentiles(samples: np.ndarray, lo: float, hi: float) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    return [float(np.percentile(samples, lo)), float(np.percentile(samples, hi))] if len(samples) else None


def compare(pred_dirs: Sequence[str | os.PathLike], gt_dir: str | os.PathLike, *, bootstrap: int = 0, seed: int = 0,
            report: str | os.PathLike | None = None, pairs=None, allow_missing: bool = False,
            pred_layout: str = DEFAULT_PRED_LAYOUT, floors: bool = False, **options) -> dict:  # fmt: skip
    """Score each folder of ``pred_dirs`` on the pairs they all have; returns the JSON document of
    ``posewarp eval --pred A --pred B ... --json``. ``options`` go to ``evaluate``; ``floors`` adds the
    rows of ``floors.py`` when the pairs name their sources."""
    with tempfile.TemporaryDirectory(prefix="posewarp-floors-") as scratch:
        return _compare(pred_dirs, gt_dir, bootstrap, seed, report, pairs, allow_missing, pred_layout,
                        Path(scratch) if floors else None, options)  # fmt: skip


def _compare(pred_dirs, gt_dir, bootstrap, seed, report, pairs, allow_missing, pred_layout, scratch, options) -> dict:
    from posewarp.metrics.evaluate import evaluate
    from posewarp.metrics.floors import write_floors

    if bootstrap < 0:
        raise PosewarpError(f"--bootstrap must be 0 or more, got {bootstrap}")
    names = method_names(pred_dirs)
    matchings = [match_pairs(d, gt_dir, pairs, allow_missing=allow_missing, layout=pred_layout) for d in pred_dirs]
    common, counts = common_pairs(matchings, names)
    methods = {name: (Path(d), dict(pairs=pairs, allow_missing=allow_missing, pred_layout=pred_layout))
               for name, d in zip(names, pred_dirs)}  # fmt: skip
    floor_note = None
    if scratch is not None:
        shared = [p for p in matchings[0].pairs if pair_key(p) in common]
        rows, floor_note = write_floors(shared, gt_dir, scratch, options.get("keypoints"),
                                        options.get("pose_format", "auto"), options.get("person"))  # fmt: skip
        for name, (folder, pairs_file) in rows.items():
            methods[name] = (folder, dict(pairs=pairs_file, allow_missing=False, pred_layout="picture"))
    docs = {name: evaluate(folder, gt_dir, only=common, per_pair=True, **how, **options)
            for name, (folder, how) in methods.items()}  # fmt: skip
    keys = sorted(common)
    per_pair = {name: doc.pop("per_pair") for name, doc in docs.items()}
    intervals = bootstrap_intervals(per_pair, keys, bootstrap, seed) if bootstrap else {}
    metrics = list(next(iter(docs.values()))["metrics"])
    rows = [{"method": name, "values": {m: doc["metrics"][m]["value"] for m in metrics},
             "intervals": {m: v["interval"] for m, v in intervals.get(name, {}).items()},
             "difference_to_first": {m: v["difference_to_first"] for m, v in intervals.get(name, {}).items()
                                     if "difference_to_first" in v}} for name, doc in docs.items()]  # fmt: skip
    out = {
        "common_pairs": len(common),
        "pairs_per_method": counts,
        "bootstrap": {"resamples": bootstrap, "seed": seed, "confidence": CONFIDENCE} if bootstrap else None,
        "metrics": metrics,
        "rows": rows,
        "methods": docs,
        "notes": [floor_note] if floor_note else [],
    }
    if any(doc["metrics"].get(m, {}).get("dropped") for doc in docs.values() for m in ("fid", "lpips")):
        out["notes"].append("FID and LPIPS of each row drop the pairs after its last whole batch, in the order of "
                            "that row's file names (as GFLA's script); --keep-remainder scores every common pair")
    if report is not None:
        from posewarp.metrics.report import write_report

        sources = {name: m for name, m in zip(names, matchings)}
        out["report"] = write_report(report, out, per_pair, sources, Path(gt_dir))
    return out


def score(pred_dirs: Sequence[str | os.PathLike], gt_dir, *, bootstrap: int = 0, report=None,
          floors: bool = DEFAULT_FLOORS, **options) -> dict:  # fmt: skip
    """``posewarp eval``: one folder without ``bootstrap``/``report`` and without floors (or without
    sources named by its pairs) is ``evaluate``'s document, anything else ``compare``'s (``"rows"``
    tells them apart)."""
    from posewarp.metrics.evaluate import evaluate

    if len(pred_dirs) == 1 and not bootstrap and report is None:
        named = floors and _sources_named(pred_dirs[0], gt_dir, options)
        if not named:
            return evaluate(pred_dirs[0], gt_dir, **options)
    return compare(pred_dirs, gt_dir, bootstrap=bootstrap, report=report, floors=floors, **options)


def _sources_named(pred_dir, gt_dir, options: dict) -> bool:
    m = match_pairs(pred_dir, gt_dir, options.get("pairs"), allow_missing=options.get("allow_missing", False),
                    layout=options.get("pred_layout", DEFAULT_PRED_LAYOUT))  # fmt: skip
    return all(p.source is not None for p in m.pairs)
