"""``posewarp weights list | download | verify | path``: the pretrained files and their checked download."""

from __future__ import annotations

import json

import typer

from posewarp.cli.app import PREPROCESSING, app
from posewarp.cli.options import Json

weights_app = typer.Typer(
    help="Pretrained files: list them, download (sha256-checked, resumable), verify, print their path.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(weights_app, name="weights", rich_help_panel=PREPROCESSING)


@weights_app.command(
    "list", epilog="[bold]Examples[/bold]\n\n  posewarp weights list\n\n  posewarp weights list --json"
)
def list_(as_json: Json = False) -> None:
    """Every registered file: name, size, whether it is downloaded, what it is."""
    from rich.table import Table

    from posewarp import weights as W
    from posewarp.console import err

    rows = []
    for name, spec in W.REGISTRY.items():
        path = W.expected_path(name)
        rows.append(
            {
                "name": name,
                "file": spec.filename,
                "size": spec.size,
                "sha256": spec.sha256,
                "checked": "size+sha256" if spec.sha256 else ("size" if spec.size else "existence only"),
                "present": path.is_file(),
                "path": str(path),
                "description": spec.description,
                "source": spec.source,
            }
        )
    if as_json:
        print(json.dumps({"home": str(W.weights_home()), "weights": rows}, indent=2))
        return
    table = Table(title=f"pretrained files in {W.weights_home()}", title_justify="left")
    for col in ("name", "file", "size", "checked", "present", "description"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for r in rows:
        size = f"{r['size'] / 1e6:.1f} MB" if r["size"] else "?"
        checked = r["checked"] if r["checked"] != "existence only" else "[yellow]existence only (no sha256 known)"
        table.add_row(r["name"], r["file"], size, checked, "yes" if r["present"] else "[dim]no", r["description"])
    err.print(table)


@weights_app.command(
    "download",
    epilog="[bold]Examples[/bold]\n\n  posewarp weights download openpose\n\n"
    "  posewarp weights download openpose --url https://my-mirror.example/body_pose_model.pth",
)
def download(
    names: list[str] = typer.Argument(..., help="Registry names (see `posewarp weights list`)."),
    url: str | None = typer.Option(None, "--url", help="Download from this URL instead (a mirror; http, https, file)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Download files into $POSEWARP_HOME (default ~/.cache/posewarp), resuming and checking sha256."""
    from posewarp import weights as W
    from posewarp.console import err

    if url is not None and len(names) != 1:
        raise typer.BadParameter("--url works with exactly one name", param_hint="--url")
    for name in names:
        W.entry(name)  # unknown names fail before anything downloads
    for name in names:
        path = W.download(name, url=url, show_progress=not quiet)
        err.print(f"[green]ok[/green] {name}: {path}")


@weights_app.command(
    "verify", epilog="[bold]Examples[/bold]\n\n  posewarp weights verify\n\n  posewarp weights verify openpose"
)
def verify(
    name: str | None = typer.Argument(None, help="One registry name (default: every downloaded file)."),
    as_json: Json = False,
) -> None:
    """Check size and sha256 of downloaded files; exit 1 if one is wrong (or NAME is missing)."""
    from posewarp import weights as W
    from posewarp.console import err
    from posewarp.errors import PosewarpError

    if name is not None:
        names = [W.entry(name).name]
    else:
        names = [n for n in W.REGISTRY if W.expected_path(n).is_file()]
    results = {n: W.verify(n) for n in names}
    if as_json:
        print(json.dumps({n: {"ok": ok, "message": msg} for n, (ok, msg) in results.items()}, indent=2))
    else:
        if not names:
            err.print(f"no downloaded files in {W.weights_home()}")
        for n, (ok, msg) in results.items():
            err.print(f"{'[green]ok[/green]' if ok else '[red]BAD[/red]'} {n}: {msg}")
    bad = [n for n, (ok, _) in results.items() if not ok]
    if bad:
        raise PosewarpError("verification failed for " + ", ".join(bad))


@weights_app.command("path", epilog="[bold]Examples[/bold]\n\n  posewarp weights path openpose")
def path(name: str = typer.Argument(..., help="Registry name.")) -> None:
    """Print where NAME's file is expected (whether or not it is downloaded)."""
    from posewarp import weights as W

    print(W.expected_path(name))
