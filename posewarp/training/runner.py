"""``train(config, ...)``: one call that runs Stage I, or Stage II (matcher phase, then generator phase).

It sets up the device and DDP (``distributed.setup``), opens the pack, creates (or resumes) the numbered
run dir, writes ``config.json``, and hands each phase to the shared loop (``loop.run_phase``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from posewarp import snapshots
from posewarp.config import TrainConfig
from posewarp.console import err
from posewarp.errors import PosewarpError
from posewarp.formats import outputs
from posewarp.training import distributed, loop, run_dir
from posewarp.training import state as training_state


@dataclass
class TrainResult:
    run_dir: str | None
    stage: int
    phase: str
    step: int
    interrupted: bool = False
    stats: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    sec_per_step: float = float("nan")
    device: str = "cpu"
    world: int = 1


def configure(
    stage: int,
    *,
    preset: str | None = None,
    config_file: str | os.PathLike | None = None,
    overrides: dict | None = None,
    resume: str | os.PathLike | None = None,
    design: str | None = None,
) -> TrainConfig:
    """The resolved config of ``posewarp train``: preset < design < config file < CLI, or (``resume``) the run's
    own config.json < config file < CLI. Without a preset anywhere it follows the pack's image size."""
    from posewarp import config as C

    if resume is not None:
        if preset is not None or design is not None:
            raise PosewarpError("--preset and --design cannot change a resumed run (its config.json is used)", resume)
        saved = run_dir.read_config(resume)
        if saved.get("stage") != stage:
            raise PosewarpError(f"this is a stage {saved.get('stage')} run; it cannot resume as stage {stage}", resume)
        return check_used(C.resolve_resume(saved, config_file, overrides), overrides)
    if preset is None and (config_file is None or "preset" not in C.load_json(config_file)):
        data = (overrides or {}).get("data.path")
        size = None
        if data is not None and Path(data).is_file():
            from posewarp.data import PairDataset

            size = PairDataset(data, "train").image_size
        preset = C.default_preset(size)
    return check_used(C.resolve(stage, preset, config_file, overrides, design), overrides)


# Options that only a part of some designs reads: (override key, CLI option, does the config use it?).
_MATCHER_OPTIONS = (("matcher.path", "--matcher"), ("matcher.steps", "--matcher-steps"),
                    ("matcher.finetune", "--finetune-matcher"))  # fmt: skip


def check_used(config: TrainConfig, overrides: dict | None) -> TrainConfig:
    """Refuse an option the resolved design does not read (it would be accepted and silently ignored): the matcher's
    options without a matcher in the design, ``--vgg`` with no VGG loss."""
    from posewarp.errors import UsageError
    from posewarp.models import uses_matcher

    given = {k for k, v in (overrides or {}).items() if v is not None}
    if config.stage == 2 and not uses_matcher(config.model):
        named = [option for key, option in _MATCHER_OPTIONS if key in given]
        if named:
            raise UsageError(f"{', '.join(named)}: this design has no geometric matcher (model.grids "
                             f"{config.model.grids!r}, warp {config.model.warp}), so nothing would read "
                             f"{'it' if len(named) == 1 else 'them'}; leave {'it' if len(named) == 1 else 'them'} "
                             "out or choose a design with a matcher")  # fmt: skip
    if "vgg_path" in given and (config.loss.vgg == 0 or config.model.vgg == "random"):
        why = "the VGG loss weight is 0" if config.loss.vgg == 0 else "this preset's VGG is random (vgg: random)"
        raise UsageError(f"--vgg: {why}, so the file would not be read; leave it out or use a preset with the VGG "
                         "loss")  # fmt: skip
    return config


def phases(config: TrainConfig) -> list[str]:
    """Stage 1: generator. Stage 2: matcher (unless its grids need none, --matcher PATH or 0 steps), then generator."""
    from posewarp.models import uses_matcher

    if config.stage == 2 and uses_matcher(config.model) and config.matcher.path is None and config.matcher.steps > 0:
        return list(run_dir.PHASES)
    return [run_dir.PHASES[-1]]  # the generator phase alone


