"""Ctrl-C in every long command, as a real SIGINT to a real `posewarp` process: exit 130, a note saying what is
kept and how to go on, nothing half-written, and the next run continues to the same result as no interruption."""

import hashlib
import http.server
import signal
import subprocess
import sys
import threading
import time

import h5py
import numpy as np
import pytest
from faults import SIGINT_AT, http_server, interrupted_note, run, temp_files

from posewarp.data import describe, pack, schema
from posewarp.errors import SchemaError
from posewarp.preprocess.keypoints import estimate_folder
from posewarp.synth import generate

SMALL = {"identities": 3, "poses_per_identity": 3, "size": (32, 16), "seed": 0, "test_fraction": 0.34}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    generate(root / "w", show_progress=False, **SMALL)
    return root / "w"


def pack_inputs(w):
    return [w / "images", w / "keypoints", w / "parsing", [w / "pairs-train.csv", w / "pairs-test.csv"]]


def test_pack_stops_flushes_and_resumes_to_the_same_file(world, tmp_path):
    out = tmp_path / "data.h5"
    images, keypoints, parsing, pairs = pack_inputs(world)
    args = ["pack", "--images", images, "--keypoints", keypoints, "--parsing", parsing, "--pairs", pairs[0],
            "--pairs", pairs[1], "--out", out]  # fmt: skip
    result = run(args, setup=SIGINT_AT + "from posewarp.data import sources\nsigint_at(sources.Inputs, 'load', 4)\n")
    assert result.returncode == 130, result.stderr
    interrupted_note(result.stderr, "4 of 9 images", str(schema.partial_path(out)), "--resume")
    assert not out.exists() and result.stderr.count("interrupted:") == 1
    with pytest.raises(SchemaError, match="unfinished pack"):  # readers refuse it until it is finished
        describe(schema.partial_path(out))
    with h5py.File(schema.partial_path(out)) as f:
        assert int(f.attrs["num_processed"]) == 4  # the images read before the stop were flushed, not lost
    report = pack(*pack_inputs(world), out, resume=True, show_progress=False)
    clean = pack(*pack_inputs(world), tmp_path / "clean.h5", show_progress=False)
    assert report.resumed_from == 4
    with h5py.File(out) as a, h5py.File(clean.out) as b:
        for key in ("images", "parsing", "keypoints", "names", "pairs/train", "pairs/test"):
            np.testing.assert_array_equal(a[key][:], b[key][:])


def test_synth_stops_and_resume_gives_the_same_bytes(tmp_path):
    out = tmp_path / "s"
    args = ["synth", out, "-n", "3", "-k", "3", "--size", "32x16", "--test-fraction", "0.34"]
    result = run(args, setup=SIGINT_AT + "import posewarp.synth.world as w\nsigint_at(w, 'photograph', 3)\n")
    assert result.returncode == 130, result.stderr
    interrupted_note(result.stderr, "3 of 9 images", "--resume")
    assert len(list((out / "images").iterdir())) == 3 and not (out / "meta.json").exists()
    generate(out, resume=True, show_progress=False, **SMALL)
    generate(tmp_path / "clean", show_progress=False, **SMALL)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "clean") for p in (tmp_path / "clean").rglob("*") if p.is_file())
    assert all((out / f).read_bytes() == (tmp_path / "clean" / f).read_bytes() for f in files)


def test_keypoints_stops_at_once_and_the_next_run_skips_finished_images(world, tmp_path):
    import torch

    from posewarp.preprocess.openpose_net import BodyPoseNet

    out, weights = tmp_path / "kp", tmp_path / "weights.pth"
    weights.write_bytes(b"a stand-in: the network is replaced below")
    setup = SIGINT_AT + """
import torch
from posewarp.preprocess import keypoints as KP
from posewarp.preprocess.openpose_net import BodyPoseNet
torch.manual_seed(0)
KP.load_body_pose_weights = lambda path: BodyPoseNet()
sigint_at(KP.KeypointEstimator, 'batch', 3)
"""
    args = ["keypoints", world / "images", "--out", out, "--weights", weights, "--scales", "0.1", "--batch-size", "1",
            "--device", "cpu"]  # fmt: skip
    result = run(args, setup=setup)
    assert result.returncode == 130, result.stderr
    interrupted_note(result.stderr, "2 of 9 images", "run the same command again")
    assert len(list(out.glob("*.json"))) == 2 and temp_files(out) == []
    torch.manual_seed(0)
    report = estimate_folder(world / "images", out, scales=(0.1,), device="cpu", batch_size=4, net=BodyPoseNet(),
                             show_progress=False)  # fmt: skip
    assert (report.skipped, report.done) == (2, 7)


