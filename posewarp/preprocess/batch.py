"""Folder-to-folder batch jobs shared by ``posewarp keypoints`` and ``posewarp parse``.

* :func:`plan_batch` lists the images of a folder (recursive, usual extensions), keeps this process's
  shard (``--shard i/n``: the sorted list's items whose index is ``i`` modulo ``n``), maps each image
  to ``OUTDIR/<relative path, suffix replaced>`` and skips those already written (resume after an
  interruption) unless ``overwrite``.
* :func:`run_batch` feeds chunks of items to a ``process`` callable under a Rich progress bar. A
  ``PosewarpError`` in a chunk makes it retry the chunk's items one by one, so a bad image only loses
  itself; failures are recorded in the :class:`BatchReport` (DESIGN.md: skip and report, never die).
  An ``OutputError`` (full disk, read-only folder) stops the job: every later item would fail the same
  way. Ctrl-C stops it after the current chunk; outputs already written are complete and are skipped
  when the same command runs again.

Contract for ``process(items)``: read and check every input first, then write each output atomically
(``posewarp.formats.atomic``) and count into ``report.counts``, so a retried chunk never counts twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from posewarp.errors import OutputError, PosewarpError
from posewarp.formats.images import list_images
from posewarp.formats.outputs import check_folder


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


def output_path(out_dir: str | os.PathLike, name: str, suffix: str) -> Path:
    """``OUTDIR/<name with its extension replaced by suffix>`` (suffix may be ``.json`` or ``_x.png``)."""
    rel = Path(name)
    return Path(out_dir) / rel.parent / (rel.stem + suffix)


def plan_batch(
    image_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    suffix: str,
    *,
    shard: tuple[int, int] | None = None,
    overwrite: bool = False,
) -> tuple[list[BatchItem], int]:
    """``(items to do, number skipped because their output exists)`` for this shard."""
    image_dir = Path(image_dir)
    check_folder(out_dir)
    images = list_images(image_dir)
    if shard is not None:
        i, n = shard
        images = images[i::n]
    todo, skipped, seen = [], 0, {}
    for image in images:
        name = image.relative_to(image_dir).as_posix()
        out = output_path(out_dir, name, suffix)
        if out in seen:
            raise PosewarpError(f"{name} and {seen[out]} would both write {out}; rename one of them", image_dir)
        seen[out] = name
        if out.exists() and not overwrite:
            skipped += 1
            continue
        todo.append(BatchItem(image=image, name=name, output=out))
    return todo, skipped


@dataclass
class BatchReport:
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item name, reason)
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"people found": 12}

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
        }


def run_batch(
    items: list[BatchItem],
    process: Callable[[list[BatchItem]], None],
    *,
    batch_size: int = 1,
    description: str,
    report: BatchReport,
    show_progress: bool = True,
) -> BatchReport:
    """Run ``process`` on chunks of ``batch_size`` items; a failing chunk is retried item by item."""
    from posewarp.console import progress
    from posewarp.interrupt import graceful

    batch_size = max(1, int(batch_size))
    bar = progress()
    bar.disable = not show_progress
    note = (lambda: f"{report.done} of {len(items)} images done in this run; run the same command again to do the "
            "rest (images already done are skipped)")  # fmt: skip
    with bar, graceful(note, immediate=True):
        task = bar.add_task(description, total=len(items), info="")
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            try:
                process(chunk)
                report.done += len(chunk)
            except OutputError:
                raise
            except PosewarpError as exc:
                if len(chunk) == 1:
                    report.failed.append((chunk[0].name, exc.message))
                else:
                    for item in chunk:
                        try:
                            process([item])
                            report.done += 1
                        except OutputError:
                            raise
                        except PosewarpError as one:
                            report.failed.append((item.name, one.message))
            bar.update(task, advance=len(chunk), info=f"[red]{len(report.failed)} failed" if report.failed else "")
    return report
