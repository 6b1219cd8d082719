"""``posewarp prepare``: an official dataset tree and the field's list files -> a folder ready for ``posewarp pack``.

What every dataset shares (``deepfashion.py`` and ``market.py`` say where their files are and how an image
is turned into the protocol's size):

* the split: each split's images (its ``.lst`` file when there is one, else its annotation CSV), its pairs
  and its keypoints; list files that contradict each other or name images the tree lacks fail in one line
  before anything is written;
* the output folder ``OUT``: ``images/<name>`` (both splits, the field's names, the protocol's size),
  ``annotations.csv`` (PATN keypoints in the output images' pixels), ``pairs-train.csv``,
  ``pairs-test.csv``, ``train.lst``, ``test.lst`` and ``prepare.json`` (what was done; ``state`` stays
  ``partial`` until the end). Images are written atomically by a few threads under a progress bar; a
  re-run keeps the images already written (``overwrite`` redoes them); an image that cannot be read is
  reported and left out with its pairs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posewarp.console import progress
from posewarp.errors import PosewarpError, UsageError, few
from posewarp.formats import atomic, clashes, jsonfile, outputs
from posewarp.formats.images import IMAGE_EXTENSIONS
from posewarp.formats.input_file import read_text
from posewarp.formats.keypoints import read_pairs_csv, read_patn_csv, visible, write_pairs_csv, write_patn_csv
from posewarp.interrupt import graceful

SPLITS = ("train", "test")
OUTSIDE_NOTE = 0.01  # a share of keypoints outside the images that is said in a note, not only counted
PREPARE_PROTOCOLS = ("patn", "gfla")  # whose image size and keypoint frame (deepfashion.py, market.py)
DEFAULT_PREPARE_PROTOCOL = "patn"


def find_file(folder: Path, names: tuple[str, ...], what: str) -> Path:
    """The first of ``names`` present in ``folder``, else an error naming the file that is missing."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    others = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
    raise PosewarpError(f"missing {names[0]}{others}: {what}", folder)


def read_lst(path: Path) -> list[str]:
    """An image list (``train.lst``): one image name per line."""
    lines = read_text(path).splitlines()
    names = []
    for n, line in enumerate(lines, start=1):
        name = line.strip()
        if name and Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
            raise PosewarpError(f"line {n} ({name[:40]!r}) is not an image name", path)
        if name:
            names.append(name)
    if not names:
        raise PosewarpError("lists no images", path)
    return names


@dataclass
class Split:
    """One split as the list files give it: image names, pairs and keypoints (in the list files' frame)."""

    names: list[str]
    pairs: list[tuple[str, str]]
    keypoints: dict[str, np.ndarray]


def read_split(pairs_csv: Path, annotation_csv: Path, lst: Path | None) -> Split:
    """A split from its pairs CSV, its annotation CSV and (if any) its image list, checked against each other."""
    keypoints = read_patn_csv(annotation_csv)
    names = read_lst(lst) if lst is not None else list(keypoints)
    if not names:
        raise PosewarpError("lists no images", annotation_csv)
    pairs = read_pairs_csv(pairs_csv)
    if not pairs:
        raise PosewarpError("lists no pairs", pairs_csv)
    known = set(names)
    strangers = sorted({n for pair in pairs for n in pair if n not in known})
    if strangers:
        where = lst.name if lst is not None else annotation_csv.name
        raise PosewarpError(f"{len(strangers)} images in the pairs are not in this split ({where}): {few(strangers)}",
                            pairs_csv)  # fmt: skip
    unposed = sorted({n for pair in pairs for n in pair if n not in keypoints})
    if unposed:
        raise PosewarpError(f"{len(unposed)} images in the pairs have no keypoints in {annotation_csv.name}: "
                            f"{few(unposed)}", pairs_csv)  # fmt: skip
    return Split(names, pairs, keypoints)


@dataclass
class Plan:
    """What one preparation does: every image's source file and split, the pairs, and the image transform."""

    dataset: str
    protocol: str
    size: tuple[int, int]  # (H, W) of the output images
    sources: dict[str, Path]  # output name -> file in the official tree
    splits: dict[str, Split]
    convert: Callable[[Path, Path], None]  # (source file, output file): write the output image atomically
    keypoints: Callable[[np.ndarray], np.ndarray]  # list-file frame -> output pixels
    inputs: dict[str, str] = field(default_factory=dict)  # what was read, for prepare.json
    unlisted: int = 0  # images of the tree that no list names
    folders: dict[str, Path] = field(default_factory=dict)  # the input folders by option: ROOT, --lists
    notes: list[str] = field(default_factory=list)  # what was inferred or converted, said once to the user


