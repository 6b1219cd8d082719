"""Packs and snapshots under faults: the .partial lock, a full disk, SIGKILL, damaged chunks, foreign or hostile
files. Readers check every group, attribute type and index; snapshots are checked before a network is built."""

import json
import re
import signal

import h5py
import numpy as np
import pytest
import torch
from cli_runner import cli
from faults import UNSHARE, mounted, one_line_error, run

from posewarp.data import PairDataset, pack, partial_file, schema
from posewarp.errors import PosewarpError, SchemaError
from posewarp.inference import shipped_weights
from posewarp.synth import generate
from posewarp.snapshots import load_snapshot

REPO_STAGE1 = shipped_weights("stage1")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """80 people-images at 128x64: three flush batches of 32, about 1 MB each."""
    root = tmp_path_factory.mktemp("world")
    generate(root / "w", identities=16, poses_per_identity=5, size=(128, 64), seed=0, test_fraction=0.25,
             show_progress=False)
    return root / "w"


def inputs(w):
    return [w / "images", w / "keypoints", w / "parsing", [w / "pairs-train.csv", w / "pairs-test.csv"]]


def args(w, out, *extra):
    return ["pack", "--images", w / "images", "--keypoints", w / "keypoints", "--parsing", w / "parsing", "--pairs",
            w / "pairs-train.csv", "--pairs", w / "pairs-test.csv", "--out", out, *extra]  # fmt: skip


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    return pack(*inputs(world), tmp_path_factory.mktemp("clean") / "clean.h5", show_progress=False).out


def same_pack(a, b) -> None:
    with h5py.File(a) as x, h5py.File(b) as y:
        for key in ("images", "parsing", "keypoints", "names", "pairs/train", "pairs/test"):
            np.testing.assert_array_equal(x[key][:], y[key][:])


def test_a_second_pack_to_the_same_output_refuses_and_leaves_the_first_ones_file(world, tmp_path):
    out = tmp_path / "d.h5"
    partial = schema.partial_path(out)
    with partial_file.exclusive(partial):  # another pack holds it
        partial.write_bytes(b"the first pack's bytes")
        with pytest.raises(PosewarpError, match="another `posewarp pack` is writing this file") as info:
            pack(*inputs(world), out, show_progress=False)
        assert info.value.path == str(partial) and partial.read_bytes() == b"the first pack's bytes"
    assert pack(*inputs(world), out, show_progress=False).num_images == 80  # free again once it is released


def test_sigkill_mid_pack_then_resume_gives_the_same_file(world, clean, tmp_path):
    out = tmp_path / "d.h5"
    kill = "import os, signal\nfrom posewarp.data import sources\nload = sources.Inputs.load\ncalls = [0]\n" \
           "def dying(*a, **k):\n    calls[0] += 1\n    if calls[0] == 50: os.kill(os.getpid(), signal.SIGKILL)\n" \
           "    return load(*a, **k)\nsources.Inputs.load = dying\n"  # fmt: skip
    result = run(args(world, out), setup=kill)
    assert result.returncode == -signal.SIGKILL and not out.exists()
    report = pack(*inputs(world), out, resume=True, show_progress=False)
    assert report.resumed_from == 32  # the first flushed batch survived the kill
    same_pack(out, clean)


def test_full_disk_stops_pack_with_a_resumable_partial_subprocess(world, clean, tmp_path):
    """A real 3 MB tmpfs where the system allows it (else a disk whose free-space reading says 2 MB): a batch that
    would not fit is not started; one line, exit 1, the .partial kept; with room again, --resume finishes the
    same file."""
    if UNSHARE:
        disk = tmp_path / "disk"
        disk.mkdir()
        wrap = mounted(disk, "tmpfs:3m")
        script = wrap[-1].replace('exec "$0" "$@"', '"$0" "$@"; echo "rc=$?" >&2; mount -o remount,size=50m '
                                  f'"{disk}" && "$0" "$@" --resume && cp "{disk}/d.h5" "{tmp_path}/d.h5"')  # fmt: skip
        result = run(args(world, disk / "d.h5"), wrap=[*wrap[:-1], script])
        first, _, second = result.stderr.partition("rc=")
        assert second.startswith("1"), result.stderr
        one_line_error(first, str(schema.partial_path(disk / "d.h5")), "no space left on the device", "--resume")
        assert result.returncode == 0, result.stderr
    else:
        out = tmp_path / "d.h5"
        fake = ("import os\nfrom posewarp.data import partial_file, schema\n"
                f"partial_file.free_bytes = lambda folder: (3 << 20) - os.path.getsize({str(schema.partial_path(out))!r})\n")  # fmt: skip
        result = run(args(world, out), setup=fake)
        assert result.returncode == 1, result.stderr
        one_line_error(result.stderr, str(schema.partial_path(out)), "no space left on the device", "--resume")
        pack(*inputs(world), out, resume=True, show_progress=False)
    same_pack(tmp_path / "d.h5", clean)