def _open_data(config: TrainConfig):
    from posewarp.data import PairDataset, splits

    path = config.data.path
    if path is None:
        raise PosewarpError("no training data: pass --data DATA.h5 (made by `posewarp pack`)")
    if not Path(path).is_file():
        raise PosewarpError("training data not found", path)
    names = splits(path)
    if "train" not in names:
        raise PosewarpError(f"the pack has no 'train' split (it has {', '.join(names) or 'none'})", path)
    d = config.data
    train_set = PairDataset(path, "train", flip=d.flip, pose_radius=d.pose_radius, seed=config.seed, maps=False)
    # validate on the validation split where there is one, so that choices made on it leave the test split unseen
    test_split = next(name for name in ("val", "test", "train") if name in names)
    if test_split == "train":
        err.print(f"[yellow]{path}: no 'val' or 'test' split; validating on the training split[/yellow]")
    test_set = PairDataset(path, test_split, flip=False, pose_radius=d.pose_radius, seed=config.seed, maps=False)
    h, w = train_set.image_size
    multiple = 2 ** config.model.n_downsample
    if h % multiple or w % multiple:
        raise PosewarpError(f"image size {h}x{w} is not a multiple of {multiple} (2 ** model.n_downsample)", path)
    return train_set, test_set


def _matcher_for_generator(config: TrainConfig, run: Path | None, ctx):
    from posewarp.models import uses_matcher
    from posewarp.training.stage2 import pretrained_matcher

    if not uses_matcher(config.model):
        return None

    source = config.matcher.path
    if source is None and run is not None and (run / snapshots.MATCHER_LATEST).is_file():
        source = run / snapshots.MATCHER_LATEST
    if source is None:
        if ctx.main:
            err.print("[yellow]no trained matcher (matcher.steps = 0 and no --matcher): the warp starts at the identity[/yellow]")
        return pretrained_matcher(config)
    _, _, module = snapshots.load_snapshot(source, network="matcher")
    return module


def _stage1_for_generator(config: TrainConfig):
    if config.stage1 is None:
        return None
    kind, _, module = snapshots.load_snapshot(config.stage1)
    if kind != "stage1":
        raise PosewarpError(f"--stage1 needs a Stage I run or snapshot, this is a {kind} snapshot", config.stage1)
    return module


def _build(phase: str, config: TrainConfig, ctx, run: Path | None):
    if config.stage == 1:
        from posewarp.training.stage1 import Stage1

        return Stage1(config, ctx)
    from posewarp.training.stage2 import MatcherStage, Stage2, log_vgg_choice

    if phase == "matcher":
        return MatcherStage(config, ctx)
    log_vgg_choice(config, ctx.main)
    return Stage2(config, ctx, matcher=_matcher_for_generator(config, run, ctx), stage1=_stage1_for_generator(config))


def train(
    config: TrainConfig,
    *,
    out: str | os.PathLike = "runs",
    device: str | None = None,
    resume: str | os.PathLike | None = None,
    show_progress: bool = True,
    threads: int | None = None,
) -> TrainResult:
    """Train the stage of ``config``; ``resume`` continues a run dir from its ``training-state.pt``.
    On a CPU ``threads`` intra-op threads (default: ``OMP_NUM_THREADS``, else the cores not busy)."""
    from posewarp.config import validate
    from posewarp.threads import cpu_threads

    validate(config)
    _check_inputs(config)
    if resume is None:
        outputs.check_folder(out)
    ctx = distributed.setup(device, config.amp)
    try:
        with cpu_threads(threads) if ctx.device.type == "cpu" else contextlib.nullcontext() as note:
            if note and ctx.main:
                err.print(f"CPU: {note}")
            return _train(config, ctx, out, resume, show_progress)
    finally:
        ctx.close()


def _check_inputs(config: TrainConfig) -> None:
    """The files a run will load later exist, before a run dir is made for it."""
    for path in (config.stage1, config.matcher.path):
        if path is not None:
            snapshots.resolve_snapshot(path)
    if config.vgg_path is not None and not Path(config.vgg_path).is_file():
        raise PosewarpError("--vgg: weights file not found", config.vgg_path)


