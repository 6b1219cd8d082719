"""Weights registry: require/verify, and downloads from a local HTTP server (Range resume, hash, atomic rename)."""

import hashlib
import http.server
import json
import threading

import pytest

from posewarp import weights as W
from posewarp.cli.main import main
from posewarp.errors import PosewarpError, WeightsMissingError

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes, several 1 MiB-free chunks worth of structure


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path]``; honours ``Range: bytes=N-``; records the requests it saw."""

    def do_GET(self):  # noqa: N802
        self.server.seen.append((self.path, self.headers.get("Range")))
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and self.server.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.files, httpd.seen, httpd.ranges = {"/w.bin": PAYLOAD}, [], True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def register(monkeypatch, url, sha=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD)):
    spec = W.WeightFile("test-w", "w.bin", size, sha, (url,), "a test file", "tests")
    monkeypatch.setitem(W.REGISTRY, "test-w", spec)
    return spec


def url_of(server, path="/w.bin"):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_openpose_entry_matches_the_public_file():
    spec = W.REGISTRY["openpose"]
    assert spec.filename == "body_pose_model.pth" and spec.size == 209_267_595
    assert spec.sha256 == "25a948c16078b0f08e236bda51a385d855ef4c153598947c28c0d47ed94bb746"
    assert spec.urls[0] == "https://huggingface.co/lllyasviel/Annotators/resolve/main/body_pose_model.pth"


def test_every_registry_entry_is_well_formed():
    for name, spec in W.REGISTRY.items():
        assert spec.name == name and spec.filename and "/" not in spec.filename
        assert spec.urls and all(u.startswith(("https://", "http://", "file://")) for u in spec.urls)
        assert spec.sha256 is None or (len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0)
        assert spec.size is None or spec.size > 0
    assert len({s.filename for s in W.REGISTRY.values()}) == len(W.REGISTRY)


def test_home_and_require(home, monkeypatch, tmp_path):
    assert W.weights_home() == home
    assert W.expected_path("openpose") == home / "body_pose_model.pth"
    with pytest.raises(WeightsMissingError) as info:
        W.require("openpose")
    message = str(info.value)
    assert "posewarp weights download openpose" in message and str(home / "body_pose_model.pth") in message
    assert "\n" not in message
    with pytest.raises(WeightsMissingError) as info:  # the calling command's ways around it, after the command
        W.require("openpose", option="--weights", alternatives=("give --pose a file", "do without"))
    assert str(info.value) == f"{message}; --weights PATH uses another file, or give --pose a file, or do without"
    with pytest.raises(WeightsMissingError) as info:
        W.require("openpose", alternatives=("pass --vgg PATH",))
    assert str(info.value) == f"{message}; or pass --vgg PATH"
    other = tmp_path / "mine.pth"
    other.write_bytes(b"x")
    assert W.require("openpose", other) == other  # --weights always wins
    with pytest.raises(PosewarpError, match="not found"):
        W.require("openpose", tmp_path / "typo.pth")
    (home).mkdir()
    (home / "body_pose_model.pth").write_bytes(b"x")
    assert W.require("openpose") == home / "body_pose_model.pth"
    with pytest.raises(PosewarpError, match="unknown weights"):
        W.require("nope")
    monkeypatch.delenv("POSEWARP_HOME")
    assert str(W.weights_home()).endswith(".cache/posewarp")


def test_download_verifies_and_renames(server, home, monkeypatch):
    register(monkeypatch, url_of(server))
    path = W.download("test-w", show_progress=False)
    assert path == home / "w.bin" and path.read_bytes() == PAYLOAD
    assert not (home / "w.bin.part").exists()
    assert W.verify("test-w") == (True, "ok (size and sha256 match)")
    server.seen.clear()
    assert W.download("test-w", show_progress=False) == path and server.seen == []  # already there: no request


def test_download_resumes_a_partial_file_with_range(server, home, monkeypatch):
    register(monkeypatch, url_of(server))
    home.mkdir()
    (home / "w.bin.part").write_bytes(PAYLOAD[:30_000])
    W.download("test-w", show_progress=False)
    assert server.seen == [("/w.bin", "bytes=30000-")]
    assert (home / "w.bin").read_bytes() == PAYLOAD


def test_server_without_range_support_restarts_cleanly(server, home, monkeypatch):
    server.ranges = False
    register(monkeypatch, url_of(server))
    home.mkdir()
    (home / "w.bin.part").write_bytes(b"garbage" * 10)
    W.download("test-w", show_progress=False)
    assert (home / "w.bin").read_bytes() == PAYLOAD


def test_complete_part_file_gets_416_and_is_accepted(server, home, monkeypatch):
    register(monkeypatch, url_of(server), size=None)
    home.mkdir()
    (home / "w.bin.part").write_bytes(PAYLOAD)
    W.download("test-w", show_progress=False)
    assert (home / "w.bin").read_bytes() == PAYLOAD


def test_hash_mismatch_leaves_nothing_behind(server, home, monkeypatch):
    register(monkeypatch, url_of(server), sha="0" * 64)
    with pytest.raises(PosewarpError, match="sha256"):
        W.download("test-w", show_progress=False)
    assert not (home / "w.bin").exists() and not (home / "w.bin.part").exists()


def test_network_failure_keeps_the_part_for_resume(server, home, monkeypatch):
    register(monkeypatch, url_of(server, "/missing.bin"))
    home.mkdir()
    (home / "w.bin.part").write_bytes(PAYLOAD[:100])
    with pytest.raises(PosewarpError, match="failed"):
        W.download("test-w", show_progress=False)
    assert (home / "w.bin.part").read_bytes() == PAYLOAD[:100] and not (home / "w.bin").exists()


def test_url_override_and_file_urls(home, monkeypatch, tmp_path):
    register(monkeypatch, "http://127.0.0.1:9/unused")
    source = tmp_path / "mirror.bin"
    source.write_bytes(PAYLOAD)
    home.mkdir()
    (home / "w.bin.part").write_bytes(PAYLOAD[:5000])
    W.download("test-w", url=source.as_uri(), show_progress=False)
    assert (home / "w.bin").read_bytes() == PAYLOAD


def test_verify_reports_missing_wrong_and_unchecked(home, monkeypatch):
    register(monkeypatch, "http://127.0.0.1:9/unused")
    ok, message = W.verify("test-w")
    assert not ok and "posewarp weights download test-w" in message
    home.mkdir()
    (home / "w.bin").write_bytes(PAYLOAD[:-1] + b"\x00")
    ok, message = W.verify("test-w")
    assert not ok and "sha256" in message
    register(monkeypatch, "http://127.0.0.1:9/unused", sha=None, size=None)
    ok, message = W.verify("test-w")
    assert ok and "no checksum known" in message


def run(args):
    try:
        main(args)
    except SystemExit as exc:
        return exc.code
    return 0


def test_cli_weights_commands(server, home, monkeypatch, capsys):
    register(monkeypatch, url_of(server, "/wrong-url"))
    assert run(["weights", "download", "test-w", "--url", url_of(server), "-q"]) == 0
    assert (home / "w.bin").read_bytes() == PAYLOAD
    capsys.readouterr()
    assert run(["weights", "path", "test-w"]) == 0
    assert capsys.readouterr().out.strip() == str(home / "w.bin")
    assert run(["weights", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["weights"]}
    assert rows["test-w"]["present"] and not rows["openpose"]["present"]
    assert run(["weights", "verify", "test-w", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test-w"]["ok"] is True
    (home / "w.bin").write_bytes(b"broken")
    assert run(["weights", "verify"]) == 1
    assert run(["weights", "download", "no-such-file"]) == 1
    assert "unknown weights" in capsys.readouterr().err
    assert run(["weights", "download", "test-w", "openpose", "--url", url_of(server)]) == 2
