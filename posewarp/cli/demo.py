"""``posewarp demo``: synthesise, pack, train both stages, transfer and evaluate, offline on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import INFERENCE, app
from posewarp.cli.options import Device, Json, Threads
from posewarp.synth import recipes


@app.command(
    rich_help_panel=INFERENCE,
    epilog="[bold]Examples[/bold]\n\n  posewarp demo --quick\n\n  posewarp demo --out demo-out --device cuda\n\n"
    "  posewarp demo --quick --recipe mannequin   # the first, easier world",
)
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", "-o", help="Folder for the world, runs, results and metrics."),
    quick: bool = typer.Option(False, "--quick", help="A smaller world and shorter training (a few minutes)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the world and the training runs."),
    recipe: str | None = typer.Option(
        None, "--recipe", help=f"The world's recipe: {', '.join(recipes.RECIPES)} (default fashion; see posewarp synth)."
    ),
    device: Device = None,
    threads: Threads = None,
    as_json: Json = False,
) -> None:
    """The whole pipeline offline: synth -> pack -> train Stage I and II -> transfer -> eval."""
    if recipe is not None and recipe not in recipes.RECIPES:
        raise typer.BadParameter(f"choose one of {', '.join(recipes.RECIPES)}, got {recipe!r}", param_hint="--recipe")
    from rich.table import Table

    from posewarp.console import err
    from posewarp.demo import BASELINES, run_demo

    doc = run_demo(out, quick=quick, seed=seed, device=device or "auto", show_progress=not as_json, threads=threads,
                   recipe=recipe)
    if as_json:
        print(json.dumps(doc, indent=2, default=str))
        return
    ours = doc["posewarp"]["metrics"]
    table = Table(title=f"posewarp demo: {doc['posewarp']['pairs']} held-out test pairs", title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("posewarp", justify="right")
    for title in BASELINES.values():
        table.add_column(title, justify="right")
    for name in ours:
        table.add_row(name, f"{ours[name]['value']:.4f}",
                      *(f"{doc[key]['metrics'][name]['value']:.4f}" for key in BASELINES))
    s1 = doc["stage1_validation"]
    if "miou" in s1:
        table.add_row("Stage I mIoU", f"{s1['miou']:.4f}", f"{s1.get('copy_miou', float('nan')):.4f} (copy the source parsing)")
    err.print(table)
    err.print(f"results grid: [bold]{doc['grid']}[/bold]; everything else in [bold]{out}[/bold]")
