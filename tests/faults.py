"""Shared helpers for tests/test_faults_*.py: run the CLI in-process or as a subprocess, with a real SIGINT or a
failing write planted by a few lines of Python before ``main`` runs, and check the one-line error promise.

Imported by those tests (pytest puts tests/ on sys.path); not a test module itself.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from posewarp.cli.main import main

REPO = Path(__file__).resolve().parent.parent

# Lines a subprocess runs before `main`: send a real SIGINT to itself from inside a function, at its n-th call.
SIGINT_AT = """
import os, signal
def sigint_at(owner, name, n):
    original, calls = getattr(owner, name), [0]
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)
"""

# ... or make a write fail with ENOSPC from its n-th call on, as a full disk would.
ENOSPC_AT = """
import errno
def enospc_at(owner, name, n):
    original, calls = getattr(owner, name), [0]
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] >= n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)
"""


# ... or cap the process's address space at what it holds now plus 400 MiB, as `ulimit -v` on a shared cluster
# does: a read that reserves more than the file holds (f.read(1 GiB)) fails with MemoryError under it.
ULIMIT_V = """
import resource
size = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmSize:'))
resource.setrlimit(resource.RLIMIT_AS, ((size << 10) + (400 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
"""


def run(args, *, setup: str = "", env: dict | None = None, timeout: float = 600, cwd=None,
        wrap: list[str] | None = None) -> subprocess.CompletedProcess:  # fmt: skip
    """``posewarp ARGS`` in its own process; ``setup`` is Python run before ``main`` (patches).

    The process is forked from this one, which has imported torch already, so that a case costs a fraction of
    a second instead of a fresh interpreter's few seconds: it has its own signals (a real SIGINT or SIGKILL),
    exit code, stdout and stderr. ``wrap`` (a command put in front, e.g. ``unshare``) needs a fresh
    interpreter: ``python -c`` under it. ``timeout`` only stops a hung case: it is far above what a loaded 2-core
    machine needs, so that no test depends on the machine being idle."""
    env = {"OMP_NUM_THREADS": "1", "COLUMNS": "200", **(env or {})}
    args = [str(a) for a in args]
    if wrap:
        code = textwrap.dedent(setup) + "\nimport sys\nfrom posewarp.cli.main import main\nmain(sys.argv[1:])\n"
        return subprocess.run([*wrap, sys.executable, "-c", code, *args], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **env}, cwd=cwd)  # fmt: skip
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            _child(args, setup, env, cwd, out, err)
        deadline = time.monotonic() + timeout
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired(args, timeout)
            time.sleep(0.02)
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read().decode("utf-8", "replace"))
    return subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(done[1]), *texts)


def _child(args, setup, env, cwd, out, err) -> None:
    code = 1
    try:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = open(1, "w", closefd=False, buffering=1)
        sys.stderr = open(2, "w", closefd=False, buffering=1)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        exec(textwrap.dedent(setup), {})
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - shown in the test's failure message
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _the_line(err: str, prefix: str, needles: tuple[str, ...]) -> str:
    """The one stderr line starting with ``prefix``, after checking there is exactly one and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def one_line_error(err: str, *needles: str) -> str:
    return _the_line(err, "error: ", needles)


def interrupted_note(err: str, *needles: str) -> str:
    """The note Ctrl-C leaves: what is kept and how to continue."""
    return _the_line(err, "interrupted: ", needles)


@contextlib.contextmanager
def http_server(handler):
    """A local HTTP server in a thread; yields its base URL and the server object."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def temp_files(folder: Path) -> list[Path]:
    """Temporary files an atomic write would leave behind."""
    return [p for p in Path(folder).rglob("*") if ".tmp" in p.name or p.name.startswith(".posewarp-probe")]


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


UNSHARE = _unshare_works()


def mounted(folder: Path, how: str) -> list[str]:
    """A command prefix that runs the rest inside a private mount namespace where ``folder`` is ``how``:
    ``"ro"`` (read-only bind mount) or ``"tmpfs:SIZE"`` (a small file system that fills up)."""
    if not UNSHARE:
        pytest.skip("no unprivileged mount namespaces here (unshare -rm)")
    if how == "ro":
        script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$0" "$@"'
    else:
        script = f'mount -t tmpfs -o size={how.split(":")[1]} tmpfs "{folder}" && exec "$0" "$@"'
    return ["unshare", "-rm", "sh", "-c", script]


def small_world(root: Path, *, identities: int = 3, poses: int = 3, test_fraction: float = 0.34) -> Path:
    """A tiny synthetic world (32x16, seed 0) written to ``root / "w"``."""
    from posewarp.synth import generate

    generate(root / "w", identities=identities, poses_per_identity=poses, size=(32, 16), seed=0,
             test_fraction=test_fraction, show_progress=False)  # fmt: skip
    return root / "w"


def packed_world(root: Path, **world) -> tuple[Path, Path]:
    """``small_world`` and its pack ``root / "w.h5"``."""
    from posewarp.data import pack

    w = small_world(root, **world)
    data = pack(w / "images", w / "keypoints", w / "parsing", [w / "pairs-train.csv", w / "pairs-test.csv"],
                root / "w.h5", show_progress=False).out  # fmt: skip
    return w, data
