"""``eval --report FILE.md``: the side-by-side table as Markdown, and a contact sheet of the pairs the
methods did worst and best on (by the mean SSIM over the methods), so a reader can look at what the
numbers mean. The sheet is a PNG beside the Markdown file: one row per pair, the ground truth first,
then each method's generated image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posewarp.formats import atomic
from posewarp.formats.images import write_image
from posewarp.metrics.features import read_metric_image
from posewarp.metrics.pairing import pair_key

SHOWN = 4  # worst and best pairs each
GAP = 4  # white pixels between pictures


def _cell(value, interval) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.4f}"
    return text + (f" [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else "")


def table_markdown(doc: dict) -> str:
    metrics = doc["metrics"]
    lines = ["| method | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for row in doc["rows"]:
        cells = [_cell(row["values"][m], row["intervals"].get(m)) for m in metrics]
        lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ranked(per_pair: dict, methods: list[str]) -> tuple[list[str], str] | None:
    metric = "ssim" if all("ssim" in per_pair[m] for m in methods) else None
    if metric is None:
        return None
    scores: dict[str, list[float]] = {}
    for m in methods:
        for key, value in zip(per_pair[m]["keys"], per_pair[m][metric]):
            scores.setdefault(key, []).append(value)
    mean = {k: float(np.mean(v)) for k, v in scores.items() if len(v) == len(methods)}
    order = sorted(mean, key=lambda k: (mean[k], k))
    chosen = order[:SHOWN] + [k for k in order[-SHOWN:] if k not in order[:SHOWN]]
    return chosen, metric


def _sheet(keys: list[str], matchings: dict, methods: list[str]) -> np.ndarray | None:
    rows = []
    by_key = {m: {pair_key(p): p for p in matchings[m].pairs} for m in methods}
    for key in keys:
        pair = by_key[methods[0]][key]
        cells = [read_metric_image(pair.gt)]
        cells += [matchings[m].layout.crop(read_metric_image(by_key[m][key].pred)) for m in methods]
        if len({c.shape for c in cells}) != 1:
            return None
        gap = np.full((cells[0].shape[0], GAP, 3), 255, np.uint8)
        rows.append(np.concatenate([x for c in cells for x in (c, gap)][:-1], axis=1))
    if not rows or len({r.shape for r in rows}) != 1:
        return None
    gap = np.full((GAP, rows[0].shape[1], 3), 255, np.uint8)
    return np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=0)


def write_report(path, doc: dict, per_pair: dict, matchings: dict, gt_dir: Path) -> dict:
    """Write ``path`` (Markdown) and its contact sheet; returns where they are."""
    path = Path(path)
    methods = [m for m in matchings if m in per_pair]
    first = doc["methods"][next(iter(doc["methods"]))]
    text = [f"# posewarp eval: {len(doc['rows'])} rows on {doc['common_pairs']} common pairs",
            "", f"Protocol `{first['protocol']}`, ground truth `{gt_dir}`.", "", table_markdown(doc), ""]  # fmt: skip
    if doc["bootstrap"]:
        b = doc["bootstrap"]
        text += [f"Brackets: {b['confidence']:.0%} bootstrap intervals over the common pairs ({b['resamples']} "
                 f"resamples, seed {b['seed']}); IS, FID and PCKh have none.", ""]  # fmt: skip
    counts = ", ".join(f"{m}: {n}" for m, n in doc["pairs_per_method"].items())
    text += [f"Pairs each method has: {counts}; all rows are scored on the {doc['common_pairs']} they share.", ""]
    sheet_path = None
    ranked = _ranked(per_pair, methods)
    sheet = _sheet(ranked[0], matchings, methods) if ranked else None
    if sheet is not None:
        keys, metric = ranked
        sheet_path = path.with_name(path.stem + "-pairs.png")
        write_image(sheet_path, sheet)
        text += [f"## The {SHOWN} worst and best pairs (by mean {metric} over the methods)", "",
                 f"![pairs]({sheet_path.name})", "",
                 "Columns: ground truth, " + ", ".join(methods) + ". Rows, top to bottom:", "",
                 "| row | pair | " + " | ".join(f"{metric} {m}" for m in methods) + " |",
                 "|---|---|" + "---|" * len(methods)]  # fmt: skip
        for i, key in enumerate(keys):
            values = [dict(zip(per_pair[m]["keys"], per_pair[m][metric]))[key] for m in methods]
            text.append(f"| {i + 1} | {key} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
        text.append("")
    atomic.write_text(path, "\n".join(text))
    return {"markdown": str(path), "contact_sheet": None if sheet_path is None else str(sheet_path)}
