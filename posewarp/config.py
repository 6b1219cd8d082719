"""Training configuration: frozen dataclasses, named presets (their table: ``presets.py``), and the preset < config
file < CLI precedence.

Sizes follow the authors' code (reference/paper.md 1.2): pix2pixHD-style generators (ngf 64, 3 downsamples,
9 residual blocks), PatchGAN discriminators (ndf 64, 3 layers), Adam 2e-4 with betas (0.5, 0.999), constant
then linear decay, LSGAN + discriminator feature matching (lambda 10) + VGG19 perceptual (lambda 10) + L1
(lambda 10) for Stage II, pixel-wise softmax cross-entropy for Stage I.

A config is plain data: ``asdict`` gives the JSON saved as ``config.json`` and inside every checkpoint, and
``TrainConfig.from_dict`` rebuilds it (nanoGPT style), so a snapshot can rebuild its own network.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posewarp import config_ranges
from posewarp.errors import PosewarpError
from posewarp.presets import DEFAULT_PRESET, PRESETS

FORMAT_VERSION = 1


@dataclass(frozen=True)
class DataConfig:
    path: str | None = None  # the HDF5 pack (posewarp pack); stored so that --resume needs nothing else
    batch_size: int = 8  # global batch, split evenly over the DDP ranks
    workers: int = 0
    flip: bool = False  # the authors used no flip augmentation
    pose_radius: float = 4.0
    image_size: tuple[int, int] | None = None  # (H, W) of the pack, recorded at training time for inference


@dataclass(frozen=True)
class ModelConfig:
    ngf: int = 64
    n_downsample: int = 3
    n_blocks: int = 9
    ndf: int = 64
    d_layers: int = 3
    part_prior: bool = False  # Stage I also sees the source parsing moved part by part onto the target pose
    parser_skips: bool = False  # Stage I is a U-Net (encoder levels reach the decoder)
    # Stage II only
    gate: bool = True  # soft gate in the warping block (--no-gate ablation)
    warp: bool = True  # warping block at all (--no-warp ablation = plain ResNet generator, the paper's woWB)
    extra_block: bool = False
    # The defaults below are the paper's design; the tiny preset sets posewarp's (nn/warping_generator.py).
    warp_levels: str = "bottleneck"  # "bottleneck" (paper) or "all": a block per level, warped skips to the decoder
    gate_mode: str = "spatial"  # "spatial" (paper: out = Phi + g W(R(Phi))) or "channel" (per-channel selection)
    grids: str = "matcher"  # transformation grids: "matcher" (paper), "parts" (per-part keypoint maps) or both
    region_style: bool = False  # source mean colour / feature per label painted into the target parsing
    upsample: str = "transposed"  # decoder upsampling: "transposed" (paper) or "resize" (resize + conv)
    composite: bool = False  # output = soft per-pixel selection of the rendering, the source and the warped source
    refine: bool = False  # a residual network repaints the composite (needs composite)
    matcher_features: str = "vgg16"  # "small" (trained from scratch) or "vgg16" (the paper's GEO trunk)
    matcher_width: int = 32  # "small" features: first layer width
    matcher_feature_size: int | None = None  # correlation resolution (square); None: 15 (vgg16) or 16 (small)
    vgg: str = "pretrained"  # perceptual loss trunk: "pretrained" VGG19 from disk, "random" (tests, tiny), or
    # "world": the encoder of a parser trained in-tool on the synthetic world (vgg_path: its checkpoint)


# The two designs of the networks. ModelConfig's defaults are the paper's, so a snapshot written before
# posewarp's design existed rebuilds as it was trained; presets choose posewarp's, and
# ``posewarp train --design paper`` (``design(cfg, "paper")``) puts the paper's networks and losses on any preset.
PAPER_DESIGN = {"part_prior": False, "parser_skips": False, "warp_levels": "bottleneck", "gate_mode": "spatial",
                "grids": "matcher", "region_style": False, "upsample": "transposed", "composite": False,
                "refine": False}
POSEWARP_DESIGN = {"part_prior": True, "parser_skips": True, "warp_levels": "all", "gate_mode": "channel",
                   "grids": "parts", "region_style": True, "upsample": "resize", "composite": True, "refine": True}
PAPER_LOSSES = {"loss.vgg": 10.0, "loss.ssim": 0.0}  # the perceptual term (a preset may drop it), no SSIM term
DESIGNS = {
    "paper": {**{f"model.{k}": v for k, v in PAPER_DESIGN.items()}, **PAPER_LOSSES},
    "posewarp": {f"model.{k}": v for k, v in POSEWARP_DESIGN.items()},
}


@dataclass(frozen=True)
class LossConfig:
    ce: float = 1.0  # Stage I pixel-wise softmax cross-entropy
    adv: float = 1.0  # LSGAN
    feat: float = 10.0  # discriminator feature matching (the paper's pyramidal hierarchy loss)
    vgg: float = 10.0  # Stage II perceptual
    l1: float = 10.0  # Stage II pixel L1
    ssim: float = 0.0  # Stage II structure: 1 - SSIM (no pretrained network needed)
    matcher_grid: float = 1.0  # self-supervised grid loss on random transforms
    matcher_align: float = 1.0  # warped source parsing vs target parsing


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_start: float = 0.5  # fraction of max_steps after which the lr falls linearly to 0


@dataclass(frozen=True)
class MatcherConfig:
    steps: int = 2000  # matcher phase length inside stage 2 (0: skip, e.g. with --matcher PATH)
    lr: float = 1e-3
    path: str | None = None  # reuse a trained matcher (matcher-latest.pt or a run dir)
    finetune: bool = False  # keep training the matcher with the generator


@dataclass(frozen=True)
class TrainConfig:
    stage: int = 1
    preset: str = DEFAULT_PRESET
    desc: str = ""
    seed: int = 0
    max_steps: int = 100_000
    amp: str = "auto"  # one of config_ranges.AMP_MODES (always off on CPU)
    log_every: int = 50
    sample_every: int = 1000
    val_every: int = 1000
    val_batches: int = 20  # 0: the whole test split
    snapshot_every: int = 5000
    stage1: str | None = None  # Stage II: take target parsing from this Stage I run instead of the ground truth
    stage1_share: float = 1.0  # with stage1: the share of training pairs that get its prediction (the rest the truth)
    vgg_path: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    matcher: MatcherConfig = field(default_factory=MatcherConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TrainConfig:
        return _apply(cls(), doc, "")

    def replace(self, overrides: dict[str, Any]) -> TrainConfig:
        """Apply ``{"optim.lr": 1e-3, "max_steps": 10}`` style overrides (dotted keys or nested dicts)."""
        return _apply(self, _nest(overrides), "")


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _apply(obj, doc: dict[str, Any], prefix: str):
    if not isinstance(doc, dict):
        raise PosewarpError(f"config section {prefix.rstrip('.') or '<root>'} must be an object")
    fields = {f.name: f for f in dataclasses.fields(obj)}
    changes = {}
    for key, value in doc.items():
        if key not in fields:
            raise PosewarpError(f"unknown config option '{prefix}{key}' (known: {', '.join(fields)})")
        if isinstance(value, dict) and not dataclasses.is_dataclass(getattr(obj, key)):
            raise PosewarpError(f"option {prefix}{key} must be a value, not an object")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            changes[key] = _apply(current, value, f"{prefix}{key}.")
        else:
            changes[key] = _check_type(current, value, fields[key], f"{prefix}{key}")
    return dataclasses.replace(obj, **changes)


def _check_type(current, value, f: dataclasses.Field, name: str):
    kind = str(f.type)
    if value is None:
        if "None" in kind:
            return None
        raise PosewarpError(f"option {name} cannot be null")
    if kind.startswith("tuple"):
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(type(v) is int and v > 0 for v in value)):
            raise PosewarpError(f"option {name} must be [height, width], got {value!r}")
        return tuple(value)
    if "bool" in kind:
        if not isinstance(value, bool):
            raise PosewarpError(f"option {name} must be true or false, got {value!r}")
    elif "int" in kind and "float" not in kind:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PosewarpError(f"option {name} must be an integer, got {value!r}")
    elif "float" in kind:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PosewarpError(f"option {name} must be a number, got {value!r}")
        value = float(value)
    elif "str" in kind and not isinstance(value, str):
        raise PosewarpError(f"option {name} must be a string, got {value!r}")
    return value


def preset(name: str, stage: int) -> TrainConfig:
    """A row of ``presets.PRESETS`` as a config for ``stage``: its design's networks (``DESIGNS``), then its sizes and
    schedule; every option the row does not name keeps ``TrainConfig``'s default."""
    if stage not in (1, 2):
        raise PosewarpError(f"--stage must be 1 or 2, got {stage}")
    if name not in PRESETS:
        raise PosewarpError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    row = PRESETS[name]
    ngf, n_downsample, n_blocks, ndf, d_layers = row["size"]
    features, width, feature_size = row["matcher"]
    trunk, vgg_weight = row["vgg"]
    max_steps, matcher_steps = row["steps"]
    log_every, sample_every, val_every, snapshot_every = row["every"]
    return TrainConfig().replace({
        **DESIGNS[row["design"]],
        "preset": name, "stage": stage, "max_steps": max_steps, "log_every": log_every, "sample_every": sample_every,
        "val_every": val_every, "val_batches": row["val"], "snapshot_every": snapshot_every,
        "data.batch_size": row["batch"][stage - 1], "data.workers": row["workers"],
        "model.ngf": ngf, "model.n_downsample": n_downsample, "model.n_blocks": n_blocks, "model.ndf": ndf,
        "model.d_layers": d_layers, "model.matcher_features": features, "model.matcher_width": width,
        "model.matcher_feature_size": feature_size, "model.vgg": trunk, "loss.vgg": vgg_weight,
        "loss.ssim": row["ssim"],
        "optim.lr": row["lr"], "matcher.steps": matcher_steps,
    })  # fmt: skip


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    from posewarp.formats import jsonfile

    if not Path(path).exists():
        raise PosewarpError("config file not found", path)
    try:
        doc = jsonfile.read(path)
    except PosewarpError as exc:
        raise PosewarpError(f"cannot read config file: {exc.message}", path) from None
    if not isinstance(doc, dict):
        raise PosewarpError("config file must hold a JSON object", path)
    return doc


