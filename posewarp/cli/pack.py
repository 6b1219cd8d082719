"""``posewarp pack``: images, keypoints, parsing and pairs CSVs -> one versioned HDF5 file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import DATA, app
from posewarp.cli.options import PERSON_HELP, POSE_FORMAT_HELP, Json, check_pose_format, parse_size


@app.command(
    rich_help_panel=DATA,
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp pack --images data/images --keypoints data/keypoints --parsing data/parsing "
    "--pairs data/pairs-train.csv --pairs data/pairs-test.csv --out data/fashion.h5\n\n"
    "  posewarp pack --images img --keypoints fasion-resize-annotation-train.csv --parsing parsing "
    "--pairs fasion-resize-pairs-train.csv --out train.h5 --size 256x176 --fit crop --encode jpeg\n\n"
    "  posewarp pack ... --out train.h5 --resume   # continue an interrupted pack",
)
def pack(
    images: Path = typer.Option(..., "--images", help="Folder of person images; pairs CSVs name files relative to it."),
    keypoints: Path = typer.Option(
        ..., "--keypoints", help="Folder of pose files (<stem>.json: OpenPose, COCO-17, ...), a PATN annotation CSV "
        "or an MS COCO keypoints JSON."
    ),  # fmt: skip
    parsing: Path = typer.Option(..., "--parsing", help="Folder of label PNGs (<stem>.png, 20 LIP/CIHP labels)."),
    pairs: list[Path] = typer.Option(..., "--pairs", help="A 'from,to' pairs CSV; repeat for more splits."),
    out: Path = typer.Option(..., "--out", help="The HDF5 file to write (DATA.h5)."),
    split: list[str] | None = typer.Option(
        None, "--split", help="Split name for each --pairs in order (default: from the file name, e.g. train)."
    ),
    size: str | None = typer.Option(None, "--size", help="Fit every image to HxW, e.g. 256x176 (default: keep)."),
    fit: str | None = typer.Option(None, "--fit", help="How --size fits: crop (default), pad or resize."),
    encode: str | None = typer.Option(None, "--encode", help="Image storage: raw (default, fastest) or jpeg (small)."),
    pose_format: str | None = typer.Option(None, "--pose-format", help=POSE_FORMAT_HELP),
    person: int | None = typer.Option(None, "--person", min=0, help=PERSON_HELP),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad item instead of excluding it."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted pack from DATA.h5.partial."),
    as_json: Json = False,
) -> None:
    """Pack a dataset into one HDF5 file: images, parsing, keypoints, names and the pairs of each split."""
    hw = parse_size(size)
    if fit is not None and fit not in ("crop", "pad", "resize"):
        raise typer.BadParameter("use crop, pad or resize", param_hint="--fit")
    if encode is not None and encode not in ("raw", "jpeg"):
        raise typer.BadParameter("use raw or jpeg", param_hint="--encode")
    if fit is not None and hw is None:
        raise typer.BadParameter("--fit needs --size", param_hint="--fit")
    pose_format = check_pose_format(pose_format)
    if split and len(split) != len(pairs):
        raise typer.BadParameter(f"{len(split)} names for {len(pairs)} --pairs files", param_hint="--split")

    from posewarp.console import err, summary_table
    from posewarp.data.packer import pack as run_pack

    report = run_pack(
        images,
        keypoints,
        parsing,
        list(pairs),
        out,
        splits=list(split) if split else None,
        size=hw,
        fit=fit or "crop",
        encode=encode or "raw",
        strict=strict,
        resume=resume,
        show_progress=not as_json,
        pose_format=pose_format,
        person=person,
    )
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    show = 20
    for name, reason in report.excluded[:show]:
        err.print(f"[yellow]excluded[/yellow] {name}: {reason}", highlight=False)
    if len(report.excluded) > show:
        err.print(f"[yellow]... and {len(report.excluded) - show} more excluded items (see --json)[/yellow]")
    for s, a, b, reason in report.dropped_pairs[:show]:
        err.print(f"[yellow]dropped pair[/yellow] {s}: {a} -> {b}: {reason}", highlight=False)
    if len(report.dropped_pairs) > show:
        err.print(f"[yellow]... and {len(report.dropped_pairs) - show} more dropped pairs (see --json)[/yellow]")
    if report.keypoint_note:
        err.print(f"[yellow]note:[/yellow] {report.keypoint_note}", highlight=False)
    err.print(summary_table("posewarp pack", report.summary()))
