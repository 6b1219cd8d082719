"""``posewarp parse``: 20-class LIP human parsing (SCHP-compatible) for every image of a folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import PREPROCESSING, app
from posewarp.cli.options import Device, Json, Overwrite, Shard, Threads, choice, parse_scales, parse_shard_option
from posewarp.preprocess.choices import DEFAULT_PARSER_DATASET, LABEL_SETS, PARSE_BATCH, PARSER_DATASETS


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
        None, "--dataset", help=f"What the checkpoint was trained on: {', '.join(PARSER_DATASETS)} (default {DEFAULT_PARSER_DATASET}: 20 labels; atr 18, pascal 7)."
    ),
    device: Device = None,
    flip: bool = typer.Option(False, "--flip", help="Average with the mirrored image (left/right labels swapped)."),
    scales: str | None = typer.Option(None, "--scales", help="Comma-separated input scales, averaged (default 1)."),
    input_size: int | None = typer.Option(
        None, "--input-size", min=16, max=2048, help="Square network input in pixels (default 473 for LIP, 512 for ATR/Pascal)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, max=256, help=f"Images per network call (default {PARSE_BATCH['cpu']} on the CPU, {PARSE_BATCH['cuda']} on a GPU)."
    ),
    compile_: bool | None = typer.Option(
        None, "--compile/--no-compile", help="torch.compile the network (default: on the CPU for 1000+ images)."
    ),
    threads: Threads = None,
    no_amp: bool = typer.Option(False, "--no-amp", help="Full float32 on CUDA (the reference's numbers)."),
    logits: bool = typer.Option(False, "--logits", help="Also save the logits as OUTDIR/<stem>.npy (H, W, C float32)."),
    overlay: Path | None = typer.Option(None, "--overlay", help="Folder for colour parsing overlays on the images."),
    label_set: str | None = typer.Option(
        None, "--label-set", help="Names for the 20 ids in the summary: lip (id 10 jumpsuits, default) or cihp (torso-skin)."
    ),
    shard: Shard = None,
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Parse every person image into 20 LIP labels (SCHP network; resumable, shardable)."""
    choice(dataset, PARSER_DATASETS, "--dataset")
    choice(label_set, LABEL_SETS, "--label-set")
    if label_set is not None and (dataset or DEFAULT_PARSER_DATASET) != "lip":
        raise typer.BadParameter("--label-set names the 20 LIP labels; atr and pascal have their own", param_hint="--label-set")
    parsed_scales = parse_scales(scales, "0.75,1,1.25")

    from posewarp.console import err
    from posewarp.preprocess.parser import label_names, parse_folder

    shard_ = parse_shard_option(shard)
    report = parse_folder(
        image_dir,
        out,
        weights=weights,
        dataset=dataset or DEFAULT_PARSER_DATASET,
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
        doc = {**report.as_dict(), "labels": list(label_names(dataset or DEFAULT_PARSER_DATASET, label_set))}
        print(json.dumps(doc, indent=2))
    else:
        err.print(report.table(f"parse -> {out}"))
    report.check_any_processed(image_dir)
