"""``posewarp eval``: SSIM, mask-SSIM, IS, FID, LPIPS and PCKh of generated images under a named protocol."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import INFERENCE, app
from posewarp.cli.options import PERSON_HELP, POSE_FORMAT_HELP, Device, Json, check_pose_format, choice
from posewarp.errors import PosewarpError
from posewarp.metrics.names import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLOORS,
    DEFAULT_METRICS,
    DEFAULT_PRED_LAYOUT,
    DEFAULT_PROTOCOL,
    METRICS,
    PRED_LAYOUTS,
    EVAL_PROTOCOLS,
    parse_metrics,
)


def _metrics(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    try:
        return parse_metrics(text)
    except PosewarpError as exc:
        raise typer.BadParameter(exc.message, param_hint="--metrics") from None


def _details(name: str, doc: dict) -> str:
    if name in ("is", "mask-is"):
        return f"± {doc['std']:.4f}, {doc['splits']} splits, {doc['input']}"
    if name == "fid":
        real = doc["real"]
        origin = {"cache": ", statistics from the cache", "npz": ", statistics file"}.get(real.get("origin"), "")
        return f"real: {real['source']} ({real.get('count') or '?'} images{origin}); {doc['input']}"
    if name == "pckh":
        return f"{doc['correct']}/{doc['total']} joints, alpha {doc['alpha']}, {doc['skipped_pairs']} pairs skipped"
    skipped = doc.get("skipped_empty_mask")
    return str(doc.get("variant", "")) + (f", {skipped} pairs without keypoints skipped" if skipped else "")


def _print_rows(doc: dict, err) -> None:
    """The side-by-side table: one row per method, one column per metric (with its interval)."""
    from rich.table import Table

    table = Table(title=f"posewarp eval: {len(doc['rows'])} rows on the {doc['common_pairs']} pairs they share",
                  title_justify="left")  # fmt: skip
    table.add_column("method", style="bold")
    for metric in doc["metrics"]:
        table.add_column(metric, justify="right")
    for row in doc["rows"]:
        cells = []
        for metric in doc["metrics"]:
            value, interval = row["values"][metric], row["intervals"].get(metric)
            text = "n/a" if value is None else f"{value:.4f}"
            cells.append(text + (f" [{interval[0]:.4f}, {interval[1]:.4f}]" if interval else ""))
        table.add_row(row["method"], *cells)
    err.print(table)
    err.print("pairs each method has: " + ", ".join(f"{m} {n}" for m, n in doc["pairs_per_method"].items()))
    if doc["bootstrap"]:
        err.print(f"brackets: 95% bootstrap intervals ({doc['bootstrap']['resamples']} resamples)")
    if doc.get("report"):
        err.print(f"report: {doc['report']['markdown']}")
    for note in doc["notes"]:
        err.print(f"[yellow]note:[/yellow] {note}")
    for name, method in doc["methods"].items():
        for note in method["notes"]:
            err.print(f"[yellow]note ({name}):[/yellow] {note}")


@app.command(
    name="eval",
    rich_help_panel=INFERENCE,
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp eval --pred results/ --gt data/test-images --metrics ssim,is,fid,lpips\n\n"
    "  posewarp eval --pred results/ --gt data/test --pairs data/pairs-test.csv --metrics ssim,mask-ssim "
    "--keypoints data/annotation-test.csv\n\n"
    "  posewarp eval --pred results/ --gt data/test --protocol gfla --metrics fid,lpips,ssim "
    "--fid-real data/train-images --json\n\n"
    "  posewarp eval --pred ours/ --pred patn-results/ --gt data/test --pairs data/pairs-test.csv "
    "--bootstrap 1000 --report report.md",
)
def eval_(
    pred: list[Path] = typer.Option(
        ..., "--pred", help="Folder of generated images; repeat it to score several methods on the pairs they share."
    ),
    gt: Path = typer.Option(..., "--gt", help="Folder of ground-truth (target) images."),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="CSV mapping names: 'from,to' (PATN pairs; generated = from___to[_vis]) or 'pred,gt'."
    ),
    metrics: str | None = typer.Option(
        None, "--metrics", help=f"Comma-separated, from {','.join(METRICS)} (default {','.join(DEFAULT_METRICS)})."
    ),
    protocol: str | None = typer.Option(
        None, "--protocol", help=f"Whose script each metric follows: {', '.join(EVAL_PROTOCOLS)} (default {DEFAULT_PROTOCOL}; "
        "see the README's protocol table)."
    ),
    keypoints: Path | None = typer.Option(
        None, "--keypoints", "--gt-keypoints", "--annotations",
        help="Ground-truth keypoints (folder of pose files, PATN CSV or MS COCO JSON): for mask-ssim/mask-is, "
        "PCKh targets.",
    ),  # fmt: skip
    pose_format: str | None = typer.Option(None, "--pose-format", help=POSE_FORMAT_HELP),
    person: int | None = typer.Option(None, "--person", min=0, help=PERSON_HELP),
    fid_real: Path | None = typer.Option(
        None, "--fid-real", help="Real images for FID: a folder (statistics cached) or a .npz with mu/sigma "
        "(default: the paired ground truths; GFLA used the training set)."
    ),  # fmt: skip
    pred_layout: str | None = typer.Option(
        None, "--pred-layout", help=f"How each generated file holds its image: {', '.join(PRED_LAYOUTS)} (default "
        f"{DEFAULT_PRED_LAYOUT}: from the width against the ground truth's; strips are PATN's and Def-GAN's "
        "published files, see the README)."
    ),  # fmt: skip
    allow_missing: bool = typer.Option(
        False, "--allow-missing", help="Score the pairs whose generated image exists and count the rest "
        "(default: a ground truth without its generated image is an error)."
    ),  # fmt: skip
    keep_remainder: bool = typer.Option(
        False, "--keep-remainder", help="gfla: score FID and LPIPS on every pair, not only the first N // 64 * 64 "
        "as GFLA's script."
    ),  # fmt: skip
    inception_weights: Path | None = typer.Option(None, "--inception-weights", help="pt_inception-2015-12-05 file."),
    inception_torchvision_weights: Path | None = typer.Option(
        None, "--inception-torchvision-weights", help="torchvision inception_v3_google file (gfla FID)."
    ),
    alexnet_weights: Path | None = typer.Option(None, "--alexnet-weights", help="torchvision AlexNet file (LPIPS)."),
    lpips_weights: Path | None = typer.Option(None, "--lpips-weights", help="LPIPS v0.1 alex.pth linear layers."),
    openpose_weights: Path | None = typer.Option(None, "--openpose-weights", help="body_pose_model.pth (PCKh)."),
    bootstrap: int = typer.Option(
        0, "--bootstrap", min=0, max=100000, help="Resamples for 95% intervals of SSIM, mask-SSIM and LPIPS (0: none)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resamples."),
    floors: bool = typer.Option(
        DEFAULT_FLOORS, "--floors/--no-floors", help="When the pairs name their sources, also score 'copy the "
        "source' and 'background only' (the source with its person filled in; needs --keypoints) as rows."
    ),  # fmt: skip
    report: Path | None = typer.Option(
        None, "--report", help="Write the table and a contact sheet of the worst/best pairs to this Markdown file."
    ),
    device: Device = None,
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, max=1024, help=f"Image pairs per step (default {DEFAULT_BATCH_SIZE})."),
    as_json: Json = False,
) -> None:
    """Score generated images against ground truth with the field's metrics, as PATN's or GFLA's script did."""
    names = _metrics(metrics)
    choice(protocol, EVAL_PROTOCOLS, "--protocol")
    choice(pred_layout, PRED_LAYOUTS, "--pred-layout")
    pose_format = check_pose_format(pose_format)

    from posewarp.console import err
    from posewarp.metrics.compare import score

    overrides = {"inception-fid": inception_weights, "inception-torchvision": inception_torchvision_weights,
                 "alexnet": alexnet_weights, "lpips-alex": lpips_weights, "openpose": openpose_weights}  # fmt: skip
    extra = {"bootstrap": bootstrap, "seed": seed, "report": report} if len(pred) > 1 or bootstrap or report else {}
    doc = score(
        pred,
        gt,
        **extra,
        metrics=names or DEFAULT_METRICS,
        protocol=protocol or DEFAULT_PROTOCOL,
        pairs=pairs,
        keypoints=keypoints,
        device=device or "auto",
        fid_real=fid_real,
        weights={k: v for k, v in overrides.items() if v is not None},
        batch_size=batch_size or DEFAULT_BATCH_SIZE,
        show_progress=not as_json,
        pose_format=pose_format,
        person=person,
        allow_missing=allow_missing,
        keep_remainder=keep_remainder,
        pred_layout=pred_layout or DEFAULT_PRED_LAYOUT,
        floors=floors,
    )
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    if "rows" in doc:
        _print_rows(doc, err)
        return
    from rich.table import Table

    missing = doc["missing"]["count"]
    title = f"posewarp eval: {doc['pairs']} pairs" + (f" ({missing} missing)" if missing else "")
    layout = doc["pred_layout"]
    title += f", protocol {doc['protocol']}, layout {layout['name']}" + (" (detected)" if layout["detected"] else "")
    table = Table(title=title, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_column("how")
    for name, result in doc["metrics"].items():
        value = result["value"]
        table.add_row(name, "n/a" if value is None else f"{value:.4f}", _details(name, result))
    err.print(table)
    for note in doc["notes"]:
        err.print(f"[yellow]note:[/yellow] {note}")
