"""The CLI offers what the library owns: every choice in the help and in the usage error, from one source."""

import re

import pytest
from cli_runner import cli

from posewarp.config import DESIGNS, PRESETS
from posewarp.config_ranges import AMP_MODES
from posewarp.data.prepare import PREPARE_PROTOCOLS
from posewarp.metrics.names import EVAL_PROTOCOLS, METRICS, parse_metrics
from posewarp.preprocess.choices import ANNOTATED_PERSON, LABEL_SETS, PARSER_DATASETS

CHOICES = [
    (["train"], "--preset", PRESETS),
    (["train"], "--design", tuple(DESIGNS)),
    (["train"], "--amp", AMP_MODES),
    (["eval"], "--metrics", METRICS),
    (["eval"], "--protocol", EVAL_PROTOCOLS),
    (["parse"], "--dataset", PARSER_DATASETS),
    (["parse"], "--label-set", LABEL_SETS),
    (["keypoints"], "--person", ANNOTATED_PERSON),
    (["prepare", "deepfashion"], "--protocol", PREPARE_PROTOCOLS),
    (["prepare", "market"], "--protocol", PREPARE_PROTOCOLS),
]


def words(text: str) -> str:
    """Help text without Rich's boxes and line wrapping."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


@pytest.mark.parametrize("command, option, choices", CHOICES)
def test_help_lists_the_library_choices(command, option, choices, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    code, out, err = cli(command + ["--help"], capsys)
    assert code == 0
    text = words(out + err)
    at = text.index(option)
    for name in choices:
        assert name in text[at:at + 400], (option, name)


@pytest.mark.parametrize("command, option, choices", [c for c in CHOICES if c[1] != "--metrics"])
def test_an_unknown_choice_is_a_usage_error_naming_them(command, option, choices, capsys, tmp_path):
    required = {"train": ["--stage", "1", "--data", tmp_path / "x.h5"], "eval": ["--pred", tmp_path, "--gt", tmp_path],
                "parse": [tmp_path, "--out", tmp_path / "o"], "keypoints": [tmp_path, "--out", tmp_path / "o"],
                "prepare": [tmp_path, "--out", tmp_path / "o"]}
    code, _, err = cli(command + required[command[0]] + [option, "nonsense"], capsys)
    assert code == 2
    assert all(name in words(err) for name in choices)


def test_the_lists_match_what_the_library_implements():
    from posewarp.formats import parsing
    from posewarp.metrics import protocols
    from posewarp.preprocess import parser

    assert tuple(protocols.PROTOCOLS) == EVAL_PROTOCOLS
    assert parse_metrics(",".join(METRICS)) == METRICS
    assert tuple(parser.DATASETS) == PARSER_DATASETS
    assert set(parsing.LABEL_SETS) == set(LABEL_SETS)


def test_shared_options_are_declared_once():
    from pathlib import Path

    import posewarp.cli as package

    for path in Path(package.__file__).parent.glob("*.py"):
        if path.name != "options.py":
            text = path.read_text()
            for flag in ("--device", "--json", "--overwrite", "--shard", "--threads"):
                assert f'"{flag}"' not in text, (path.name, flag)