def default_preset(image_size: tuple[int, int] | None) -> str:
    """The preset for a pack's image size (None: no pack) when neither the CLI nor a config file names one."""
    chosen = [name for name, row in PRESETS.items() if image_size is not None and row["pack"] == tuple(image_size)]
    return chosen[0] if chosen else DEFAULT_PRESET


def design(cfg: TrainConfig, name: str) -> TrainConfig:
    """``cfg`` with the networks (and for the paper, the losses) of the named design, its sizes kept."""
    if name not in DESIGNS:
        raise PosewarpError(f"unknown design {name!r} (choose from {', '.join(DESIGNS)})")
    return cfg.replace(DESIGNS[name])


def resolve(
    stage: int,
    preset_name: str | None = None,
    config_file: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    design_name: str | None = None,
) -> TrainConfig:
    """preset < design < config file < CLI overrides. A config file may name its own preset (CLI --preset wins)."""
    file_doc = load_json(config_file) if config_file is not None else {}
    name = file_doc.get("preset", preset_name) if preset_name is None else preset_name
    cfg = preset(name or DEFAULT_PRESET, stage)
    if design_name is not None:
        cfg = design(cfg, design_name)
    if file_doc:
        file_doc = {k: v for k, v in file_doc.items() if k not in ("preset", "stage")}
        try:
            cfg = cfg.replace(file_doc)
        except PosewarpError as exc:
            raise PosewarpError(exc.message, config_file) from None
    cfg = cfg.replace({k: v for k, v in (overrides or {}).items() if v is not None})
    validate(cfg)
    return cfg


