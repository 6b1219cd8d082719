"""Start-up and warm latency of `posewarp transfer` on one image: where the seconds of one command go.

    .venv/bin/python benchmarks/startup.py [--repeat 3]

Fresh processes, CPU (user + system) and wall seconds, min and median: the bare interpreter, ``import torch``,
``posewarp --help`` (no torch: the CLI imports it only inside the commands), and the whole
``posewarp transfer examples/person.png --pose examples/pose-arms-up.json`` (shipped weights, CPU). Then, in one
process, the same transfer called twice: the second call is the warm latency (imports done, files cached).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC, POSE = ROOT / "examples" / "person.png", ROOT / "examples" / "pose-arms-up.json"


def run(argv: list[str]) -> tuple[float, float]:
    """(CPU s, wall s) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def warm(out: Path) -> tuple[float, float]:
    """CPU and wall s of the second of two in-process transfers."""
    import torch

    torch.set_num_threads(1)
    from posewarp import transfer as T

    T.transfer(SRC, str(POSE), out, device="cpu")
    cpu, wall = time.process_time(), time.perf_counter()
    T.transfer(SRC, str(POSE), out, device="cpu")
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    py = sys.executable
    out = Path(tempfile.mkdtemp()) / "out.png"
    cases = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import torch'": [py, "-c", "import torch"],
        "posewarp --help": [py, "-m", "posewarp", "--help"],
        "posewarp transfer (whole command)": [py, "-m", "posewarp", "transfer", str(SRC), "--pose", str(POSE),
                                              "--out", str(out), "--device", "cpu"],  # fmt: skip
    }
    times = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, argv in cases.items():
            times[name].append(run(argv))
    print(f"{'':36} CPU s min / median   wall s min / median   ({args.repeat} fresh processes each, 1 thread)")
    for name, values in times.items():
        cpu, wall = [v[0] for v in values], [v[1] for v in values]
        print(f"{name:36} {min(cpu):6.2f} / {statistics.median(cpu):5.2f}        "
              f"{min(wall):6.2f} / {statistics.median(wall):5.2f}")  # fmt: skip
    cpu, wall = warm(out)
    print(f"{'transfer, warm (2nd call, 1 process)':36} {cpu:6.2f}                {wall:6.2f}")


if __name__ == "__main__":
    main()
