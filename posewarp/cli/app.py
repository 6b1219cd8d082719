"""The root Typer app, its global options and the help panels every command is filed under."""

from __future__ import annotations

import typer

from posewarp import __version__, limits

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


def _limit_help(name: str) -> str:
    limit = limits.LIMITS[name]
    default = f"{int(limit.default):,}" if limit.default == int(limit.default) else f"{limit.default:g}"
    return f"Input limit: most {limit.help} (default {default}; or env {limit.env})."


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
    max_image_pixels: float | None = typer.Option(None, "--max-image-pixels", help=_limit_help("image_pixels")),
    max_image_aspect: float | None = typer.Option(None, "--max-image-aspect", help=_limit_help("image_aspect")),
    max_file_bytes: float | None = typer.Option(None, "--max-file-bytes", help=_limit_help("file_bytes")),
    max_json_bytes: float | None = typer.Option(None, "--max-json-bytes", help=_limit_help("json_bytes")),
    max_json_depth: float | None = typer.Option(None, "--max-json-depth", help=_limit_help("json_depth")),
) -> None:
    """posewarp: keypoints, parsing, packing, training, transfer and evaluation in one CLI."""
    state["debug"] = debug
    chosen = {"image_pixels": max_image_pixels, "image_aspect": max_image_aspect, "file_bytes": max_file_bytes,
              "json_bytes": max_json_bytes, "json_depth": max_json_depth}  # fmt: skip
    for name, value in chosen.items():
        if value is not None:
            if not value >= limits.LIMITS[name].minimum:
                raise typer.BadParameter(f"must be at least {limits.LIMITS[name].minimum:g}",
                                         param_hint=limits.LIMITS[name].option)  # fmt: skip
            limits.set_limit(name, value)
