"""The root Typer app, its global options and the help panels every command is filed under."""

from __future__ import annotations

import typer

from posewarp import __version__

PREPROCESSING = "Preprocessing"
DATA = "Data"
TRAINING = "Training"
INFERENCE = "Inference & evaluation"

app = typer.Typer(
    name="posewarp",
    help="Pose-guided person image synthesis with the Soft-Gated Warping-GAN, end to end.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"posewarp {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """posewarp: keypoints, parsing, packing, training, transfer and evaluation in one CLI."""
    state["debug"] = debug
