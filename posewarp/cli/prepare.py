"""``posewarp prepare deepfashion | market``: an official dataset + the field's list files -> ready for ``pack``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import DATA, app
from posewarp.cli.options import Json, Overwrite, choice

prepare_app = typer.Typer(
    help="Official datasets (DeepFashion In-shop, Market-1501) + PATN/GFLA list files -> images, keypoints, pairs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(prepare_app, name="prepare", rich_help_panel=DATA)

LISTS_HELP = "Folder of the published list files (default: ROOT)."
OUT_HELP = "Output folder: images/, annotations.csv, pairs-train.csv, pairs-test.csv, train.lst, test.lst."
PROTOCOL_HELP = "patn or gfla: whose image size and keypoint frame (default patn)."
WORKERS_HELP = "Threads decoding and writing images (default: the CPU count, at most 8)."


def _protocol(value: str | None) -> str:
    from posewarp.data.prepare import DEFAULT_PREPARE_PROTOCOL, PREPARE_PROTOCOLS

    return choice(value, PREPARE_PROTOCOLS, "--protocol") or DEFAULT_PREPARE_PROTOCOL


def _run(prepare, root: Path, out: Path, as_json: bool, **options) -> None:
    """Call the library's ``prepare_*`` and print its report; Ctrl-C keeps what was written and exits 130."""
    from posewarp.console import err, summary_table
    from posewarp.data.prepare import next_steps

    try:
        report = prepare(root, out, show_progress=not as_json, **options)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted: the images written so far in {out} are kept; run the same command to "
                  "finish[/yellow]")  # fmt: skip
        raise typer.Exit(130) from None
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    for note in report.notes:
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False, soft_wrap=True)
    for name, reason in report.failed[:20]:
        err.print(f"[yellow]failed[/yellow] {name}: {reason}", highlight=False)
    if len(report.failed) > 20:
        err.print(f"[yellow]... and {len(report.failed) - 20} more (see --json)[/yellow]")
    err.print(summary_table(f"posewarp prepare {report.dataset}", report.summary()))
    err.print("next (parsing needs `posewarp weights download schp-lip`):\n  " + "\n  ".join(next_steps(report)),
              highlight=False, soft_wrap=True)  # fmt: skip


@prepare_app.command(
    "deepfashion",
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp prepare deepfashion ~/data/In-shop --out data/fashion            "
    "# img/ + fasion-resize-*.csv, train.lst, test.lst\n\n"
    "  posewarp prepare deepfashion ~/data/In-shop --lists ~/data/gfla-lists --protocol gfla --out data/fashion-256",
)
def deepfashion(
    root: Path = typer.Argument(..., help="DeepFashion In-shop folder holding img/ (patn) or img_highres/ (gfla)."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    lists: Path | None = typer.Option(None, "--lists", help=LISTS_HELP),
    protocol: str | None = typer.Option(None, "--protocol", help="patn: 256x176 crop of img/; gfla: img_highres/ "
                                        "resized to 256x256 (default patn)."),  # fmt: skip
    quality: int = typer.Option(95, "--jpeg-quality", min=1, max=100, help="JPEG quality (PATN's script wrote 75)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """DeepFashion In-shop with PATN's or GFLA's pairs, keypoints and split: flat names, 256x176 or 256x256."""
    protocol = _protocol(protocol)
    from posewarp.data.deepfashion import prepare_deepfashion

    _run(prepare_deepfashion, root, out, as_json, lists=lists, protocol=protocol, quality=quality, overwrite=overwrite,
         workers=workers)  # fmt: skip


@prepare_app.command(
    "market",
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp prepare market ~/data/Market-1501-v15.09.15 --out data/market\n\n"
    "  posewarp prepare market ~/data/Market-1501-v15.09.15 --lists ~/data/patn-lists --out data/market --json",
)
def market(
    root: Path = typer.Argument(..., help="Market-1501 folder holding bounding_box_train/ and bounding_box_test/."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    lists: Path | None = typer.Option(None, "--lists", help=LISTS_HELP),
    protocol: str | None = typer.Option(None, "--protocol", help=PROTOCOL_HELP + " Both keep 128x64."),
    workers: int | None = typer.Option(None, "--workers", min=1, help=WORKERS_HELP),
    overwrite: Overwrite = False,
    as_json: Json = False,
) -> None:
    """Market-1501 with PATN's pairs and keypoints: the 128x64 crops of both splits under their own names."""
    protocol = _protocol(protocol)
    from posewarp.data.market import prepare_market

    _run(prepare_market, root, out, as_json, lists=lists, protocol=protocol, overwrite=overwrite, workers=workers)