def test_damaged_chunks_are_detected_and_named(world, clean, tmp_path):
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(clean.read_bytes())
    with h5py.File(damaged) as f:
        assert f["images"].fletcher32 and f["parsing"].fletcher32 and f["keypoints"].fletcher32
        info = f["images"].id.get_chunk_info(3)
        pairs = f["pairs/train"][:]
    row = int(np.argmax((pairs == 3).any(1)))
    with open(damaged, "r+b") as fh:  # flip bytes in the middle of image 3's raw pixels
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(b"\x00\xff" * 8)
    ds = PairDataset(damaged, "train")
    with pytest.raises(SchemaError, match=r"row 3 \(images or parsing\) is damaged") as err:
        ds[row]
    assert err.value.path == str(damaged)
    jpeg = pack(*inputs(world), tmp_path / "j.h5", encode="jpeg", show_progress=False).out
    with h5py.File(jpeg, "a") as f:  # HDF5 has no filter for variable-length data: the CRC-32 catches it
        data = f["images"][3].copy()
        data[len(data) // 2] ^= 0xFF
        f["images"][3] = data
    with pytest.raises(SchemaError, match=r"images\[3\] \(CRC-32 mismatch\) is damaged"):
        PairDataset(jpeg, "train")[row]


@pytest.mark.parametrize("damage, words", [
    (lambda f: f.__delitem__("pairs"), "'pairs' group is missing"),
    (lambda f: f.attrs.__setitem__("schema_version", "one"), "'schema_version' must be an integer, got str"),
    (lambda f: f.attrs.__setitem__("image_size", np.array([0, 64])), "'image_size' must be [height, width]"),
    (lambda f: f.__delitem__("keypoints"), "'keypoints' is missing"),
    (lambda f: f["pairs/test"].__setitem__((0, 1), 999), "pairs/test row 0 is [60, 999], but there are 80 images"),
    (lambda f: f["pairs/test"].__setitem__((0, 0), -5), "pairs/test row 0 is [-5, 61]"),
    (lambda f: f["keypoints"].__setitem__((60, 0, 0), np.nan), "keypoints[60] (NaN or infinity) is damaged"),
    (lambda f: f["parsing"].__setitem__(60, 25), "label id 25 >= 20"),
])  # fmt: skip
def test_readers_check_every_group_attribute_and_index(clean, tmp_path, capsys, damage, words):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(clean.read_bytes())
    with h5py.File(bad, "a") as f:
        if "pairs/test" in f:
            f["pairs/test"][0] = [60, 61]
        damage(f)
    code, _, err = cli(["transfer", "--data", bad, "--out", tmp_path / "r", "--device", "cpu", "--fit-pack"], capsys)
    assert code == 1
    one_line_error(err, str(bad), words)


def snapshot(tmp_path, name, change):
    doc = torch.load(REPO_STAGE1, weights_only=True)
    doc = {**doc, "config": json.loads(json.dumps(doc["config"]))}
    change(doc)
    torch.save(doc, tmp_path / name)
    return tmp_path / name


def test_snapshot_headers_and_configs_are_checked_before_any_network_is_built(tmp_path):
    cases = [
        (lambda d: d.__setitem__("format_version", "1"), "format_version must be a positive integer, got '1'"),
        (lambda d: d.pop("kind"), "not a posewarp checkpoint (kind None)"),
        (lambda d: d.pop("weights"), "'weights' must map network names to dicts of tensors"),
        (lambda d: d.__setitem__("config", [1, 2]), "'config' must be a dict, got list"),
        (lambda d: d.__setitem__("step", -1), "'step' must be a non-negative integer"),
        (lambda d: d["config"]["model"].__setitem__("ngf", 100_000), "option model.ngf must be an integer from 1"),
        (lambda d: d["config"]["data"].__setitem__("image_size", [10**6, 10**6]), "option data.image_size must be"),
        # within every range, yet 64 blocks of 8192 channels: a 2 KB file must not make the loader build them
        (lambda d: (d["config"]["model"].update(ngf=1024, n_blocks=64), d.__setitem__("weights", {"generator": {}})),
         "do not fit the network in its config: "),
    ]  # fmt: skip
    for i, (change, words) in enumerate(cases):
        path = snapshot(tmp_path, f"s{i}.pt", change)
        with pytest.raises(PosewarpError) as info:
            load_snapshot(path)
        assert words in str(info.value) and info.value.path == str(path), (words, str(info.value))
        if words.startswith("do not fit"):  # every key of the empty weights is named missing, none built
            assert re.search(r"config: \d+ missing", str(info.value))
    kind, _, net = load_snapshot(snapshot(tmp_path, "ok.pt", lambda d: None))
    assert kind == "stage1" and isinstance(net, torch.nn.Module)


def test_a_training_state_without_networks_is_refused_on_resume(tmp_path, capsys):
    from train_world import make_pack, tiny_config

    from posewarp.training import run_dir as R
    from posewarp.training.runner import train

    data = make_pack(tmp_path)
    result = train(tiny_config(1, data, {"max_steps": 1}), out=tmp_path / "runs", device="cpu", show_progress=False)
    state_path = tmp_path / "runs" / result.run_dir.split("/")[-1] / R.STATE
    state = torch.load(state_path, weights_only=True)
    del state["networks"]
    torch.save(state, state_path)
    code, _, err = cli(["train", "--stage", "1", "--resume", state_path.parent, "--max-steps", "2"], capsys)
    assert code == 1
    one_line_error(err, str(state_path), "'networks' must map network names to dicts of tensors")