def _remove_if_empty(run: Path | None) -> None:
    """A run dir that failed before its first training state holds nothing worth keeping."""
    if run is None or not run.is_dir() or (run / run_dir.STATE).exists() or (run / snapshots.MATCHER_LATEST).exists():
        return
    for path in sorted(run.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    run.rmdir()


def _train(config: TrainConfig, ctx, out, resume, show_progress: bool) -> TrainResult:
    train_set, test_set = _open_data(config)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, image_size=train_set.image_size))
    state = None
    if resume is not None:
        run = Path(resume)
        state_path = run / run_dir.STATE
        if not state_path.is_file():
            raise PosewarpError("no training-state.pt to resume from", run)
        state = snapshots.load(state_path)
        training_state.check_state(state, state_path)
        if state.get("stage") != config.stage:
            raise PosewarpError(f"this is a stage {state.get('stage')} run; it cannot resume as stage {config.stage}", run)
        if state.get("train_pairs") != len(train_set):
            raise PosewarpError(f"the run trained on {state.get('train_pairs')} pairs, this pack has {len(train_set)}:"
                                " not the same data", config.data.path)
        if ctx.main:
            run_dir.truncate_stats(run, state["phase"], int(state["step"]))
            run_dir.write_config(run, config.to_dict())
            err.print(f"resuming [bold]{run}[/bold] at {state['phase']} step {state['step']}")
    else:
        run = None
        if ctx.main:
            desc = config.desc or run_dir.describe(config.data.path, config.preset, config.data.batch_size,
                                                   _ablation_tags(config))
            run = run_dir.create(out, config.stage, desc)
            run_dir.write_config(run, config.to_dict())
            err.print(f"run dir [bold]{run}[/bold]")
        run = Path(ctx.broadcast_object(str(run)))
    try:
        return _run_phases(config, ctx, run, state, train_set, test_set, show_progress)
    except BaseException:
        if resume is None and ctx.main:
            _remove_if_empty(run)
        raise


def _run_phases(config: TrainConfig, ctx, run: Path, state, train_set, test_set, show_progress: bool) -> TrainResult:
    import torch

    if ctx.main:
        amp = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16 + GradScaler"}[ctx.amp_dtype]
        err.print(f"device {ctx.device} x {ctx.world} process(es), AMP {amp}, {len(train_set)} training pairs, "
                  f"{len(test_set)} {test_set.split} pairs to validate on, "
                  f"{train_set.image_size[0]}x{train_set.image_size[1]}")
    torch.backends.cudnn.benchmark = ctx.device.type == "cuda"

    todo = phases(config)
    start_phase = state["phase"] if state is not None else todo[0]
    if start_phase not in todo:
        raise PosewarpError(f"the training state is in phase {start_phase!r}, which this config does not run", run)
    result = TrainResult(run_dir=str(run), stage=config.stage, phase=start_phase, step=0,
                         device=str(ctx.device), world=ctx.world)
    for phase in todo[todo.index(start_phase):]:
        loop.seed_step(config.seed, phase, -1, 0)  # weights: a function of the seed, equal on every rank
        stage = _build(phase, config, ctx, run)
        start = 0
        if state is not None and state["phase"] == phase:
            try:
                start = training_state.load_state(stage, state, ctx)
            except (KeyError, RuntimeError, ValueError, TypeError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise PosewarpError(f"the training state does not fit this run's networks ({reason})",
                                    run / run_dir.STATE) from None  # fmt: skip
        max_steps = config.matcher.steps if phase == "matcher" else config.max_steps
        res = loop.run_phase(stage, config, ctx, run, train_set, test_set, start_step=start, max_steps=max_steps,
                             show_progress=show_progress)
        result.phase, result.step, result.interrupted = phase, res.step, res.interrupted
        result.stats, result.validation, result.sec_per_step = res.last_stats, res.last_val, res.sec_per_step
        if res.interrupted:
            if ctx.main:
                err.print(f"[yellow]stopped at {phase} step {res.step}; continue with "
                          f"`posewarp train --stage {config.stage} --resume {run}`[/yellow]")
            return result
        ctx.barrier()
    return result


def _ablation_tags(config: TrainConfig) -> list[str]:
    tags = []
    if config.stage == 2:
        if not config.model.warp:
            tags.append("nowarp")
        elif not config.model.gate:
            tags.append("nogate")
        if config.stage1:
            tags.append("stage1parsing")
    return tags