def test_transfer_batch_keeps_finished_pairs_and_renders_the_rest(world, tmp_path):
    data = pack(*pack_inputs(world), tmp_path / "data.h5", show_progress=False).out
    out = tmp_path / "results"
    setup = SIGINT_AT + "from posewarp.formats import images\nsigint_at(images, 'write_image', 3)\n"
    result = run(["transfer", "--data", data, "--out", out, "--device", "cpu", "--fit-pack"], setup=setup)
    assert result.returncode == 130, result.stderr
    interrupted_note(result.stderr, "1 of 6 pairs", "run the same command again")
    assert temp_files(out) == [] and not (out / "pairs.csv").exists()
    assert len(list((out / "pred").glob("*.png"))) == 1 and (out / ".transfer-progress.json").is_file()
    # the next run renders only the rest: tests/test_faults_outputs.py (after a full disk, the same path)


def test_eval_stops_at_once_writing_nothing(world, tmp_path):
    setup = SIGINT_AT + "import importlib\nE = importlib.import_module('posewarp.metrics.evaluate')\nsigint_at(E.Scorer, 'add', 1)\n"
    args = ["eval", "--pred", world / "images", "--gt", world / "images", "--metrics", "ssim", "--device", "cpu"]
    result = run(args, setup=setup, env={"POSEWARP_HOME": str(tmp_path / "home")})
    assert result.returncode == 130, result.stderr
    interrupted_note(result.stderr, "0 of 9 pairs", "nothing was written")
    assert not (tmp_path / "home").exists()


def test_train_saves_its_state_and_names_the_resume_command(tmp_path):
    from train_world import make_pack

    data = make_pack(tmp_path)
    setup = SIGINT_AT + "from posewarp.training.stage1 import Stage1\nsigint_at(Stage1, 'train_step', 2)\n"
    args = ["train", "--stage", "1", "--data", data, "--preset", "tiny", "--batch-size", "4", "--out", tmp_path / "runs",
            "--device", "cpu", "--json"]  # fmt: skip
    result = run(args, setup=setup)
    assert result.returncode == 130, result.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    interrupted_note(result.stderr, f"--resume {run_dir}")
    from posewarp import snapshots as checkpoint

    assert checkpoint.load(run_dir / "training-state.pt")["step"] == 2


# Limits only for a test that has gone wrong: every wait below ends on an event (bytes on disk, the process's exit),
# so a loaded 2-core machine that takes long to start the interpreter slows the test down but never fails it.
STALL_S = 600


class StallingHandler(http.server.BaseHTTPRequestHandler):
    """Sends the first 10 KB of the payload, then waits (a stalled server) until the test releases it."""

    def do_GET(self):  # noqa: N802
        start = int(self.headers.get("Range", "bytes=0-").split("=")[1].split("-")[0])
        body = self.server.payload[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(self.server.payload) - 1}/{len(self.server.payload)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if start:
            self.wfile.write(body)
            return
        self.wfile.write(body[:10_000])
        self.wfile.flush()
        self.server.release.wait(STALL_S)

    def log_message(self, *args):
        pass


def test_download_stops_at_once_on_a_stalled_server_and_resumes(tmp_path, monkeypatch):
    with http_server(StallingHandler) as (base, httpd):
        _stalled_download(base, httpd, tmp_path, monkeypatch)


def _stalled_download(base, httpd, tmp_path, monkeypatch):
    httpd.payload, httpd.release = bytes(range(256)) * 400, threading.Event()
    url = f"{base}/w.bin"
    home = tmp_path / "home"
    part = home / "pt_inception-2015-12-05-6726825d.pth.part"
    code = "import sys\nfrom posewarp.cli.main import main\nmain(sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", code, "weights", "download", "inception-fid", "--url", url, "-q"],
                            stderr=subprocess.PIPE, text=True, env={**__import__("os").environ,
                                                                   "POSEWARP_HOME": str(home), "OMP_NUM_THREADS": "1"})  # fmt: skip
    try:
        deadline = time.monotonic() + STALL_S
        while not (part.exists() and part.stat().st_size >= 10_000):  # until the first 10 KB are on disk
            assert proc.poll() is None, proc.communicate()[1]  # the download ended before the stall: a bug
            assert time.monotonic() < deadline, "the first 10 KB never reached the disk"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=STALL_S)  # the server is still stalled: the read itself must give way
        assert not httpd.release.is_set()  # the stop came from Ctrl-C, not from the server giving up
    finally:
        httpd.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    interrupted_note(err, "10,000 bytes", str(part))
    assert part.read_bytes() == httpd.payload[:10_000]
    monkeypatch.setenv("POSEWARP_HOME", str(home))
    import dataclasses

    from posewarp import weights as W

    # the payload stands in for the file: give it its own checksum (the real one would refuse it, as it should)
    fake = dataclasses.replace(W.REGISTRY["inception-fid"], sha256=hashlib.sha256(httpd.payload).hexdigest())
    monkeypatch.setitem(W.REGISTRY, "inception-fid", fake)
    path = W.download("inception-fid", url=url, show_progress=False)
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(httpd.payload).digest()
