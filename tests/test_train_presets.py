"""The preset table (``posewarp/presets.py``) yields exactly the configs the five preset functions it replaced
built: their bodies are kept here as the expected values, as they were but for what was measured since (the
refiner in posewarp's design and tiny's SSIM term: ``benchmarks/quality.py`` on the fashion world, 2026-12-06)."""

import pytest

from posewarp import config as C
from posewarp.config import (POSEWARP_DESIGN, DataConfig, LossConfig, MatcherConfig, ModelConfig, OptimConfig,
                             TrainConfig)


def _tiny() -> TrainConfig:
    return TrainConfig(
        preset="tiny", max_steps=600, log_every=20, sample_every=200, val_every=200, val_batches=8, snapshot_every=200,
        data=DataConfig(batch_size=8),
        model=ModelConfig(ngf=16, n_downsample=2, n_blocks=2, ndf=16, d_layers=2, matcher_features="small",
                          matcher_width=16, matcher_feature_size=10, vgg="random", **POSEWARP_DESIGN),
        loss=LossConfig(vgg=0.0, ssim=10.0),
        optim=OptimConfig(lr=1e-3, decay_start=0.5),
        matcher=MatcherConfig(steps=300, lr=1e-3),
    )


def _market() -> TrainConfig:
    return TrainConfig(
        preset="market-128x64", max_steps=100_000,
        data=DataConfig(batch_size=32, workers=4),
        model=ModelConfig(ngf=64, n_downsample=2, n_blocks=6, ndf=64, d_layers=3, **POSEWARP_DESIGN),
        matcher=MatcherConfig(steps=20_000),
    )


def _deepfashion() -> TrainConfig:
    return TrainConfig(
        preset="deepfashion-256x176", max_steps=200_000,
        data=DataConfig(batch_size=8, workers=4),
        model=ModelConfig(ngf=64, n_downsample=3, n_blocks=9, ndf=64, d_layers=3, **POSEWARP_DESIGN),
        matcher=MatcherConfig(steps=20_000),
    )


def _paper(stage: int) -> TrainConfig:
    return TrainConfig(
        preset="paper", max_steps=1_000_000,
        data=DataConfig(batch_size=50 if stage == 1 else 12, workers=4),
        model=ModelConfig(ngf=64, n_downsample=3, n_blocks=9, ndf=64, d_layers=3),
        optim=OptimConfig(lr=2e-4, beta1=0.5, beta2=0.999, decay_start=0.5),
        matcher=MatcherConfig(steps=20_000),
    )


BEFORE = {"tiny": lambda stage: _tiny(), "market-128x64": lambda stage: _market(),
          "deepfashion-256x176": lambda stage: _deepfashion(), "paper": _paper}


@pytest.mark.parametrize("stage", [1, 2])
@pytest.mark.parametrize("name", list(BEFORE))
def test_every_preset_yields_the_config_it_did_before_the_table(name, stage):
    expected = TrainConfig.from_dict({**BEFORE[name](stage).to_dict(), "stage": stage})
    got = C.preset(name, stage)
    assert got == expected
    for a, b in zip(C.config_ranges.flatten(got.to_dict()).values(), C.config_ranges.flatten(expected.to_dict()).values()):
        assert type(a) is type(b)  # 0.0 stays a float, 600 an int


def test_the_table_names_exactly_these_presets_and_every_row_has_the_same_keys():
    from posewarp.presets import PRESETS

    assert list(PRESETS) == list(BEFORE)
    assert len({tuple(row) for row in PRESETS.values()}) == 1
