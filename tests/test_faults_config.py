"""Every training config value is checked against its range in one place, reported as `option NAME must be ...`,
before a run dir exists; config JSON is bounded like any input."""

import dataclasses
import json

import pytest
from cli_runner import cli
from faults import one_line_error, run

from posewarp import config as C
from posewarp import config_ranges as ranges
from posewarp.errors import PosewarpError


def test_every_option_has_a_range_and_every_preset_is_within_it():
    options = set(ranges.flatten(C.TrainConfig().to_dict()))
    assert options == set(ranges.RANGES), options ^ set(ranges.RANGES)
    for name in C.PRESETS:
        for stage in (1, 2):
            assert ranges.check(C.preset(name, stage).to_dict()) == []


@pytest.mark.parametrize("option, value, words", [
    ("model.ngf", 0, "option model.ngf must be an integer from 1 to 1024, got 0"),
    ("data.workers", -1, "option data.workers must be an integer from 0 to 256, got -1"),
    ("seed", -1, "option seed must be an integer from 0 to 4294967295, got -1"),
    ("seed", 2**70, "option seed must be an integer from 0 to 4294967295, got 1180591620717411303424"),
    ("optim.lr", float("nan"), "option optim.lr must be a number in [0, 10], got nan"),
    ("optim.beta2", 1.0, "option optim.beta2 must be a number in [0, 1), got 1.0"),
    ("data.pose_radius", 0.0, "option data.pose_radius must be a number in (0, 64]"),
    ("model.matcher_features", "resnet", "option model.matcher_features must be one of small, vgg16"),
    ("desc", "x" * 300, "option desc must be at most 100 characters long"),
    ("max_steps", 10**12, "option max_steps must be an integer from 1 to 1000000000"),
])  # fmt: skip
def test_values_out_of_range_are_named_with_their_range(option, value, words):
    with pytest.raises(PosewarpError) as info:
        C.resolve(1, "tiny", overrides={option: value})
    assert str(info.value) == words or str(info.value).startswith(words), str(info.value)


def test_types_and_shapes_are_checked_with_the_same_wording(tmp_path):
    for doc, words in [({"seed": True}, "option seed must be an integer, got True"),
                       ({"optim": {"lr": "1e-3"}}, "option optim.lr must be a number, got '1e-3'"),
                       ({"seed": {"a": 1}}, "option seed must be a value, not an object"),
                       ({"data": {"image_size": [0, 5]}}, "option data.image_size must be [height, width]")]:  # fmt: skip
        f = tmp_path / "c.json"
        f.write_text(json.dumps(doc))
        with pytest.raises(PosewarpError, match=words.replace("[", r"\[").replace("(", r"\(")) as info:
            C.resolve(1, "tiny", f)
        assert info.value.path == str(f)


def test_bad_config_never_leaves_a_run_dir(tmp_path, capsys):
    from train_world import make_pack

    data = make_pack(tmp_path)
    deep = tmp_path / "deep.json"
    deep.write_text('{"model": ' + "[" * 100_000 + "]" * 100_000 + "}")
    nan = tmp_path / "nan.json"
    nan.write_text('{"optim": {"lr": NaN}}')
    base = ["train", "--stage", "1", "--data", data, "--preset", "tiny", "--out", tmp_path / "runs"]
    cases = [
        (["--config", deep], [str(deep), "nests 100001 levels deep, over the limit of 32"]),
        (["--config", nan], ["option optim.lr must be a number in [0, 10], got nan"]),
        (["--workers", "1000"], ["option data.workers must be an integer from 0 to 256, got 1000"]),
        (["--lr", "100"], ["option optim.lr must be a number in [0, 10], got 100.0"]),
        (["--stage", "2", "--stage1", tmp_path / "no-such-run"], ["snapshot not found"]),
    ]  # fmt: skip
    for extra, words in cases:
        code, _, err = cli(base + extra, capsys)  # a second --stage overrides the first
        assert code == 1
        one_line_error(err, *words)
    assert not (tmp_path / "runs").exists()


def test_cli_seed_out_of_range_is_one_line_before_any_run_dir_subprocess(tmp_path):
    result = run(["train", "--stage", "1", "--data", tmp_path / "absent.h5", "--preset", "tiny", "--seed", "-1",
                  "--out", tmp_path / "runs"])  # fmt: skip
    assert result.returncode == 1
    one_line_error(result.stderr, "option seed must be an integer from 0 to 4294967295, got -1")
    assert not (tmp_path / "runs").exists()


def test_a_run_that_fails_before_its_first_state_leaves_no_run_dir(tmp_path, monkeypatch):
    from train_world import make_pack, tiny_config

    from posewarp.training import stage1
    from posewarp.training.runner import train

    data = make_pack(tmp_path)

    def broken(self, *args, **kwargs):
        raise PosewarpError("the network cannot be built")

    monkeypatch.setattr(stage1.Stage1, "__init__", broken)
    with pytest.raises(PosewarpError, match="cannot be built"):
        train(tiny_config(1, data), out=tmp_path / "runs", device="cpu", show_progress=False)
    assert list((tmp_path / "runs").iterdir()) == []


def test_resume_keeps_the_range_check(tmp_path):
    saved = dataclasses.replace(C.preset("tiny", 1), max_steps=10).to_dict()
    with pytest.raises(PosewarpError, match="option max_steps must be an integer from 1"):
        C.resolve_resume(saved, overrides={"max_steps": 0})
