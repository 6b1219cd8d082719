"""Folder-to-folder batch jobs shared by ``posewarp keypoints`` and ``posewarp parse``.

* :func:`plan_batch` lists the images of a folder (recursive, usual extensions), keeps this process's
  shard (``--shard i/n``: the sorted list's items whose index is ``i`` modulo ``n``), maps each image
  to ``OUTDIR/<relative path, suffix replaced>`` and skips those already written (resume after an
  interruption) unless ``overwrite``; no output may be an image of the folder or another item's output, and
  an item whose output name is too long is reported as failed while the others are done.
* :func:`plan_folder` is :func:`plan_batch` that refuses a folder without images; :func:`run_network` runs a
  network's job: one line on how it runs, then :func:`run_batch` over the images.
* :func:`order_by` reorders the items so that those a network can run together are neighbours
  (same-size batching); outputs do not depend on the order.
* :func:`run_batch` reads the inputs of the next chunks in a background thread while the current chunk is
  processed (reading and decoding overlap the network), then feeds chunks of items to a ``process``
  callable under a Rich progress bar. An item whose reading fails with a ``PosewarpError`` is recorded
  as failed; a ``PosewarpError`` in ``process`` makes it retry the chunk's items one by one, so a bad
  image only loses itself (DESIGN.md: skip and report, never die). An ``OutputError`` (full disk,
  read-only folder) stops the job: every later item would fail the same way. Ctrl-C stops it at once;
  outputs already written are complete and are skipped when the same command runs again.

Contract for ``process(items, inputs)``: check everything first, then write each output atomically
(``posewarp.formats.atomic``) and count into ``report.counts``, so a retried chunk never counts twice.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from posewarp.errors import OutputError, PosewarpError
from posewarp.formats.images import list_images
from posewarp.formats.clashes import Places
from posewarp.formats.outputs import check_folder, name_max


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; ``None`` -> ``None``."""
    if text is None:
        return None
    parts = text.strip().split("/")
    try:
        i, n = (int(p) for p in parts)
    except ValueError:
        raise PosewarpError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise PosewarpError(f"--shard {text!r}: need 0 <= i < n")
    return i, n


def outside(folder: Path | None, image_dir: Path, what: str) -> None:
    """Refuse an output folder inside the image folder: its PNGs would be read as images by the next run."""
    if folder is None:
        return
    folder, image_dir = folder.resolve(), image_dir.resolve()
    if folder == image_dir or image_dir in folder.parents:
        raise PosewarpError(f"{what} must lie outside the image folder (its PNGs would be read as images)", folder)


@dataclass
class BatchItem:
    image: Path
    name: str  # path relative to the input folder, posix style
    output: Path
    problem: str | None = None  # why this item cannot be done (reported as failed, the others go on)


def output_path(out_dir: str | os.PathLike, name: str, suffix: str) -> Path:
    """``OUTDIR/<name with its extension replaced by suffix>`` (suffix may be ``.json`` or ``_x.png``)."""
    rel = Path(name)
    return Path(out_dir) / rel.parent / (rel.stem + suffix)


def _name_problem(paths: list[Path], limits: dict[Path, int]) -> str | None:
    """Why one of an item's output files cannot be created (a name longer than its file system takes)."""
    for path in paths:
        most = limits.setdefault(path.parent, name_max(_existing(path.parent)))
        size = len(os.fsencode(path.name))
        if size > most:
            return f"its output name {path.name[:40]}... is {size} bytes, the file system takes at most {most}"
    return None


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def plan_batch(
    image_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    suffix: str,
    *,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
    also: Sequence[tuple[str | os.PathLike | None, str, str]] = (),
    places: Places | None = None,
) -> tuple[list[BatchItem], int]:
    """``(items to do, number skipped because their output exists)`` for this shard.

    ``also``: the other files each item writes, as ``(folder, suffix, option)`` (``(overlay_dir, ".png",
    "--overlay")``). With ``places``, every image of the folder is an input and every item's files are outputs
    (``--out`` and the options of ``also``), so that no output overwrites an image or another output. An item
    whose output name is too long for its file system is planned with its ``problem`` (reported, not fatal)."""
    image_dir = Path(image_dir)
    check_folder(out_dir)
    images = list_images(image_dir)
    if places is not None:
        for image in images:
            places.read(image, "an input image")
    if shard is not None:
        i, n = shard
        images = images[i::n]
    todo, skipped, seen, limits = [], 0, {}, {}
    extra = [(Path(folder), extra_suffix, option) for folder, extra_suffix, option in also if folder is not None]
    for image in images:
        name = image.relative_to(image_dir).as_posix()
        out = output_path(out_dir, name, suffix)
        if out in seen:
            raise PosewarpError(f"{name} and {seen[out]} would both write {out}; rename one of them", image_dir)
        seen[out] = name
        others = [(output_path(folder, name, extra_suffix), option) for folder, extra_suffix, option in extra]
        problem = _name_problem([out, *(path for path, _ in others)], limits)
        if places is not None and problem is None:
            places.write(out, "--out", option=True)
            for path, option in others:
                places.write(path, option, option=True)
        if out.exists() and not overwrite:
            skipped += 1
            continue
        todo.append(BatchItem(image=image, name=name, output=out, problem=problem))
    return todo, skipped


