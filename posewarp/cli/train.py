"""``posewarp train``: Stage I (pose-guided parser) or Stage II (geometric matcher, then Warping-GAN) training."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posewarp.cli.app import TRAINING, app
from posewarp.cli.options import Device, Json, Threads, choice
from posewarp.config import DESIGNS, PRESETS
from posewarp.config_ranges import AMP_MODES
from posewarp.presets import DEFAULT_PRESET


@app.command(
    name="train",
    rich_help_panel=TRAINING,
    epilog="[bold]Examples[/bold]\n\n"
    "  posewarp train --stage 1 --data data/train.h5 --preset deepfashion-256x176\n\n"
    "  posewarp train --stage 2 --data data/train.h5 --preset deepfashion-256x176 --stage1 runs/00000-stage1-train\n\n"
    "  posewarp train --stage 1 --data world.h5 --preset tiny --max-steps 500 --device cpu\n\n"
    "  posewarp train --stage 2 --resume runs/00001-stage2-train --max-steps 200000\n\n"
    "  torchrun --standalone --nproc_per_node=4 -m posewarp train --stage 2 --data data/train.h5 --preset paper\n\n"
    "  posewarp train --stage 2 --data data/train.h5 --preset tiny --no-gate --dry-run\n\n"
    "  posewarp train --stage 2 --data data/train.h5 --preset tiny --design paper --stage1 runs/00000-stage1-train",
)
def train(
    stage: int = typer.Option(..., "--stage", min=1, max=2, help="1: pose-guided parser; 2: matcher + Warping-GAN."),
    data: Path | None = typer.Option(None, "--data", help="Packed HDF5 pairs (posewarp pack) with train/test splits."),
    preset: str | None = typer.Option(
        None, "--preset", help=f"{', '.join(PRESETS)} (default: from the pack's image size, else {DEFAULT_PRESET})."
    ),
    design: str | None = typer.Option(
        None, "--design", help=f"Networks at the preset's sizes: {' or '.join(DESIGNS)} (default: the preset's, posewarp; "
        "paper: the authors' Warping-GAN)."
    ),
    config: Path | None = typer.Option(None, "--config", help="JSON file of config options (between preset and CLI)."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Training steps (of the generator phase)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Global batch, split over processes."),
    lr: float | None = typer.Option(None, "--lr", min=0.0, help="Adam learning rate (paper 2e-4)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of weights, data order and every random draw."),
    workers: int | None = typer.Option(None, "--workers", min=0, help="DataLoader worker processes per rank."),
    out: Path = typer.Option(Path("runs"), "--out", help="Folder of numbered run dirs."),
    desc: str | None = typer.Option(None, "--desc", help="Run dir name suffix (default: data-preset-batch)."),
    device: Device = None,
    threads: Threads = None,
    amp: str | None = typer.Option(None, "--amp", help=f"{', '.join(AMP_MODES)} (auto: bf16 if supported, else fp16; never on the CPU)."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue a run dir from its training-state.pt."),
    stage1: Path | None = typer.Option(
        None, "--stage1", help="Stage II: target parsing from this Stage I run (default: the ground truth)."
    ),
    matcher: Path | None = typer.Option(None, "--matcher", help="Stage II: reuse a trained matcher (skips its phase)."),
    matcher_steps: int | None = typer.Option(None, "--matcher-steps", min=0, help="Stage II: matcher phase length."),
    finetune_matcher: bool = typer.Option(False, "--finetune-matcher", help="Stage II: keep training the matcher."),
    no_gate: bool = typer.Option(False, "--no-gate", help="Stage II ablation: no soft gate (g = 1)."),
    no_warp: bool = typer.Option(False, "--no-warp", help="Stage II ablation: no warping block, no matcher."),
    vgg: Path | None = typer.Option(None, "--vgg", help="VGG19 weights file for the perceptual loss."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved config and stop."),
    as_json: Json = False,
) -> None:
    """Train Stage I or Stage II on a packed dataset (numbered run dir, resumable, DDP under torchrun)."""
    choice(preset, PRESETS, "--preset")
    choice(design, DESIGNS, "--design")
    choice(amp, AMP_MODES, "--amp")
    if stage == 1 and any((stage1, matcher, matcher_steps is not None, finetune_matcher, no_gate, no_warp, vgg)):
        raise typer.BadParameter("--stage1, --matcher, --matcher-steps, --finetune-matcher, --no-gate, --no-warp and "
                                 "--vgg are Stage II options", param_hint="--stage")
    if data is None and resume is None:
        raise typer.BadParameter("give the training data (or --resume RUN_DIR)", param_hint="--data")

    overrides = {
        "data.path": str(data) if data is not None else None,
        "data.batch_size": batch_size,
        "data.workers": workers,
        "max_steps": max_steps,
        "optim.lr": lr,
        "seed": seed,
        "desc": desc,
        "amp": amp,
        "stage1": str(stage1) if stage1 is not None else None,
        "matcher.path": str(matcher) if matcher is not None else None,
        "matcher.steps": matcher_steps,
        "matcher.finetune": True if finetune_matcher else None,
        "model.gate": False if no_gate else None,
        "model.warp": False if no_warp else None,
        "vgg_path": str(vgg) if vgg is not None else None,
    }

    from posewarp.console import err
    from posewarp.training.runner import configure
    from posewarp.training.runner import train as run_training

    cfg = configure(stage, preset=preset, config_file=config, overrides=overrides, resume=resume, design=design)
    doc = cfg.to_dict()
    if dry_run:
        if as_json:
            typer.echo(json.dumps(doc, indent=2))
        else:
            err.print_json(json.dumps(doc))
        return
    from posewarp.training.distributed import launched_rank

    main_rank = launched_rank() == 0
    if main_rank and not as_json:
        err.print_json(json.dumps(doc))
    result = run_training(cfg, out=out, device=device, resume=resume, show_progress=not as_json, threads=threads)
    if main_rank:
        if as_json:
            typer.echo(json.dumps({
                "run_dir": result.run_dir, "stage": result.stage, "phase": result.phase, "step": result.step,
                "interrupted": result.interrupted, "sec_per_step": result.sec_per_step, "device": result.device,
                "processes": result.world, "stats": result.stats, "validation": result.validation,
            }, indent=2))
        else:
            val = " ".join(f"{k}={v:.4g}" for k, v in result.validation.items())
            err.print(f"[bold]done[/bold]: {result.run_dir} at {result.phase} step {result.step}"
                      f"{' (interrupted)' if result.interrupted else ''}; {val}")
    if result.interrupted:
        from posewarp.interrupt import Interrupted

        raise Interrupted(f"the training state is saved; continue with `posewarp train --stage {result.stage} "
                          f"--resume {result.run_dir}`")  # fmt: skip
