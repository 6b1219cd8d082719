"""``posewarp synth``: write a synthetic world of people with exact keypoints, parsing and pose pairs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import DATA, app
from posewarp.cli.options import Json, Overwrite, parse_size
from posewarp.synth import recipes
from posewarp.synth.recipes import DEFAULT_SIZE, DEFAULT_TEST_FRACTION


@app.command(
    rich_help_panel=DATA,
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp synth data/synth --identities 200 --poses-per-identity 8 --size 256x176\n\n"
    "  posewarp synth data/market-like --identities 500 --poses-per-identity 6 --size 128x64 --seed 1\n\n"
    "  posewarp synth data/fashion-like -n 200 -k 6 --size 256x176 --recipe fashion --val-fraction 0.1\n\n"
    "  posewarp synth tiny --identities 6 --poses-per-identity 4 --size 128x64 --pairs-per-identity 4 --json\n\n"
    "  posewarp synth data/synth -n 200 -k 8 --resume   # finish a world an interrupted run began",
)
def synth(
    out: Path = typer.Argument(..., help="Folder to write (images/, keypoints/, parsing/, CSVs, meta.json)."),
    identities: int = typer.Option(..., "--identities", "-n", help="Number of different people."),
    poses_per_identity: int = typer.Option(..., "--poses-per-identity", "-k", help="Poses (images) per person."),
    size: str | None = typer.Option(None, "--size", help=f"Frame HxW, e.g. 128x64 (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})."),
    seed: int | None = typer.Option(None, "--seed", help="World seed (default 0); same seed, identical files."),
    test_fraction: float | None = typer.Option(
        None, "--test-fraction", help=f"Share of identities held out for pairs-test.csv (default {DEFAULT_TEST_FRACTION})."
    ),
    val_fraction: float | None = typer.Option(
        None, "--val-fraction", help="Share of identities held out for pairs-val.csv (default 0: no validation split)."
    ),
    recipe: str | None = typer.Option(
        None, "--recipe", help=f"How the world looks: {', '.join(recipes.RECIPES)} (default {recipes.DEFAULT_RECIPE}; "
        "fashion and street change backdrop, light and camera per photo and write estimated keypoints and parsing, "
        "the exact ones under truth/).",
    ),
    pairs_per_identity: int | None = typer.Option(
        None, "--pairs-per-identity", help="Sample this many ordered pairs per person (default: all K*(K-1))."
    ),
    overwrite: Overwrite = False,
    resume: bool = typer.Option(False, "--resume", help="Finish a world an interrupted run (same options) began."),
    as_json: Json = False,
) -> None:
    """Render people in many poses, with exact OpenPose keypoints, 20-class parsing and PATN pair files."""
    hw = parse_size(size)
    if identities < 1:
        raise typer.BadParameter(f"must be at least 1, got {identities}", param_hint="--identities")
    if poses_per_identity < 1:
        raise typer.BadParameter(f"must be at least 1, got {poses_per_identity}", param_hint="--poses-per-identity")
    if test_fraction is not None and not 0.0 <= test_fraction <= 1.0:
        raise typer.BadParameter(f"must lie in [0, 1], got {test_fraction}", param_hint="--test-fraction")
    held_for_test = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
    if val_fraction is not None and not 0.0 <= val_fraction <= 1.0 - held_for_test:
        raise typer.BadParameter(f"must lie in [0, 1 - test fraction], got {val_fraction}", param_hint="--val-fraction")
    if recipe is not None and recipe not in recipes.RECIPES:
        raise typer.BadParameter(f"choose one of {', '.join(recipes.RECIPES)}, got {recipe!r}", param_hint="--recipe")
    if seed is not None and seed < 0:
        raise typer.BadParameter(f"must be 0 or more, got {seed}", param_hint="--seed")
    if pairs_per_identity is not None and pairs_per_identity < 1:
        raise typer.BadParameter(f"must be at least 1, got {pairs_per_identity}", param_hint="--pairs-per-identity")
    if resume and overwrite:
        raise typer.BadParameter("--resume continues a world, --overwrite replaces it: choose one", param_hint="--resume")

    from posewarp.console import err, summary_table
    from posewarp.synth import generate

    given = {"size": hw, "seed": seed, "test_fraction": test_fraction, "val_fraction": val_fraction, "recipe": recipe}
    meta = generate(out, identities=identities, poses_per_identity=poses_per_identity,
                    pairs_per_identity=pairs_per_identity, overwrite=overwrite, resume=resume, show_progress=not as_json,
                    **{k: v for k, v in given.items() if v is not None})  # the library's defaults for the rest
    if as_json:
        print(json.dumps(meta, indent=2))
        return
    rows = {
        "folder": str(out),
        "size (HxW)": f"{meta['size'][0]}x{meta['size'][1]}",
        "images": meta["images"],
        "recipe": meta["recipe"]["name"],
        "identities (train / val / test)": f"{meta['train_identities']} / {meta['val_identities']} / "
                                           f"{meta['test_identities']}",
        "pairs (train / val / test)": f"{meta['train_pairs']} / {meta['val_pairs']} / {meta['test_pairs']}",
        "views (front / side / back)": "{front} / {side} / {back}".format(**meta["views"]),
        "visible keypoints / image": f"{meta['visible_keypoints'] / max(meta['images'], 1):.1f} of 18",
        "seed": meta["seed"],
    }
    err.print(summary_table("posewarp synth", rows))
    if poses_per_identity == 1:
        err.print("[yellow]one pose per identity gives no pairs; use --poses-per-identity 2 or more[/yellow]")