@dataclass
class BatchReport:
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item name, reason)
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"people found": 12}
    runtime: str = ""  # how the network ran, e.g. "cpu, NCHW, eager, 1 thread (...)"

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def table(self, title: str = "Summary", max_failures: int = 10) -> Table:
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column(justify="right")
        table.add_row("done", str(self.done))
        table.add_row("skipped (already done)", str(self.skipped))
        table.add_row("failed", f"[red]{len(self.failed)}[/red]" if self.failed else "0")
        for key, value in self.counts.items():
            table.add_row(key, str(value))
        if self.runtime:
            table.add_row("ran on", self.runtime, style="dim")
        for name, reason in self.failed[:max_failures]:
            table.add_row(f"[red]failed[/red] {name}", reason, style="dim")
        if len(self.failed) > max_failures:
            table.add_row("...", f"{len(self.failed) - max_failures} more failures", style="dim")
        return table

    def check_any_processed(self, image_dir) -> None:
        """A batch job exits 1 only when nothing could be processed (every image failed)."""
        if self.failed and self.done + self.skipped == 0:
            raise PosewarpError(f"no image could be processed ({len(self.failed)} failed)", image_dir)

    def as_dict(self) -> dict:
        return {
            "done": self.done,
            "skipped": self.skipped,
            "failed": [{"name": n, "reason": r} for n, r in self.failed],
            **{k: v for k, v in self.counts.items()},
            **({"runtime": self.runtime} if self.runtime else {}),
        }


def order_by(items: list[BatchItem], key: Callable[[BatchItem], Hashable]) -> list[BatchItem]:
    """Items grouped by ``key`` (groups in order of first appearance, items in their order within a group)."""
    groups: dict[Hashable, list[BatchItem]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return [item for group in groups.values() for item in group]


def read_rgb(item: BatchItem):
    """The usual ``read`` of :func:`run_batch`: the item's image as RGB uint8."""
    from posewarp.formats.images import read_image

    return read_image(item.image)


def announce(job: str, runtime: str, show: bool) -> None:
    """One line before the progress bar saying how the job runs (device, layout, compile, threads and why)."""
    if show:
        from posewarp.console import err

        err.print(f"[bold]{job}[/bold]: {runtime}")


def plan_folder(image_dir: Path, out_dir: Path, suffix: str, **options) -> tuple[list[BatchItem], list]:
    """:func:`plan_batch` for a folder job (``options`` are its own); a folder without any image is an error."""
    from posewarp.formats.images import IMAGE_EXTENSIONS

    todo, skipped = plan_batch(image_dir, out_dir, suffix, **options)
    if not todo and not skipped:
        raise PosewarpError("no images found (looked for " + ", ".join(IMAGE_EXTENSIONS) + ")", image_dir)
    return todo, skipped


def run_network(job: str, items: list[BatchItem], process: Callable[[list[BatchItem], list], None], *, runner,
                thread_note: str, batch_size: int, report: BatchReport, show_progress: bool) -> BatchReport:
    """A network's folder job: the line saying how the network runs (``runner.describe()`` and the threads),
    :func:`run_batch` over the images read as RGB, then that line as it ended (a failed compile falls back to
    eager) in ``report.runtime``."""
    announce(job, f"{runner.describe()}, {thread_note}", show_progress)
    run_batch(items, process, read=read_rgb, batch_size=batch_size, description=job, report=report,
              show_progress=show_progress)  # fmt: skip
    report.runtime = f"{runner.describe()}, {thread_note}"
    return report


PREFETCH_CHUNKS = 2  # chunks read ahead of the one being processed


def _read_one(read: Callable[[BatchItem], object], item: BatchItem) -> tuple[bool, object]:
    if item.problem is not None:
        return False, item.problem
    try:
        return True, read(item)
    except PosewarpError as exc:
        return False, exc.message


def run_batch(
    items: list[BatchItem],
    process: Callable[[list[BatchItem], list], None],
    *,
    read: Callable[[BatchItem], object],
    batch_size: int = 1,
    description: str,
    report: BatchReport,
    show_progress: bool = True,
) -> BatchReport:
    """``process(chunk, inputs)`` on chunks of ``batch_size`` items, ``read(item)`` done ahead in a thread."""
    from posewarp.console import progress
    from posewarp.interrupt import graceful

    batch_size = max(1, int(batch_size))
    chunks = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
    bar = progress()
    bar.disable = not show_progress
    note = (lambda: f"{report.done} of {len(items)} images done in this run; run the same command again to do the "
            "rest (images already done are skipped)")  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posewarp-read")
    pending: deque[list[Future]] = deque()
    try:
        with bar, graceful(note, immediate=True):
            task = bar.add_task(description, total=len(items), info="")
            for index, chunk in enumerate(chunks):
                while len(pending) <= PREFETCH_CHUNKS and index + len(pending) < len(chunks):
                    pending.append([pool.submit(_read_one, read, item) for item in chunks[index + len(pending)]])
                ready, inputs = [], []
                for item, future in zip(chunk, pending.popleft()):
                    ok, value = future.result()
                    if ok:
                        ready.append(item)
                        inputs.append(value)
                    else:
                        report.failed.append((item.name, value))
                if ready:
                    _process(process, ready, inputs, report)
                info = f"[red]{len(report.failed)} failed" if report.failed else ""
                bar.update(task, advance=len(chunk), info=info)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return report


def _process(process, items: list[BatchItem], inputs: list, report: BatchReport) -> None:
    """One chunk; when it fails, each of its items alone. An ``OutputError`` stops the job."""
    try:
        process(items, inputs)
        report.done += len(items)
        return
    except OutputError:
        raise
    except PosewarpError as exc:
        if len(items) == 1:
            report.failed.append((items[0].name, exc.message))
            return
    for item, value in zip(items, inputs):
        try:
            process([item], [value])
            report.done += 1
        except OutputError:
            raise
        except PosewarpError as one:
            report.failed.append((item.name, one.message))
