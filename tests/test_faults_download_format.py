"""A download without a full checksum is checked before it is installed: an HTML error page served as
`lpips-alex`, a file that is no PyTorch checkpoint, or one whose sha256 lacks the publisher's prefix is refused in
one line and deleted; a real checkpoint is installed. Each as a `posewarp weights download` process."""

import http.server
import io

import pytest
import torch
from faults import http_server, one_line_error, run

from posewarp import weights as W

HTML = b"<!DOCTYPE html>\n<html><head><title>429 Too Many Requests</title></head><body>rate limited</body></html>\n"


def checkpoint() -> bytes:
    """A small real checkpoint in LPIPS's layout (linear layers lin0..lin4), seeded."""
    g = torch.Generator().manual_seed(0)
    state = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for i, c in
             enumerate((64, 192, 384, 256, 256))}  # fmt: skip
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


class Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = self.server.files[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    with http_server(Files) as (url, httpd):
        httpd.files = {"/error.html": HTML, "/noise.pth": bytes(range(256)) * 64, "/alex.pth": checkpoint(),
                       "/empty.pth": _empty()}  # fmt: skip
        yield url


def _empty() -> bytes:
    buf = io.BytesIO()
    torch.save({"note": "no tensors"}, buf)
    return buf.getvalue()


def download(name, url, home):
    return run(["weights", "download", name, "--url", url, "-q"], env={"POSEWARP_HOME": str(home)})


def test_an_html_page_or_a_foreign_file_is_never_installed(server, tmp_path):
    assert W.REGISTRY["lpips-alex"].sha256 is None  # the case this guards: no checksum to catch it
    for path, words in (("/error.html", "web page"), ("/noise.pth", "cannot read as a PyTorch weights file"),
                        ("/empty.pth", "without tensors")):  # fmt: skip
        result = download("lpips-alex", server + path, tmp_path)
        assert result.returncode == 1, result.stderr
        one_line_error(result.stderr, "lpips-alex", words, "deleted it")
        assert list(tmp_path.iterdir()) == []  # neither the file nor a .part
    result = download("lpips-alex", server + "/alex.pth", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / W.REGISTRY["lpips-alex"].filename).read_bytes() == checkpoint()


def test_the_publisher_s_sha256_prefix_is_checked(server, tmp_path):
    assert W.REGISTRY["alexnet"].sha256_prefix == "7be5be79"  # torchvision's name alexnet-owt-7be5be79.pth
    result = download("alexnet", server + "/alex.pth", tmp_path)
    assert result.returncode == 1, result.stderr
    one_line_error(result.stderr, "alexnet", "expected one starting 7be5be79")
    assert list(tmp_path.iterdir()) == []
