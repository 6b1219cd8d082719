import json

import pytest

from posewarp import config as C
from posewarp.errors import PosewarpError


def test_presets_exist_for_both_stages_and_round_trip_through_json():
    for name in C.PRESETS:
        for stage in (1, 2):
            cfg = C.preset(name, stage)
            assert cfg.preset == name and cfg.stage == stage
            assert C.TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    paper = C.preset("paper", 2)
    assert (paper.model.ngf, paper.model.n_downsample, paper.model.n_blocks) == (64, 3, 9)
    assert (paper.optim.lr, paper.optim.beta1, paper.optim.beta2) == (2e-4, 0.5, 0.999)
    assert C.preset("paper", 1).data.batch_size == 50 and paper.data.batch_size == 12
    assert C.preset("tiny", 2).model.vgg == "random" and paper.model.vgg == "pretrained"


def test_precedence_preset_then_config_file_then_cli(tmp_path):
    base = C.resolve(1, "tiny")
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps({"max_steps": 77, "optim": {"lr": 0.01, "beta1": 0.9}, "data": {"batch_size": 3}}))
    from_file = C.resolve(1, "tiny", f)
    assert (from_file.max_steps, from_file.optim.lr, from_file.optim.beta1, from_file.data.batch_size) == (77, 0.01, 0.9, 3)
    assert from_file.model == base.model  # untouched parts keep the preset
    cli = C.resolve(1, "tiny", f, {"optim.lr": 0.5, "data.batch_size": None, "seed": 4})
    assert cli.optim.lr == 0.5 and cli.optim.beta1 == 0.9  # CLI beats file, file beats preset
    assert cli.data.batch_size == 3  # None means "keep"
    assert cli.seed == 4


def test_config_file_may_name_a_preset_but_the_cli_preset_wins(tmp_path):
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps({"preset": "market-128x64", "max_steps": 5}))
    assert C.resolve(2, None, f).preset == "market-128x64"
    assert C.resolve(2, "tiny", f).preset == "tiny"
    assert C.resolve(2, "tiny", f).max_steps == 5


def test_bad_options_are_clear_errors(tmp_path):
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps({"optim": {"lrr": 1}}))
    with pytest.raises(PosewarpError, match="unknown config option 'optim.lrr'"):
        C.resolve(1, "tiny", f)
    with pytest.raises(PosewarpError, match="must be an integer"):
        C.resolve(1, "tiny", overrides={"max_steps": 1.5})
    with pytest.raises(PosewarpError, match="unknown preset"):
        C.resolve(1, "huge")
    with pytest.raises(PosewarpError, match="amp must be"):
        C.resolve(1, "tiny", overrides={"amp": "fp8"})
    f.write_text("{not json")
    with pytest.raises(PosewarpError, match="cannot read config file"):
        C.resolve(1, "tiny", f)


def test_learning_rate_is_constant_then_linear_to_zero():
    o = C.OptimConfig(decay_start=0.5)
    lrs = [C.learning_rate(o, 1.0, s, 10) for s in range(10)]
    assert lrs[:5] == [1.0] * 5
    assert lrs[5:] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])


def test_default_preset_follows_the_image_size():
    assert C.default_preset((128, 64)) == "market-128x64"
    assert C.default_preset((256, 176)) == "deepfashion-256x176"
    assert C.default_preset((64, 32)) == "paper"


def _cli(argv) -> int:
    from posewarp.cli.main import main

    try:
        main(argv)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def test_cli_dry_run_prints_the_resolved_config(tmp_path, capsys):
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps({"optim": {"lr": 0.01}, "max_steps": 9}))
    code = _cli(["train", "--stage", "2", "--data", str(tmp_path / "x.h5"), "--preset", "tiny", "--config", str(f),
                 "--max-steps", "12", "--no-gate", "--dry-run", "--json", "--out", str(tmp_path / "runs")])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stage"] == 2 and doc["preset"] == "tiny" and doc["max_steps"] == 12
    assert doc["optim"]["lr"] == 0.01 and doc["model"]["gate"] is False and doc["model"]["warp"] is True
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing
    assert _cli(["train", "--stage", "1", "--no-warp", "--data", "x.h5", "--dry-run"]) == 2  # a Stage II option
    assert _cli(["train", "--stage", "1", "--preset", "tiny", "--config", str(tmp_path / "none.json"),
                 "--data", "x.h5", "--dry-run"]) == 1  # missing config file: one line, exit 1


def test_resume_config_keeps_the_run_and_takes_cli_overrides():
    saved = C.resolve(2, "tiny", overrides={"max_steps": 10}).to_dict()
    cfg = C.resolve_resume(saved, overrides={"max_steps": 20, "data.workers": 2, "model.gate": None})
    assert cfg.max_steps == 20 and cfg.data.workers == 2 and cfg.preset == "tiny"
    with pytest.raises(PosewarpError, match="model options differ: gate"):
        C.resolve_resume(saved, overrides={"model.gate": False})