def resolve_resume(
    saved: dict[str, Any],
    config_file: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """A resumed run: its own ``config.json`` < config file < CLI overrides (e.g. a longer --max-steps)."""
    cfg = TrainConfig.from_dict(saved)
    if config_file is not None:
        doc = {k: v for k, v in load_json(config_file).items() if k not in ("preset", "stage")}
        try:
            cfg = cfg.replace(doc)
        except PosewarpError as exc:
            raise PosewarpError(exc.message, config_file) from None
    cfg = cfg.replace({k: v for k, v in (overrides or {}).items() if v is not None})
    saved_cfg = TrainConfig.from_dict(saved)
    if cfg.model != saved_cfg.model or cfg.stage != saved_cfg.stage:
        changed = [k for k, v in dataclasses.asdict(cfg.model).items() if getattr(saved_cfg.model, k) != v]
        raise PosewarpError(f"a resumed run keeps its networks; these model options differ: {', '.join(changed)}")
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    """Every value within its range (``config_ranges.RANGES``), before anything is built or written."""
    problems = config_ranges.check(cfg.to_dict())
    if "+" in cfg.model.grids and cfg.model.gate_mode == "spatial":
        problems.append("option model.grids with several grids needs option model.gate_mode channel")
    if cfg.model.refine and not cfg.model.composite:
        problems.append("option model.refine repaints the composite: it needs option model.composite true")
    if cfg.stage == 2 and cfg.model.vgg == "world" and cfg.loss.vgg and not cfg.vgg_path:
        problems.append("option model.vgg world needs option vgg_path: a world-parser checkpoint")
    if problems:
        raise PosewarpError("; ".join(problems))


def learning_rate(optim: OptimConfig, base_lr: float, step: int, max_steps: int) -> float:
    """Constant, then linear decay to zero over the last ``1 - decay_start`` of the run (the authors' schedule)."""
    start = int(round(optim.decay_start * max_steps))
    if step < start or max_steps <= start:
        return base_lr
    return base_lr * max(0.0, (max_steps - step) / (max_steps - start))
