"""``posewarp keypoints``: OpenPose COCO-18 keypoints (JSON v1.3) for every image of a folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import PREPROCESSING, app
from posewarp.cli.options import Device, Json, Overwrite, Shard, Threads, choice, parse_scales, parse_shard_option
from posewarp.preprocess.choices import ANNOTATED_PERSON, DEFAULT_ANNOTATED_PERSON, KEYPOINTS_BATCH


@app.command(
    rich_help_panel=PREPROCESSING,
    epilog="[bold]Examples[/bold]\n\n  posewarp keypoints data/images --out data/keypoints\n\n"
    "  posewarp keypoints data/images --out data/keypoints --annotations data/annotation.csv"
    " --overlay data/overlays\n\n"
    "  posewarp keypoints data/images --out data/keypoints --scales 0.5,1,1.5,2 --device cuda --shard 0/4",
)
def keypoints(
    image_dir: Path = typer.Argument(..., help="Folder of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", help="Output folder: one OpenPose JSON per image, same subfolders."),
    weights: Path | None = typer.Option(
        None,
        "--weights",
        help="body_pose_model.pth to use (default: the file `posewarp weights download openpose` gets).",
    ),
    device: Device = None,
    scales: str | None = typer.Option(
        None, "--scales", help="Comma-separated scales of 368 px height, averaged (default 0.5, as the reference port)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, max=256, help=f"Images per network call (default {KEYPOINTS_BATCH['cpu']} on the CPU, {KEYPOINTS_BATCH['cuda']} on a GPU)."
    ),
    no_amp: bool = typer.Option(False, "--no-amp", help="Full float32 on CUDA (AMP is never used on CPU)."),
    compile_: bool = typer.Option(
        False, "--compile", help="Run the network through torch.compile (eager if that fails; no gain measured on CPU)."
    ),
    threads: Threads = None,
    annotations: Path | None = typer.Option(
        None, "--annotations", help="Also write a PATN annotation CSV (one person per image)."
    ),
    overlay: Path | None = typer.Option(None, "--overlay", help="Folder for skeleton drawings over the images."),
    person: str | None = typer.Option(
        None, "--person", help="Who goes into --annotations: best (highest score, default) or largest."
    ),
    shard: Shard = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Find people and their 18 OpenPose keypoints in every image (resumable, shardable)."""
    choice(person, ANNOTATED_PERSON, "--person")
    parsed_scales = parse_scales(scales, "0.5,1,1.5,2")

    from posewarp.console import err
    from posewarp.preprocess.keypoints import DEFAULT_SCALES, estimate_folder

    shard_ = parse_shard_option(shard)
    report = estimate_folder(
        image_dir,
        out,
        weights=weights,
        device=device or "auto",
        scales=parsed_scales or DEFAULT_SCALES,
        amp=not no_amp,
        batch_size=batch_size,
        compile=compile_,
        threads=threads,
        annotations=annotations,
        overlay_dir=overlay,
        person=person or DEFAULT_ANNOTATED_PERSON,
        shard=shard_,
        overwrite=overwrite,
        show_progress=not as_json,
    )
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        err.print(report.table(f"keypoints -> {out}"))
    report.check_any_processed(image_dir)
