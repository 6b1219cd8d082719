"""Downloads under faults: a server that hangs up early, lies about the length or sends too much, a planted link
or FIFO as the .part, a full disk. The .part is kept whenever it is a true prefix of the file, and only then."""

import errno
import hashlib
import http.server
import os

import pytest
from faults import http_server, one_line_error, run

from posewarp import weights as W
from posewarp.errors import OutputError, PosewarpError
from posewarp import download as D

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes


class Handler(http.server.BaseHTTPRequestHandler):
    """``/w.bin`` whole (Range resume), ``/short.bin`` announces the whole file but hangs up after 30 KB,
    ``/lying.bin`` announces 10 bytes more than it has, ``/nolength.bin`` sends no Content-Length."""

    def do_GET(self):  # noqa: N802
        start = int(self.headers.get("Range", "bytes=0-").split("=")[1].split("-")[0])
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        extra = 10 if self.path == "/lying.bin" else 0
        if self.path != "/nolength.bin":
            self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        self.wfile.write(body[:30_000] if self.path == "/short.bin" and not start else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    with http_server(Handler) as (url, _):
        yield url


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def register(monkeypatch, size=len(PAYLOAD), sha=hashlib.sha256(PAYLOAD).hexdigest()):
    monkeypatch.setitem(W.REGISTRY, "test-w", W.WeightFile("test-w", "w.bin", size, sha, ("http://unused",), "t", "t"))


def test_a_short_read_keeps_the_part_and_the_next_run_resumes_it(server, home, monkeypatch):
    register(monkeypatch, size=None, sha=None)  # nothing but Content-Length says how long the file is
    with pytest.raises(PosewarpError, match="partial file kept.*ended after 30,000 of 102,400 bytes"):
        W.download("test-w", url=f"{server}/short.bin", show_progress=False)
    assert (home / "w.bin.part").read_bytes() == PAYLOAD[:30_000] and not (home / "w.bin").exists()
    register(monkeypatch, size=None)  # a checksum for the end (without one the bytes must be a checkpoint)
    assert W.download("test-w", url=f"{server}/w.bin", show_progress=False).read_bytes() == PAYLOAD


def test_content_length_and_registry_size_are_enforced(server, home, monkeypatch):
    register(monkeypatch)
    with pytest.raises(PosewarpError, match="server announces 102,410 bytes, the registry says 102,400"):
        W.download("test-w", url=f"{server}/lying.bin", show_progress=False)
    assert not (home / "w.bin.part").exists() and not (home / "w.bin").exists()
    register(monkeypatch, size=None, sha=None)
    with pytest.raises(PosewarpError, match="partial file kept.*ended after 102,400 of 102,410 bytes"):
        W.download("test-w", url=f"{server}/lying.bin", show_progress=False)
    monkeypatch.setattr(D, "MAX_UNKNOWN_BYTES", 50_000)  # no size known, no Content-Length: a cap still holds
    (home / "w.bin.part").unlink()
    with pytest.raises(PosewarpError, match="refused: server sent more than the 50,000 bytes"):
        W.download("test-w", url=f"{server}/nolength.bin", show_progress=False)
    assert not (home / "w.bin.part").exists()


def test_a_planted_link_or_fifo_as_part_is_never_written_through(server, home, monkeypatch, tmp_path):
    register(monkeypatch)
    home.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (home / "w.bin.part").symlink_to(victim)
    with pytest.raises(PosewarpError, match="is a symbolic link; posewarp never writes through it"):
        W.download("test-w", url=f"{server}/w.bin", show_progress=False)
    assert victim.read_bytes() == b"precious"
    (home / "w.bin.part").unlink()
    os.mkfifo(home / "w.bin.part")
    with pytest.raises(PosewarpError, match="not a regular file"):
        W.download("test-w", url=f"{server}/w.bin", show_progress=False)


def test_a_full_disk_is_an_output_error_that_keeps_the_prefix(server, home, monkeypatch):
    register(monkeypatch)
    real_open = D.open_part

    class Full:
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, block):  # a disk with room for 32 KB: what fits is written, then ENOSPC
            room = 32_768 - self.written
            self.f.write(block[:room])
            self.written += min(room, len(block))
            if len(block) > room:
                raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(D, "open_part", lambda part, offset: Full(real_open(part, offset)))
    with pytest.raises(OutputError, match="no space left on the device") as info:
        W.download("test-w", url=f"{server}/w.bin", show_progress=False)
    assert info.value.path == str(home / "w.bin.part")
    kept = (home / "w.bin.part").read_bytes()
    assert kept == PAYLOAD[:32_768]  # a true prefix: the next run resumes from it


def test_short_read_through_the_cli_subprocess(server, tmp_path):
    result = run(["weights", "download", "inception-fid", "--url", f"{server}/short.bin", "-q"],
                 env={"POSEWARP_HOME": str(tmp_path)})  # fmt: skip
    assert result.returncode == 1
    one_line_error(result.stderr, "partial file kept", "ended after 30,000 of 102,400 bytes")
    assert (tmp_path / "pt_inception-2015-12-05-6726825d.pth.part").stat().st_size == 30_000