def unlistable(name: str) -> str | None:
    """Why ``name`` cannot be a line of ``train.lst`` (one name per line), else None."""
    if any(c in name for c in "\r\n\x00"):
        return "the name holds a line break or NUL, which a .lst file (one name per line) cannot hold; left out"
    if name != name.strip():
        return "the name starts or ends with white space, which a .lst reader strips; left out"
    return None


def check_sources(plan_sources: dict[str, Path | None], splits: dict[str, Split], tree: Path) -> dict[str, Path]:
    """Every listed image must be in the tree; the same name must not be in two splits."""
    seen: dict[str, str] = {}
    for split, s in splits.items():
        twice = [n for n in s.names if seen.setdefault(n, split) != split]
        if twice:
            raise PosewarpError(f"{len(twice)} images are listed in two splits: {few(twice)}", tree)
    missing = sorted(n for n, p in plan_sources.items() if p is None)
    if missing:
        raise PosewarpError(f"{len(missing)} images named in the list files are not in the tree: {few(missing)}", tree)
    return {n: p for n, p in plan_sources.items() if p is not None}


@dataclass
class PrepareReport:
    out: Path
    dataset: str
    protocol: str
    size: tuple[int, int]
    images: dict[str, int]  # split -> images
    pairs: dict[str, int]  # split -> pairs written
    written: int = 0
    kept: int = 0  # already there from an earlier run
    failed: list[tuple[str, str]] = field(default_factory=list)
    dropped_pairs: int = 0
    points_outside: int = 0  # keypoints that fall outside the output image (made missing)
    unlisted: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        rows: dict[str, object] = {"output": str(self.out), "protocol": f"{self.protocol} ({self.size[0]}x{self.size[1]})"}
        for split in self.images:
            rows[f"{split}: images / pairs"] = f"{self.images[split]} / {self.pairs[split]}"
        rows["images written"] = self.written
        rows["kept from an earlier run"] = self.kept
        rows["failed images"] = len(self.failed)
        rows["pairs left out"] = self.dropped_pairs
        rows["keypoints outside the image (missing)"] = self.points_outside
        rows["tree images in no list"] = self.unlisted
        rows["time"] = f"{self.seconds:.1f} s"
        return rows

    def to_dict(self) -> dict:
        return {"out": str(self.out), "dataset": self.dataset, "protocol": self.protocol, "size": list(self.size),
                "images": self.images, "pairs": self.pairs, "written": self.written, "kept": self.kept,
                "failed": [{"name": n, "reason": r} for n, r in self.failed], "dropped_pairs": self.dropped_pairs,
                "points_outside": self.points_outside, "unlisted": self.unlisted, "notes": self.notes,
                "seconds": round(self.seconds, 3)}  # fmt: skip


def _check_out(out: Path, plan: Plan) -> None:
    meta = out / "prepare.json"
    if not meta.is_file():
        return
    try:
        old = jsonfile.read(meta)
    except PosewarpError:
        raise PosewarpError("unreadable; remove it or use another --out", meta) from None
    if not isinstance(old, dict):
        raise PosewarpError("unreadable; remove it or use another --out", meta)
    if (old.get("dataset"), old.get("protocol")) != (plan.dataset, plan.protocol):
        raise PosewarpError(f"this folder holds {old.get('dataset')} prepared with --protocol {old.get('protocol')}; "
                            "use another --out", out)  # fmt: skip


OUTPUT_FILES = ("prepare.json", "train.lst", "test.lst", "pairs-train.csv", "pairs-test.csv", "annotations.csv")


def check_places(out: Path, plan: Plan) -> None:
    """Nothing prepare writes is one of its inputs: ``out`` is neither the tree's root nor the list folder (its
    ``train.lst`` and CSVs would replace or shadow the published list files every later prepare reads), and no
    output file is a list file or an image of the tree (through links too)."""
    places = clashes.Places()
    for option, folder in plan.folders.items():
        if places.key(folder) == places.key(out):
            raise UsageError(f"--out is the input folder {option} ({folder}); prepare writes train.lst, test.lst and "
                             "the pairs and keypoints CSVs there, replacing or shadowing the published list files; "
                             "choose another --out", out)  # fmt: skip
    for label, path in plan.inputs.items():
        if path != "None" and Path(path).is_file():
            places.read(path, f"the {label} file")
    for name, source in plan.sources.items():
        places.read(source, f"the tree's image {name}")
    for name in OUTPUT_FILES:
        places.write(out / name, f"--out's {name}")
    for name in plan.sources:
        places.write(out / "images" / name, "--out's images")


def _write_meta(out: Path, plan: Plan, state: str, report: PrepareReport | None = None) -> None:
    doc = {"dataset": plan.dataset, "protocol": plan.protocol, "size": list(plan.size), "state": state,
           "inputs": plan.inputs, **({"report": report.to_dict()} if report else {})}  # fmt: skip
    atomic.write_text(out / "prepare.json", json.dumps(doc, indent=2))


