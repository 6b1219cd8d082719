"""``posewarp info``: what a packed HDF5 file holds, and a preview grid of a few pairs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import DATA, app
from posewarp.cli.options import Json


@app.command(
    rich_help_panel=DATA,
    epilog="[bold]Examples[/bold]\n\n  posewarp info data/fashion.h5\n\n"
    "  posewarp info data/fashion.h5 --json\n\n  posewarp info data/fashion.h5 --preview grid.png --split test",
)
def info(
    data: Path = typer.Argument(..., help="A file written by `posewarp pack`."),
    as_json: Json = False,
    preview: Path | None = typer.Option(
        None, "--preview", help="Write a grid (image | skeleton | parsing, source then target) for a few pairs."
    ),
    split: str | None = typer.Option(None, "--split", help="Split to preview (default: the first)."),
    pairs: int | None = typer.Option(None, "--pairs", min=1, max=64, help="Pairs in the preview grid (default 4)."),
) -> None:
    """Show a packed dataset: schema, pairs per split, image size, label histogram, missing keypoints."""
    from posewarp.console import err, summary_table
    from posewarp.data.info import describe
    from posewarp.data.info import preview as write_preview

    doc = describe(data)
    if preview is not None:
        doc["preview"] = str(write_preview(data, preview, split=split, num_pairs=pairs))
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    from rich.table import Table

    h, w = doc["image_size"]
    rows = {
        "schema": f"{doc['format']} v{doc['schema_version']} (posewarp {doc['posewarp_version']}, {doc['created']})",
        "images": f"{doc['num_images']} x {h}x{w} ({doc['image_encoding']})",
        "file size": f"{doc['file_bytes'] / 2**20:.1f} MiB",
    }
    for s, n in doc["splits"].items():
        rows[f"pairs/{s}"] = f"{n}" + (f" ({doc['dropped_pairs'][s]} dropped)" if doc["dropped_pairs"][s] else "")
    rows["excluded items"] = len(doc["excluded"])
    rows["images without keypoints"] = doc["images_without_keypoints"]
    err.print(summary_table(str(data), rows))
    labels = Table(title="labels", title_justify="left")
    for col in ("id", "name", "pixels %", "in images %"):
        labels.add_column(col, justify="right" if col != "name" else "left")
    for lab in doc["labels"]:
        labels.add_row(str(lab["id"]), lab["name"], f"{100 * lab['pixel_fraction']:.2f}", f"{100 * lab['image_fraction']:.1f}")
    err.print(labels)
    missing = Table(title="missing keypoints", title_justify="left")
    missing.add_column("keypoint")
    missing.add_column("missing %", justify="right")
    for name, rate in doc["missing_keypoints"].items():
        missing.add_row(name, f"{100 * rate:.1f}")
    err.print(missing)
    if "preview" in doc:
        err.print(f"preview written to {doc['preview']}")
