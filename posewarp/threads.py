"""The intra-op thread count of a CPU job: what the user asked for, else the cores other processes leave free.

PyTorch's default is one thread per core. On a small machine shared with other work that oversubscribes
the cores, and OpenMP's spinning threads then cost more than they give (Stage I ran 2.3x faster with one
thread than with two on a busy 2-core CPU). So without ``--threads`` or ``OMP_NUM_THREADS`` a job takes
the cores the 1-minute load average leaves free (at least one), and says which count it uses and why.
OpenCV's own pool is left alone: ``cv2.setNumThreads`` in a forked process (multiprocessing, a test harness)
can hang for good, and OpenCV's share of the work is small.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def choose_threads(requested: int | None = None) -> tuple[int, str]:
    """``(threads, why)``: ``requested``, else ``OMP_NUM_THREADS``, else the cores not busy with other work."""
    if requested is not None and requested > 0:
        return int(requested), "--threads"
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env), "OMP_NUM_THREADS"
    cores = cpu_cores()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores, f"{cores} cores"
    free = max(1, min(cores, int(cores - busy + 0.5)))
    return free, f"{cores} cores, load {busy:.1f}; --threads N to change"


@contextlib.contextmanager
def cpu_threads(requested: int | None = None) -> Iterator[str]:
    """Use the chosen count for torch inside the block; yields e.g. ``1 thread (2 cores, load 1.4; ...)``."""
    import torch

    threads, why = choose_threads(requested)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield f"{threads} thread{'s' if threads > 1 else ''} ({why})"
    finally:
        torch.set_num_threads(before)