def _images(plan: Plan, out: Path, overwrite: bool, workers: int, show_progress: bool, report: PrepareReport) -> None:
    todo = []
    for name, source in plan.sources.items():
        dest = out / "images" / name
        if dest.exists() and not overwrite:
            report.kept += 1
        else:
            todo.append((name, source, dest))

    def one(job: tuple[str, Path, Path]) -> str | None:
        name, source, dest = job
        try:
            plan.convert(source, dest)
        except PosewarpError as exc:
            return exc.message if exc.path in (None, str(source)) else f"{exc.message} ({exc.path})"
        return None

    bar = progress()
    bar.disable = not show_progress
    pool = ThreadPoolExecutor(max(1, workers))
    note = (lambda: f"{report.written} images written to {out / 'images'} in this run; run the same command again "
            "to finish (images already written are kept)")  # fmt: skip
    try:
        with bar, graceful(note, immediate=True):
            task = bar.add_task(f"prepare {plan.dataset}", total=len(todo), info="")
            for (name, source, _), reason in zip(todo, pool.map(one, todo)):
                if reason is None:
                    report.written += 1
                else:
                    report.failed.append((name, f"{source}: {reason}"))
                bar.update(task, advance=1, info=f"[red]{len(report.failed)} failed" if report.failed else "")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run(plan: Plan, out: str | os.PathLike, *, overwrite: bool = False, workers: int | None = None,
        show_progress: bool = True) -> PrepareReport:
    """Write ``plan`` into ``out`` (layout in the module docstring)."""
    start = time.perf_counter()
    out = outputs.check_folder(out)
    check_places(out, plan)
    _check_out(out, plan)
    out.mkdir(parents=True, exist_ok=True)
    _write_meta(out, plan, "partial")
    report = PrepareReport(out, plan.dataset, plan.protocol, plan.size, {}, {}, unlisted=plan.unlisted,
                           notes=list(plan.notes))  # fmt: skip
    for name in [n for n in plan.sources if unlistable(n)]:
        report.failed.append((name, f"{plan.sources.pop(name)}: {unlistable(name)}"))
    _images(plan, out, overwrite, workers or min(8, os.cpu_count() or 1), show_progress, report)
    failed = {name for name, _ in report.failed}
    annotations = {}
    for split, s in plan.splits.items():
        names = [n for n in s.names if n not in failed]
        unique = list(dict.fromkeys(s.pairs))
        if len(unique) < len(s.pairs):
            report.notes.append(f"{len(s.pairs) - len(unique)} pairs of the {split} list are given twice; each is "
                                "kept once")  # fmt: skip
        pairs = [(a, b) for a, b in unique if a not in failed and b not in failed]
        report.images[split], report.pairs[split] = len(names), len(pairs)
        report.dropped_pairs += len(unique) - len(pairs)
        for name in names:
            if name in s.keypoints:
                kp = plan.keypoints(s.keypoints[name])
                report.points_outside += int(visible(s.keypoints[name]).sum() - visible(kp).sum())
                annotations[name] = kp
        atomic.write_text(out / f"{split}.lst", "".join(f"{n}\n" for n in names))
        write_pairs_csv(out / f"pairs-{split}.csv", pairs)
    write_patn_csv(out / "annotations.csv", annotations)
    seen = sum(int(visible(s.keypoints[n]).sum()) for s in plan.splits.values() for n in s.names if n in s.keypoints)
    if seen and report.points_outside > OUTSIDE_NOTE * seen:
        h, w = plan.size
        report.notes.append(f"{report.points_outside} of {seen} keypoints fell outside the {h}x{w} images and were "
                            "made missing: check the coordinate frame of the list files")  # fmt: skip
    report.seconds = time.perf_counter() - start
    _write_meta(out, plan, "complete", report)
    return report


def keep_inside(kp: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Points outside an ``(H, W)`` image become missing (as a crop makes them)."""
    kp = np.asarray(kp, np.float32).copy()
    h, w = size
    inside = (kp[:, 0] >= 0) & (kp[:, 0] <= w - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= h - 1)
    kp[~(inside & visible(kp))] = 0.0
    return kp


def next_steps(report: PrepareReport) -> list[str]:
    """The commands that turn the prepared folder into a pack."""
    out = report.out
    return [f"posewarp parse {out / 'images'} --out {out / 'parsing'}",
            f"posewarp pack --images {out / 'images'} --keypoints {out / 'annotations.csv'} --parsing "
            f"{out / 'parsing'} --pairs {out / 'pairs-train.csv'} --pairs {out / 'pairs-test.csv'} "
            f"--out {out / (report.dataset + '.h5')}"]  # fmt: skip
