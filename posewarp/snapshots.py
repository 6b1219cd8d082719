"""What a snapshot is: the file inference loads, and how it rebuilds its networks (imports no training code).

Every posewarp checkpoint is a plain dict written with ``torch.save`` to a temp file and ``os.replace``d, and
read with ``weights_only=True`` (a file from the internet cannot run code); ``load`` type-checks its header.
A **snapshot** (``snapshot-XXXXXX.pt``, ``snapshot-latest.pt``, ``matcher-latest.pt``) holds ``kind``
("stage1" | "stage2" | "matcher"), ``format_version``, ``step``, the resolved ``config`` dict and ``weights`` =
{network name: state_dict} of what inference needs; ``load_snapshot`` range-checks the config, compares the
stored tensors with the network the config describes on the meta device, and only then builds it (nanoGPT
style: a snapshot is self-contained). A training state (``training.state``) is the other kind of checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from posewarp.config import FORMAT_VERSION, TrainConfig
from posewarp.errors import PosewarpError
from posewarp.formats import atomic

KINDS = ("stage1", "stage2", "matcher")
TITLES = {"stage1": "Stage I", "stage2": "Stage II", "matcher": "matcher"}  # what messages call each kind
SNAPSHOT_LATEST = "snapshot-latest.pt"  # in a run dir
MATCHER_LATEST = "matcher-latest.pt"


def save(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    with atomic.atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise PosewarpError("checkpoint not found" if not path.exists() else "not a regular file", path)
    try:
        doc = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling/zip problem is the file's fault
        reason = str(exc).split("\n")[0].split(". ")[0]
        raise PosewarpError(f"cannot read checkpoint ({type(exc).__name__}: {reason})", path) from None
    check_header(doc, path)
    return doc


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_header(doc: object, path: str | os.PathLike) -> None:
    """The fields every checkpoint has, with their types, before anything else is read from it."""
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise PosewarpError("not a posewarp checkpoint (no format_version)", path)
    version = doc["format_version"]
    if not is_int(version) or version < 1:
        raise PosewarpError(f"not a posewarp checkpoint: format_version must be a positive integer, got {version!r}",
                            path)  # fmt: skip
    if version > FORMAT_VERSION:
        raise PosewarpError(f"checkpoint format {version} is newer than this posewarp ({FORMAT_VERSION}); upgrade posewarp",
                            path)  # fmt: skip
    kind, step, config = doc.get("kind"), doc.get("step"), doc.get("config")
    if kind not in (*KINDS, "training-state"):
        raise PosewarpError(f"not a posewarp checkpoint (kind {kind!r})", path)
    if not is_int(step) or step < 0:
        raise PosewarpError(f"'step' must be a non-negative integer, got {step!r}", path)
    if not isinstance(config, dict):
        raise PosewarpError(f"'config' must be a dict, got {type(config).__name__}", path)


def tensor_dicts(value, what: str, path) -> dict[str, dict]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and all(isinstance(t, torch.Tensor) for t in v.values())
        for k, v in value.items()
    ):
        raise PosewarpError(f"'{what}' must map network names to dicts of tensors", path)
    return value


def snapshot_config(doc: dict[str, Any], path: str | os.PathLike) -> TrainConfig:
    """The config of a snapshot, type- and range-checked before any network is built from it."""
    from posewarp.config import validate

    try:
        config = TrainConfig.from_dict(doc["config"])
        validate(config)
    except PosewarpError as exc:
        raise PosewarpError(f"its config is not usable: {exc.message}", path) from None
    return config


def _check_fit(kind: str, config: TrainConfig, network: str, weights: dict[str, torch.Tensor], path) -> None:
    """The stored tensors have exactly the shapes of the network the config describes, compared on the meta
    device (nothing allocated): a tiny file cannot make the loader build a huge network."""
    with torch.device("meta"):
        expected = build(kind, config, network).state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    wrong = [f"{k} {tuple(weights[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in weights and weights[k].shape != v.shape]  # fmt: skip
    if missing or unexpected or wrong:
        parts = [f"{len(keys)} {what} (e.g. {', '.join(keys[:2])})"
                 for what, keys in (("missing", missing), ("unexpected", unexpected), ("of the wrong shape", wrong))
                 if keys]  # fmt: skip
        raise PosewarpError(f"the {network} weights do not fit the network in its config: {'; '.join(parts)}", path)


MAX_WEIGHT = 1e6  # |value| of a trained weight or running statistic; beyond it activations overflow float16/32


def check_values(network: str, weights: dict[str, torch.Tensor], path) -> None:
    """Every floating-point tensor is finite and of a plausible size: a snapshot saved after training diverged
    (all NaN) would otherwise render a flat picture that looks like a result."""
    for key, tensor in weights.items():
        if not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            raise PosewarpError(f"the {network} weight {key} holds {bad:,} of {tensor.numel():,} values that are "
                                "NaN or infinite (saved after training diverged?); use an earlier snapshot",
                                path)  # fmt: skip
        top = float(tensor.abs().max())
        if top > MAX_WEIGHT:
            raise PosewarpError(f"the {network} weight {key} holds a value of {top:.3g}, beyond any trained network "
                                f"(at most {MAX_WEIGHT:g}); use an earlier snapshot", path)  # fmt: skip


def state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """Weights of a module with any DDP / torch.compile wrapper removed, on the CPU."""
    module = getattr(module, "module", module)
    module = getattr(module, "_orig_mod", module)
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def snapshot_payload(kind: str, config: TrainConfig, step: int, weights: dict[str, nn.Module]) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown snapshot kind {kind!r}")
    return {
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "step": int(step),
        "config": config.to_dict(),
        "weights": {name: state_dict(m) for name, m in weights.items()},
    }


def resolve_snapshot(path_or_run: str | os.PathLike) -> Path:
    """A snapshot file, or a run dir (its ``snapshot-latest.pt``, else ``matcher-latest.pt``)."""
    path = Path(path_or_run)
    if path.is_dir():
        for name in (SNAPSHOT_LATEST, MATCHER_LATEST):
            if (path / name).is_file():
                return path / name
        raise PosewarpError("run directory has no snapshot-latest.pt or matcher-latest.pt yet", path)
    if not path.exists():
        raise PosewarpError("snapshot not found", path)
    return path


def build(kind: str, config: TrainConfig, network: str) -> nn.Module:
    """The untrained network ``network`` of a snapshot kind, built from the config."""
    from posewarp import models

    if kind == "stage1" and network == "generator":
        return models.build_parser(config)
    if kind in ("stage2", "matcher") and network == "matcher":
        return models.build_matcher(config)
    if kind == "stage2" and network == "generator":
        return models.build_generator(config)
    raise PosewarpError(f"a {kind} snapshot has no network {network!r}")


@dataclass(frozen=True)
class Snapshot:
    """A snapshot as loaded: the file read (a run dir resolved to its snapshot), its kind and config, and the
    networks asked for, each with its trained weights and in eval mode."""

    path: Path
    kind: str
    config: TrainConfig
    networks: dict[str, nn.Module]


def networks_of(kind: str, config: TrainConfig) -> tuple[str, ...]:
    """The networks a snapshot of ``kind`` holds for inference: a stage2 snapshot has its matcher when its
    grids use one."""
    from posewarp.models import uses_matcher

    if kind == "stage2":
        return ("generator", "matcher") if uses_matcher(config.model) else ("generator",)
    return ("matcher",) if kind == "matcher" else ("generator",)


def _read(path_or_run: str | os.PathLike, map_location) -> tuple[Path, str, TrainConfig, dict[str, dict]]:
    """The one read and check of a snapshot: its file, kind, config and weights, before any network is built."""
    path = resolve_snapshot(path_or_run)
    doc = load(path, map_location=map_location)
    kind = doc.get("kind")
    if kind not in KINDS:
        raise PosewarpError(f"not a posewarp snapshot (kind {kind!r})", path)
    return path, kind, snapshot_config(doc, path), tensor_dicts(doc.get("weights"), "weights", path)


def _network(path: Path, kind: str, config: TrainConfig, weights: dict[str, dict], network: str) -> nn.Module:
    """One network of a snapshot read by :func:`_read`: its tensors checked against its config, then built."""
    if network not in weights:
        raise PosewarpError(f"snapshot has no {network!r} weights (it has {', '.join(weights) or 'none'})", path)
    _check_fit(kind, config, network, weights[network], path)
    check_values(network, weights[network], path)
    module = build(kind, config, network)
    try:
        module.load_state_dict(weights[network])
    except RuntimeError as exc:
        raise PosewarpError(f"snapshot weights do not fit the network in its config: {exc}", path) from None
    return module.eval()


def load_networks(path_or_run: str | os.PathLike, names: Sequence[str] | None = None, *, kind: str | None = None,
                  map_location: str | torch.device = "cpu") -> Snapshot:
    """The networks ``names`` of a snapshot (default: every network it holds for inference, :func:`networks_of`)
    from one read and one check of the file; ``kind``: the kind it must be (checked before anything is built)."""
    path, found, config, weights = _read(path_or_run, map_location)
    if kind is not None and found != kind:
        raise PosewarpError(f"expected a {TITLES[kind]} snapshot, got a {found} snapshot", path_or_run)
    kind = found
    names = networks_of(kind, config) if names is None else names
    return Snapshot(path, kind, config, {name: _network(path, kind, config, weights, name) for name in names})


def load_snapshot(
    path_or_run: str | os.PathLike, network: str | None = None, map_location: str | torch.device = "cpu"
) -> tuple[str, TrainConfig, nn.Module]:
    """``(kind, config, module)`` with the trained weights loaded and the module in eval mode.

    ``network`` defaults to the snapshot's main network: the generator for stage1/stage2, the matcher for
    a matcher snapshot; ``network="matcher"`` gets the geometric matcher out of a stage2 snapshot.
    """
    path, kind, config, weights = _read(path_or_run, map_location)
    network = network or ("matcher" if kind == "matcher" else "generator")
    return kind, config, _network(path, kind, config, weights, network)
