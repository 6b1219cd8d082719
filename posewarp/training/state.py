"""The training state (``training-state.pt``): everything a run needs to continue exactly where it stopped.

Beside the networks it holds their optimizers, the GradScaler, the phase and the step. Random numbers are a
pure function of (seed, phase, step, rank) (``loop.seed_step``) and the data order of (seed, epoch), so the
step is all the RNG and data position a resumed run needs: N + N steps equal 2N steps bit for bit on a CPU.
It is written and read like every checkpoint (``posewarp.snapshots.save`` / ``load``), rank 0 only.
"""

from __future__ import annotations

import os
from typing import Any

from posewarp.config import FORMAT_VERSION, TrainConfig
from posewarp.errors import PosewarpError
from posewarp.snapshots import is_int, state_dict, tensor_dicts
from posewarp.training.distributed import Dist
from posewarp.training.run_dir import PHASES


def state_payload(stage, config: TrainConfig, ctx: Dist, step: int, train_pairs: int) -> dict[str, Any]:
    return {
        "kind": "training-state",
        "format_version": FORMAT_VERSION,
        "stage": config.stage,
        "phase": stage.phase,
        "step": int(step),
        "world": ctx.world,
        "train_pairs": int(train_pairs),
        "config": config.to_dict(),
        "networks": {name: state_dict(m) for name, m in stage.nets.items()},
        "optimizers": {name: opt.state_dict() for name, opt in stage.opts.items()},
        "scaler": ctx.scaler.state_dict() if ctx.scaler is not None else {},
    }


def load_state(stage, doc: dict[str, Any], ctx: Dist) -> int:
    """Restore networks, optimizers and scaler of ``stage`` from a training state; returns its step."""
    for name, net in stage.nets.items():
        net.load_state_dict(doc["networks"][name])
    for name, opt in stage.opts.items():
        opt.load_state_dict(doc["optimizers"][name])
    if ctx.scaler is not None and doc.get("scaler"):
        ctx.scaler.load_state_dict(doc["scaler"])
    return int(doc["step"])


def check_state(doc: dict[str, Any], path: str | os.PathLike) -> None:
    """A training state's own fields (``load`` checked the header) before a run resumes from it."""
    if doc.get("kind") != "training-state":
        raise PosewarpError(f"not a training state (kind {doc.get('kind')!r})", path)
    for key in ("stage", "train_pairs"):
        if not is_int(doc.get(key)):
            raise PosewarpError(f"'{key}' must be an integer, got {doc.get(key)!r}", path)
    if doc.get("phase") not in PHASES:
        raise PosewarpError(f"'phase' must be one of {', '.join(PHASES)}, got {doc.get('phase')!r}", path)
    tensor_dicts(doc.get("networks"), "networks", path)
    if not isinstance(doc.get("optimizers"), dict) or not isinstance(doc.get("scaler", {}), dict):
        raise PosewarpError("'optimizers' and 'scaler' must be dicts", path)
