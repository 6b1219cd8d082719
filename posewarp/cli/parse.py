"""``posewarp parse``: 20-class LIP human parsing (SCHP-compatible) for every image of a folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import PREPROCESSING, app
from posewarp.cli.options import check_device, parse_scales, parse_shard_option


@app.command(
    rich_help_panel=PREPROCESSING,
    epilog="[bold]Examples[/bold]\n\n  posewarp parse data/images --out data/parsing\n\n"
    "  posewarp parse data/images --out data/parsing --flip --scales 0.75,1,1.25 --overlay data/parsing-overlays\n\n"
    "  posewarp parse data/images --out data/parsing --device cuda --batch-size 16 --shard 0/4\n\n"
    "Label PNGs keep the ids (0 background ... 19 right-shoe) as pixel values; id 10 is LIP's jumpsuits "
    "(--label-set cihp names it torso-skin).",
)
def parse(
    image_dir: Path = typer.Argument(..., help="Folder of images (searched recursively)."),
    out: Path = typer.Option(..., "--out", help="Output folder: one label PNG per image, same subfolders."),
    weights: Path | None = typer.Option(
        None, "--weights", help="SCHP checkpoint (default: the file `posewarp weights download schp-lip` gets)."
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", help="What the checkpoint was trained on: lip (20 labels, default), atr (18), pascal (7)."
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda[:N] (default auto)."),
    flip: bool = typer.Option(False, "--flip", help="Average with the mirrored image (left/right labels swapped)."),
    scales: str | None = typer.Option(None, "--scales", help="Comma-separated input scales, averaged (default 1)."),
    input_size: int | None = typer.Option(
        None, "--input-size", min=16, max=2048, help="Square network input in pixels (default 473 for LIP, 512 for ATR/Pascal)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, max=256, help="Images per network call (default 1 on the CPU, 16 on a GPU)."
    ),
    compile_: bool | None = typer.Option(
        None, "--compile/--no-compile", help="torch.compile the network (default: on the CPU for 1000+ images)."
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, max=256, help="CPU threads (default: OMP_NUM_THREADS, else the cores not busy)."
    ),
    no_amp: bool = typer.Option(False, "--no-amp", help="Full float32 on CUDA (the reference's numbers)."),
    logits: bool = typer.Option(False, "--logits", help="Also save the logits as OUTDIR/<stem>.npy (H, W, C float32)."),
    overlay: Path | None = typer.Option(None, "--overlay", help="Folder for colour parsing overlays on the images."),
    label_set: str | None = typer.Option(
        None, "--label-set", help="Names for the 20 ids in the summary: lip (id 10 jumpsuits, default) or cihp (torso-skin)."
    ),
    shard: str | None = typer.Option(None, "--shard", help="i/n: process only every n-th image starting at i."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo images whose PNG exists (default: skip them)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON document on stdout."),
) -> None:
    """Parse every person image into 20 LIP labels (SCHP network; resumable, shardable)."""
    if dataset is not None and dataset not in ("lip", "atr", "pascal"):
        raise typer.BadParameter("use lip, atr or pascal", param_hint="--dataset")
    if label_set is not None and label_set not in ("lip", "cihp"):
        raise typer.BadParameter("use lip or cihp", param_hint="--label-set")
    if label_set is not None and dataset not in (None, "lip"):
        raise typer.BadParameter("--label-set names the 20 LIP labels; atr and pascal have their own", param_hint="--label-set")
    check_device(device)
    parsed_scales = parse_scales(scales, "0.75,1,1.25")

    from posewarp.console import err
    from posewarp.preprocess.parser import label_names, parse_folder

    shard_ = parse_shard_option(shard)
    report = parse_folder(
        image_dir,
        out,
        weights=weights,
        dataset=dataset or "lip",
        device=device or "auto",
        flip=flip,
        scales=parsed_scales or (1.0,),
        amp=not no_amp,
        input_size=input_size,
        batch_size=batch_size,
        compile=compile_,
        threads=threads,
        logits=logits,
        overlay_dir=overlay,
        label_set=label_set,
        shard=shard_,
        overwrite=overwrite,
        show_progress=not as_json,
    )
    if as_json:
        doc = {**report.as_dict(), "labels": list(label_names(dataset or "lip", label_set))}
        print(json.dumps(doc, indent=2))
    else:
        err.print(report.table(f"parse -> {out}"))
    report.check_any_processed(image_dir)
