"""Every hint names an option of the command that prints it: each command is run as a `posewarp` process without
the pretrained file it needs, and every `--option` in its one-line error must be listed by that command's --help
(`transfer` once said `--weights PATH uses another file`, an option it does not have)."""

import re

import pytest
from faults import one_line_error, packed_world, run

from posewarp import weights as W
from posewarp.formats import images

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
DOWNLOAD = re.compile(r"posewarp weights download ([\w-]+)")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    w, data = packed_world(root, identities=2, poses=2, test_fraction=0.5)
    alone = root / "alone.png"  # no keypoints/ or parsing/ beside it: both would be estimated
    images.write_image(alone, images.read_image(w / "images" / "id0000_pose00.png"))
    return w, data, alone


def help_options(command: list[str]) -> set[str]:
    result = run([*command, "--help"])
    assert result.returncode == 0, result.stderr
    return set(OPTION.findall(result.stdout))


def cases(world, tmp_path):
    w, data, alone = world
    pose, src_pose = w / "keypoints" / "id0000_pose01.json", w / "keypoints" / "id0000_pose00.json"
    out = ["--out", tmp_path / "o.png", "--device", "cpu"]
    return [
        (["keypoints"], [w / "images", "--out", tmp_path / "kp"], "openpose"),
        (["parse"], [w / "images", "--out", tmp_path / "p"], "schp-lip"),
        (["transfer"], [alone, "--pose", pose, *out], "openpose"),
        (["transfer"], [alone, "--pose", pose, "--src-pose", src_pose, *out], "schp-lip"),
        (["transfer"], [alone, "--pose", w / "images" / "id0000_pose01.png", "--src-pose", src_pose, *out], "openpose"),
        (["eval"], ["--pred", w / "images", "--gt", w / "images", "--metrics", "fid"], "inception-fid"),
        (["eval"], ["--pred", w / "images", "--gt", w / "images", "--metrics", "lpips"], "alexnet"),
        (["train"], ["--stage", "2", "--data", data, "--preset", "market-128x64", "--out", tmp_path / "runs",
                     "--max-steps", "1", "--device", "cpu"], "vgg19"),
    ]  # fmt: skip


def test_every_hint_names_an_option_of_its_command(world, tmp_path):
    home = tmp_path / "empty-home"
    seen = 0
    for command, args, missing in cases(world, tmp_path):
        result = run([*command, *args], env={"POSEWARP_HOME": str(home)})
        assert result.returncode == 1, (command, result.stderr)
        line = one_line_error(result.stderr, missing)
        assert DOWNLOAD.search(line) and DOWNLOAD.search(line).group(1) in W.REGISTRY, line
        named = set(OPTION.findall(line.split(": ", 1)[1]))
        assert named, f"{line!r} names no way around the missing file"  # each hint offers an option
        unknown = named - help_options(command)
        assert not unknown, f"`posewarp {' '.join(command)}` has no {sorted(unknown)}: {line}"
        seen += 1
    assert seen == len(cases(world, tmp_path))


def test_the_check_catches_an_option_a_command_lacks(world):
    """The test above can fail: `transfer --help` does not list `--weights` (the old hint's option)."""
    assert "--weights" not in help_options(["transfer"]) and "--weights" in help_options(["keypoints"])
