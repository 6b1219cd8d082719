"""``posewarp transfer``: one person into a new pose (or a pose sequence, or every pair of a pack)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import INFERENCE, app
from posewarp.cli.options import POSE_FORMAT_HELP, Device, Json, check_pose_format, parse_size


@app.command(
    rich_help_panel=INFERENCE,
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp transfer examples/person.png --pose examples/pose-arms-up.json --out out.png --grid grid.png\n\n"
    "  posewarp transfer photo.jpg --pose openpose_body25_keypoints.json --person 1   # BODY_25, second person\n\n"
    "  posewarp transfer photo.jpg --pose other-photo.jpg --stage1 runs/00001-stage1 --stage2 runs/00002-stage2\n\n"
    "  posewarp transfer examples/person.png --pose examples/walk.json --out walk.gif\n\n"
    "  posewarp transfer --data data/test.h5 --split test --out results/",
)
def transfer(
    src: Path | None = typer.Argument(None, help="Source person image (omit with --data)."),
    pose: str | None = typer.Option(None, "--pose", help="Target pose: a pose file (OpenPose COCO-18/BODY_25 JSON, COCO-17 keypoints, MS COCO JSON, PATN CSV or row), an image, or a folder/list of poses (a sequence)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output image; .gif/.mp4 for a sequence; a folder with --data (default: SRC-POSE.png here)."),
    src_pose: Path | None = typer.Option(None, "--src-pose", help="Source keypoints (a pose file); default: keypoints/<stem>.json beside the image, else estimated."),
    pose_format: str | None = typer.Option(None, "--pose-format", help=POSE_FORMAT_HELP),
    person: int | None = typer.Option(None, "--person", min=0, help="Which person of the --pose file (numbered from 0; default: the largest by keypoint box)."),
    src_person: int | None = typer.Option(None, "--src-person", min=0, help="Which person of the --src-pose file (default: the largest)."),
    src_parsing: Path | None = typer.Option(None, "--src-parsing", help="Source parsing (label PNG); default: parsing/<stem>.png beside the image, else estimated."),
    stage1: Path | None = typer.Option(None, "--stage1", help="Stage I run dir or snapshot (default: shipped demo weights)."),
    stage2: Path | None = typer.Option(None, "--stage2", help="Stage II run dir or snapshot (default: shipped demo weights)."),
    no_align: bool = typer.Option(False, "--no-align", help="Use the target skeleton as given, not fitted to the source's body."),
    grid: Path | None = typer.Option(None, "--grid", help="Also save source | target pose | parsing | output."),
    data: Path | None = typer.Option(None, "--data", help="Batch mode: render every pair of this pack split."),
    split: str = typer.Option("test", "--split", help="Split of --data to render."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Batch mode: only the first N pairs."),
    fit_pack: bool = typer.Option(False, "--fit-pack", help="Batch mode: fit (scale and pad) a pack of another image size to the networks' trained size, instead of refusing it."),
    size: str | None = typer.Option(None, "--size", help="Network input HxW (default: the size Stage II was trained at)."),
    fps: float = typer.Option(8.0, "--fps", min=0.1, max=120.0, help="Frames per second of a sequence."),
    device: Device = None,
    as_json: Json = False,
) -> None:
    """Transfer a person into a target pose: Stage I parsing, then the Warping-GAN."""
    pose_format = check_pose_format(pose_format)
    from posewarp.console import err

    if data is not None:
        if src is not None or pose is not None:
            raise typer.BadParameter("batch mode (--data) takes no SRC or --pose", param_hint="--data")
        if out is None:
            raise typer.BadParameter("batch mode needs --out FOLDER", param_hint="--out")
        from posewarp.transfer_batch import transfer_dataset

        summary = transfer_dataset(data, split, out, stage1=stage1, stage2=stage2, device=device or "auto", limit=limit,
                                     grid=grid, fit_pack=fit_pack, show_progress=not as_json)
    else:
        if src is None or pose is None:
            raise typer.BadParameter("give SRC and --pose (or --data for batch mode)", param_hint="SRC")
        from posewarp.transfer import transfer as transfer_one

        summary = transfer_one(src, pose, out, src_pose=src_pose, src_parsing=src_parsing, stage1=stage1,
                             stage2=stage2, align=not no_align, grid=grid, device=device or "auto", fps=fps,
                             size=parse_size(size), pose_format=pose_format, person=person,
                             src_person=src_person)  # fmt: skip
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        for what in ("pose", "keypoints"):
            if what in summary.get("inputs", {}):
                err.print(f"[dim]{'target pose' if what == 'pose' else 'source keypoints'}:[/dim] "
                          f"{summary['inputs'][what]}", highlight=False)  # fmt: skip
        for note in summary.get("notes", []):
            err.print(f"[yellow]note:[/yellow] {note}", highlight=False, soft_wrap=True)
        written = summary.get("written") or [summary["out"]]
        err.print(f"[green]wrote[/green] {', '.join(written)}")
