"""The one training loop shared by Stage I, the geometric-matcher phase and Stage II.

A stage is a small object (``Stage`` below): its networks and optimizers, ``train_step(batch, ctx)``,
``validate_batch``/``summarize`` and ``sample_grid``. The loop owns everything else: the data order
(``EndlessBatches``), per-step seeding, the learning-rate schedule (constant then linear decay), AMP scaler
updates, logging (``stats.jsonl`` + Rich progress with losses and it/s), validation every ``val_every``
steps, sample grids, snapshots and the training state, the NaN guard and Ctrl-C.

Exactness: the data order is a pure function of (seed, epoch) and every random number of step ``s`` of a
phase comes from ``seed_step(seed, phase, s, rank)``, so a run resumed from a training state at step N
continues bit for bit like the run that never stopped (CPU; CUDA kernels may be nondeterministic).
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from posewarp import snapshots
from posewarp.config import TrainConfig, learning_rate
from posewarp.console import err, progress
from posewarp.errors import PosewarpError
from posewarp.formats.images import write_image
from posewarp.training import run_dir
from posewarp.training.distributed import Dist
from posewarp.training.run_dir import PHASES
from posewarp.training.state import state_payload


class NonFiniteLossError(PosewarpError):
    """A loss became NaN or infinite: the run stops; the last good training state stays on disk."""


class Stage:
    """What the loop needs from a stage. Subclasses fill ``nets`` (checkpointed), ``opts`` and ``lrs``."""

    kind: str = ""  # snapshot kind: "stage1" | "stage2" | "matcher"
    phase: str = "generator"

    def __init__(self) -> None:
        self.nets: dict[str, nn.Module] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.lrs: dict[str, float] = {}  # base learning rate of each optimizer

    def set_training(self, training: bool) -> None:
        for net in self.nets.values():
            net.train(training)

    def train_step(self, batch: dict[str, Any], ctx: Dist) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def validate_batch(self, batch: dict[str, Any], ctx: Dist) -> dict[str, torch.Tensor]:
        """Sums to accumulate over the validation set (summed over ranks too)."""
        raise NotImplementedError

    def summarize(self, sums: dict[str, torch.Tensor]) -> dict[str, float]:
        raise NotImplementedError

    def sample_grid(self, batch: dict[str, Any], ctx: Dist) -> np.ndarray:
        raise NotImplementedError

    def snapshot_networks(self) -> dict[str, nn.Module]:
        """What inference needs from this stage (saved in snapshots)."""
        return {"generator": self.nets["generator"]}


def seed_step(seed: int, phase: str, step: int, rank: int) -> None:
    """Seed torch (CPU and CUDA), numpy and random for one step of one phase on one rank
    (``step=-1``: building the networks, the same on every rank)."""
    state = np.random.SeedSequence([seed, PHASES.index(phase), step + 1, rank]).generate_state(2)
    value = int(state[0]) << 32 | int(state[1])
    torch.manual_seed(value)
    np.random.seed(int(state[0]))
    random.seed(value)


class EndlessBatches(Sampler[list[tuple[int, int]]]):
    """Global batches, forever, from training step ``start`` on: epoch ``e`` is a permutation seeded by
    (seed, e), cut into batches (an incomplete last batch is dropped); rank r takes its slice of each.

    Like ``DistributedSampler`` plus batching, but the global batch content does not depend on the number
    of ranks and the stream can start mid-epoch (exact resume). Items are ``(epoch, index)`` pairs, so the
    dataset knows each item's epoch even in worker processes (``PairDataset.set_epoch``: fresh flips).
    """

    def __init__(self, n: int, batch: int, *, rank: int = 0, world: int = 1, seed: int = 0, start: int = 0):
        if batch % world:
            raise PosewarpError(f"batch size {batch} is not divisible by the {world} processes")
        if n < batch:
            raise PosewarpError(f"the training split has {n} pairs, fewer than one batch of {batch}")
        self.n, self.batch, self.rank, self.world, self.seed, self.start = n, batch, rank, world, seed, start
        self.local = batch // world

    @property
    def per_epoch(self) -> int:
        return self.n // self.batch

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, skip = divmod(self.start, self.per_epoch)
        while True:
            perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
            for b in range(skip, self.per_epoch):
                chunk = perm[b * self.batch : (b + 1) * self.batch]
                yield [(epoch, i) for i in chunk[self.rank * self.local : (self.rank + 1) * self.local].tolist()]
            epoch, skip = epoch + 1, 0


def to_device(batch: dict[str, Any], device: torch.device, pose_radius: float = 4.0) -> dict[str, Any]:
    """Move a batch to the device and render its dense maps there (the datasets are read with ``maps=False``:
    one-hot parsing and pose disks are cheaper to make per batch on the device than per item in workers)."""
    from posewarp.data import add_maps

    out = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
    return out if "src_parsing" in out else add_maps(out, pose_radius)


class _StopFlag:
    """First Ctrl-C asks the loop to stop after the current step and save; a second one aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._old = None

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._old = None
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        err.print("[yellow]Ctrl-C: saving a training state after this step (Ctrl-C again to abort)[/yellow]")

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


