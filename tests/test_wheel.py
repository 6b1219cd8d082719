"""The wheel carries what an installed posewarp needs: every module, the shipped demo weights, the entry point.

The wheel is built from a copy of the package (setuptools' build backend, no isolation, no network), so the
checkout is left as it is.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from posewarp.inference import SHIPPED, shipped_weights

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("setuptools")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "posewarp", src / "posewarp", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / done.stdout.strip().splitlines()[-1]


def test_wheel_holds_every_module_and_the_shipped_weights(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
        for kind, file in SHIPPED.items():
            info = z.getinfo(f"posewarp/demo_weights/{file}")
            assert info.file_size == shipped_weights(kind).stat().st_size
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "posewarp").rglob("*.py")}
    assert modules and modules <= names, sorted(modules - names)
    assert "posewarp = posewarp.cli.main:main" in entry_points
    assert not any(n.startswith(("tests/", "weights/", "examples/", "benchmarks/")) for n in names)
