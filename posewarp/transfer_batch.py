"""``posewarp transfer --data``: every pair of an HDF5 pack split rendered into ``OUT/pred/<from>___<to>.png``, with
the ground truth in ``OUT/gt/`` and ``OUT/pairs.csv`` + ``OUT/annotations.csv``, ready for ``posewarp eval``.
Ctrl-C keeps the pairs rendered so far and the next run renders only the rest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from posewarp.errors import PosewarpError
from posewarp.formats import atomic, clashes, draw, images, jsonfile, outputs
from posewarp.formats import keypoints as K
from posewarp.formats.geometry import Fit
from posewarp.transfer import GRID_TITLES


def _stem(name: str) -> str:
    """An image name without its extension, relative folders kept (``MEN/Denim/01_1_front``)."""
    return Path(name).with_suffix("").as_posix()


def batch_outputs(dataset, n: int, data) -> list[tuple[str, str]]:
    """``(pred, gt)`` file names relative to OUT of the first ``n`` pairs: ``pred/<from>___<to>.png`` and
    ``gt/<to>.png`` with the relative paths of the names kept (DeepFashion's subfolders), which is what
    ``posewarp eval --pairs`` looks for. Names that could leave OUT, or two pairs that would write one file,
    are refused before anything is rendered."""
    from posewarp.data.sources import check_name

    planned, owner, gt_owner = [], {}, {}
    for i in range(n):
        src_name, tgt_name = dataset.pair_names(i)
        for name in (src_name, tgt_name):
            if check_name(name):
                raise PosewarpError(f"pair {i}: name {name!r}: {check_name(name)}", data)
        pred, gt = f"pred/{_stem(src_name)}___{_stem(tgt_name)}.png", f"gt/{_stem(tgt_name)}.png"
        if owner.setdefault(pred, (src_name, tgt_name)) != (src_name, tgt_name):
            raise PosewarpError(f"pairs {owner[pred]} and {(src_name, tgt_name)} would both write {pred}; "
                                "give the images distinct names", data)  # fmt: skip
        if gt_owner.setdefault(gt, tgt_name) != tgt_name:
            raise PosewarpError(f"images {gt_owner[gt]!r} and {tgt_name!r} would both write {gt}; "
                                "give the images distinct names", data)  # fmt: skip
        planned.append((pred, gt))
    return planned


PROGRESS = ".transfer-progress.json"  # batch mode: what an interrupted run was rendering, for the next run


def _progress_doc(data, split: str, n: int, sources: dict[str, Path], size) -> dict:
    """What a batch run renders: the pack, split, pair count, the snapshots read (path, size, mtime) and the size."""

    def ident(path):
        path = Path(path).resolve()
        st = path.stat()
        return [str(path), st.st_size, st.st_mtime_ns]

    return {"data": ident(data), "split": split, "pairs": n, "stage1": ident(sources["stage1"]),
            "stage2": ident(sources["stage2"]), "size": list(size)}


def _read_progress(path: Path) -> dict | None:
    try:
        return jsonfile.read(path)
    except PosewarpError:
        return None


def transfer_dataset(data: str | os.PathLike, split: str, out: str | os.PathLike, *, stage1=None, stage2=None,
                     device: str = "auto", batch_size: int = 16, limit: int | None = None,
                     grid: str | os.PathLike | None = None, fit_pack: bool = False,
                     show_progress: bool = True) -> dict:
    """Render every pair of a pack split; writes ``pred/``, ``gt/``, ``pairs.csv`` and ``annotations.csv``.

    Ctrl-C keeps the pairs rendered so far; running the same command again (same pack, split, snapshots)
    renders only the rest. ``pairs.csv`` and ``annotations.csv`` are written when every pair is done. A pack whose
    image size is not the one the networks were trained at is refused, or with ``fit_pack`` fitted (scaled and
    padded) to it, its ground truth and keypoints alike, with a note."""
    import torch

    from posewarp.console import track
    from posewarp.data import PairDataset
    from posewarp.inference import TransferPipeline
    from posewarp.interrupt import graceful
    from posewarp.snapshots import resolve_snapshot

    out = Path(out)
    outputs.check_folder(out)
    if grid is not None:
        outputs.check_file(grid)
        images.check_output_name(grid, "--grid")
    dataset = PairDataset(data, split, maps=False)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if n == 0:
        raise PosewarpError(f"split {split!r} has no pairs", data)
    planned = batch_outputs(dataset, n, data)
    places = clashes.Places()
    places.read(data, "--data", option=True)
    for which, given in (("stage1", stage1), ("stage2", stage2)):
        if given is not None and Path(given).exists():
            places.read(resolve_snapshot(given), f"--{which}", option=True)
    places.write(grid, "--grid", option=True)
    for name in (PROGRESS, "pairs.csv", "annotations.csv", *(f for pair in planned for f in pair)):
        places.write(out / name, "--out", option=True)
    pipeline = TransferPipeline.load(stage1, stage2, device=device)
    fit, notes = None, []
    if tuple(dataset.image_size) != tuple(pipeline.size):
        (h, w), (mh, mw) = dataset.image_size, pipeline.size
        if not fit_pack:
            raise PosewarpError(f"the pack's images are {h}x{w} but the networks were trained at {mh}x{mw}; pass "
                                f"--fit-pack to fit them to {mh}x{mw} (scaled and padded), or use snapshots "
                                "trained at the pack's size", data)  # fmt: skip
        fit = Fit.between((h, w), (mh, mw), "pad")
        notes.append(f"the pack's {h}x{w} images (and their ground truth and keypoints) are fitted to the networks' "
                     f"{mh}x{mw}: scaled by {fit.scale_x:.3g} and padded (--fit-pack)")  # fmt: skip
    shown = set(np.linspace(0, n - 1, min(8, n)).round().astype(int).tolist()) if grid is not None else set()
    progress_file, doc = out / PROGRESS, _progress_doc(data, split, n, pipeline.sources, pipeline.size)
    resuming = progress_file.is_file() and _read_progress(progress_file) == doc
    todo = [i for i, (pred, gt) in enumerate(planned)
            if not (resuming and i not in shown and (out / pred).is_file() and (out / gt).is_file())]  # fmt: skip
    atomic.write_text(progress_file, json.dumps(doc))
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, todo), batch_size=batch_size)
    rows, done = [], n - len(todo)
    note = lambda: f"{done} of {n} pairs are rendered in {out}; run the same command again to render the rest"  # noqa: E731
    with graceful(note, immediate=True):
        for batch in track(loader, "transfer", total=len(loader), show=show_progress):
            batch = fit_batch(batch, fit) if fit is not None else batch
            result = pipeline.run(batch)
            fake = images.to_uint8(result["image"])
            real = images.to_uint8(batch["tgt_image"])
            for i in range(len(fake)):
                index = int(batch["index"][i])
                pred, gt = planned[index]
                images.write_image(out / pred, fake[i])
                images.write_image(out / gt, real[i])
                done += 1
                if index in shown:
                    size = fake[i].shape[:2]
                    rows.append((index, [images.to_uint8(batch["src_image"][i]),
                                         draw.pose_picture(batch["tgt_keypoints"][i].numpy(), size),
                                         draw.parsing_picture(result["parsing"][i].cpu().numpy()), fake[i], real[i]]))
    pairs = [dataset.pair_names(i) for i in range(n)]
    annotations = {planned[i][1][len("gt/"):]: dataset.pair_keypoints(i)[1] if fit is None
                   else fit.keypoints(dataset.pair_keypoints(i)[1]) for i in range(n)}  # fmt: skip
    K.write_pairs_csv(out / "pairs.csv", pairs)
    K.write_patn_csv(out / "annotations.csv", annotations)
    if grid is not None:
        images.write_image(Path(grid), draw.grid([row for _, row in sorted(rows, key=lambda r: r[0])],
                                                 GRID_TITLES + ["real"]))  # fmt: skip
    progress_file.unlink()
    return {"data": str(data), "split": split, "pairs": n, "out": str(out), "size": list(pipeline.size),
            "device": str(pipeline.device), "resumed_after": n - len(todo), "notes": notes}


def fit_batch(batch: dict, fit: Fit) -> dict:
    """A ``PairDataset(maps=False)`` batch fitted to another size: images (white padding), labels and keypoints."""
    import torch

    out = dict(batch)
    for key in ("src_image", "tgt_image"):
        pictures = [fit.image(images.to_uint8(t)) for t in batch[key]]
        out[key] = torch.stack([images.to_tensor(p) for p in pictures])
    for key in ("src_labels", "tgt_labels"):
        if key in batch:
            out[key] = torch.stack([torch.as_tensor(fit.labels(t.numpy().astype(np.uint8)).astype(np.int64))
                                    for t in batch[key]])  # fmt: skip
    for key in ("src_keypoints", "tgt_keypoints"):
        out[key] = torch.as_tensor(fit.keypoints(batch[key].numpy()))
    return out