@dataclass
class PhaseResult:
    step: int
    interrupted: bool = False
    last_stats: dict[str, float] = field(default_factory=dict)
    last_val: dict[str, float] = field(default_factory=dict)
    sec_per_step: float = float("nan")


class Meter:
    """Loss terms averaged since the last log (over steps and ranks), and the seconds per training step
    (wall time less what logging, validation, samples and snapshots took)."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.t_log = self.t_start = time.perf_counter()
        self.busy = self.busy_total = 0.0
        self.steps = 0

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.count += 1
        self.steps += 1

    def add_busy(self, seconds: float) -> None:
        self.busy += seconds
        self.busy_total += seconds

    def flush(self, ctx: Dist, now: float) -> dict[str, float]:
        """The mean of every term since the last flush, over this rank's steps and all ranks, and ``sec_per_step``."""
        keys = sorted(self.sums)
        vec = (torch.stack([self.sums[k] for k in keys]) / self.count).to(ctx.device)
        ctx.all_reduce(vec)
        out = {k: float(x) for k, x in zip(keys, (vec.cpu() / ctx.world).tolist())}
        out["sec_per_step"] = (now - self.t_log - self.busy) / self.count
        self.sums, self.count, self.busy, self.t_log = {}, 0, 0.0, now
        return out

    def sec_per_step(self) -> float:
        return (time.perf_counter() - self.t_start - self.busy_total) / max(1, self.steps)


def _fmt(stats: dict[str, float], keys: int = 5) -> str:
    items = [(k, v) for k, v in stats.items() if k not in ("step", "phase", "lr", "epoch")][:keys]
    return " ".join(f"{k}={v:.3g}" for k, v in items)


def set_learning_rates(stage: Stage, config: TrainConfig, step: int, max_steps: int) -> None:
    for name, opt in stage.opts.items():
        lr = learning_rate(config.optim, stage.lrs[name], step, max_steps)
        for group in opt.param_groups:
            group["lr"] = lr


def validate(stage: Stage, dataset: Dataset, config: TrainConfig, ctx: Dist) -> dict[str, float]:
    """The stage's metrics on the first ``val_batches`` batches of the test split.

    Rank 0 evaluates (with the unwrapped networks, no collectives) and broadcasts the numbers: no
    DistributedSampler padding, so nothing is counted twice.
    """
    result: dict[str, float] | None = None
    if ctx.main:
        n = len(dataset)
        if config.val_batches:
            n = min(n, config.val_batches * config.data.batch_size)
        loader = DataLoader(torch.utils.data.Subset(dataset, range(n)), batch_size=config.data.batch_size,
                            shuffle=False, num_workers=config.data.workers)
        sums: dict[str, torch.Tensor] = {}
        stage.set_training(False)
        try:
            with torch.no_grad():
                for batch in loader:
                    with ctx.autocast():
                        out = stage.validate_batch(to_device(batch, ctx.device, config.data.pose_radius), ctx)
                    for k, v in out.items():
                        v = v.detach().double()
                        sums[k] = sums[k] + v if k in sums else v
        finally:
            stage.set_training(True)
        result = stage.summarize(sums) if sums else {}
    return ctx.broadcast_object(result)


def run_phase(
    stage: Stage,
    config: TrainConfig,
    ctx: Dist,
    run: Path | None,
    train_set: Dataset,
    test_set: Dataset,
    *,
    start_step: int,
    max_steps: int,
    show_progress: bool = True,
) -> PhaseResult:
    """Train ``stage`` from ``start_step`` to ``max_steps``; rank 0 writes into ``run``."""
    phase, step = stage.phase, start_step
    result = PhaseResult(step=step)
    if step >= max_steps:
        return result

    # Data: one endless stream of batches that starts exactly at start_step; four fixed test pairs to picture.
    sampler = EndlessBatches(len(train_set), config.data.batch_size, rank=ctx.rank, world=ctx.world,
                             seed=config.seed, start=step)
    batches = iter(DataLoader(train_set, batch_sampler=sampler, num_workers=config.data.workers,
                              pin_memory=ctx.device.type == "cuda"))
    sample_batch = None
    if ctx.main and len(test_set):
        idx = list(range(min(4, len(test_set))))
        sample_batch = next(iter(DataLoader(torch.utils.data.Subset(test_set, idx), batch_size=len(idx))))

    meter = Meter()
    bar = progress() if show_progress and ctx.main else None
    task = bar.add_task(phase if config.stage == 2 else "stage 1", total=max_steps, completed=step, info="") if bar else None
    stage.set_training(True)
    with _StopFlag() as stop, bar or nullcontext():
        while step < max_steps:
            # Train one step, every random number seeded by (seed, phase, step, rank).
            seed_step(config.seed, phase, step, ctx.rank)
            batch = to_device(next(batches), ctx.device, config.data.pose_radius)
            set_learning_rates(stage, config, step, max_steps)
            stats = {k: v.detach().float().cpu() if torch.is_tensor(v) else torch.tensor(float(v))
                     for k, v in stage.train_step(batch, ctx).items()}
            if ctx.scaler is not None:
                ctx.scaler.update()
            step += 1
            meter.add(stats)

            # All ranks agree on a non-finite loss (stop, keeping the last good state) and on Ctrl-C.
            bad = [k for k, v in stats.items() if not torch.isfinite(v).all()]
            flags = torch.tensor([float(bool(bad)), float(stop.requested)], device=ctx.device)
            ctx.all_reduce(flags, op=torch.distributed.ReduceOp.MAX if ctx.distributed else None)
            if flags[0] > 0:
                raise _non_finite(bad, stats, phase, step, run)
            last, stopping = step == max_steps, bool(flags[1] > 0)
            validating = step % config.val_every == 0 or last
            t_busy = time.perf_counter()

            # Log (stats.jsonl and the progress bar) and validate.
            if step % config.log_every == 0 or validating or stopping:
                lr = next(iter(stage.opts.values())).param_groups[0]["lr"] if stage.opts else 0.0
                record = {"phase": phase, "step": step, "epoch": (step - 1) // sampler.per_epoch, "lr": lr,
                          **meter.flush(ctx, t_busy)}
                if validating:
                    result.last_val = validate(stage, test_set, config, ctx)
                    record.update({f"val/{k}": v for k, v in result.last_val.items()})
                    if ctx.main:
                        err.print(f"[bold]{phase} step {step}[/bold] validation: "
                                  + " ".join(f"{k}={v:.4g}" for k, v in result.last_val.items()))
                result.last_stats = record
                if ctx.main and run is not None:
                    run_dir.append_stats(run, record)
                if bar:
                    bar.update(task, completed=step,
                               info=f"{_fmt(record)} {1 / max(record['sec_per_step'], 1e-9):.2f} it/s")

            # Sample grid.
            if run is not None and sample_batch is not None and (step % config.sample_every == 0 or last):
                write_image(run_dir.sample_path(run, step, phase), sample_picture(stage, sample_batch, config, ctx))

            # Snapshot (not on Ctrl-C mid-phase) and training state.
            if step % config.snapshot_every == 0 or last or stopping:
                save(stage, config, ctx, run, step, len(train_set), snapshot=not stopping or last)
            meter.add_busy(time.perf_counter() - t_busy)
            if stopping:
                result.interrupted = True
                break
    result.step = step
    result.sec_per_step = meter.sec_per_step()
    return result


def sample_picture(stage: Stage, batch: dict[str, Any], config: TrainConfig, ctx: Dist) -> np.ndarray:
    stage.set_training(False)
    with torch.no_grad(), ctx.autocast():
        picture = stage.sample_grid(to_device(batch, ctx.device, config.data.pose_radius), ctx)
    stage.set_training(True)
    return picture


def save(stage: Stage, config: TrainConfig, ctx: Dist, run: Path | None, step: int, train_pairs: int,
         snapshot: bool = True) -> None:
    """Snapshot (for inference) and training state (for resume), rank 0 only, each replaced atomically."""
    if ctx.main and run is not None:
        if snapshot:
            snap = snapshots.snapshot_payload(stage.kind, config, step, stage.snapshot_networks())
            if stage.phase == "matcher":
                snapshots.save(run / snapshots.MATCHER_LATEST, snap)
            else:
                snapshots.save(run_dir.snapshot_path(run, step), snap)
                snapshots.save(run / snapshots.SNAPSHOT_LATEST, snap)
        snapshots.save(run / run_dir.STATE, state_payload(stage, config, ctx, step, train_pairs))
    ctx.barrier()


def _non_finite(bad: list[str], stats: dict[str, torch.Tensor], phase: str, step: int, run: Path | None):
    values = ", ".join(f"{k}={float(stats[k].detach().float().mean()):g}" for k in bad) if bad else "on another rank"
    where = ""
    if run is not None and (run / run_dir.STATE).exists():
        try:
            saved = snapshots.load(run / run_dir.STATE)
            where = (f"; the last good training state ({saved['phase']} step {saved['step']}) is {run / run_dir.STATE}:"
                     f" continue with --resume {run} (a lower --lr helps)")
        except PosewarpError:
            where = ""
    else:
        where = "; no training state was saved yet (lower --lr or check the data)"
    return NonFiniteLossError(f"{phase} loss is not finite at step {step} ({values}){where}")

