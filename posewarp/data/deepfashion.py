"""DeepFashion In-shop for pose transfer (``posewarp prepare deepfashion``), as PATN and GFLA prepared it.

The official In-shop Clothes Retrieval Benchmark tree is ``img/<MEN|WOMEN>/<Category>/id_XXXXXXXX/NN_V_view.jpg``
(256x256 images, the person in the middle 176 columns) and, in ``img_highres.zip``, ``img_highres/`` with the
same paths at high resolution. PATN's ``tool/generate_fashion_datasets.py`` (copied by GFLA's
``script/generate_fashion_datasets.py``) names a file by its path: "fashion" + gender + category + the id
folder without "_" + the file name with only its first "_" kept, so
``img/WOMEN/Blouses_Shirts/id_00006370/03_1_front.jpg`` -> ``fashionWOMENBlouses_Shirtsid0000637003_1front.jpg``.

Protocols (``--protocol``):

* ``patn``: ``img/`` cropped to columns 40..215 (PATN's ``img.crop((40, 0, 216, 256))``), 256x176; PATN's
  ``fasion-resize-annotation-*.csv`` keypoints are already in those pixels.
* ``gfla``: ``img_highres/`` resized to 256x256 with PIL's bilinear filter (GFLA resizes with torchvision's
  ``F.resize`` on PIL images when loading); its annotation CSVs are in the 256x176 frame and its
  ``cords_to_map`` scales them by 256/176 in x and 256/256 in y, then truncates to int: so here too.

The frame of an annotation CSV is read from its values, not assumed from its name: Def-GAN publishes a
``fasion-annotation-*.csv`` in the uncropped 256x256 frame under GFLA's name; it is recognised (the median x of
an In-shop person is near 128 there, near 88 in the crop), moved into the crop's frame with a note, and a file
that fits neither frame is refused (:func:`keypoint_frame`).

List files (``--lists``, default the root): the pairs ``fasion-resize-pairs-{train,test}.csv`` (PATN's spelling) or
``fasion-pairs-{train,test}.csv`` (GFLA's), the keypoints ``fasion-resize-annotation-{train,test}.csv`` or
``fasion-annotation-{train,test}.csv``, and the image lists ``train.lst``/``test.lst`` when present (both
repositories publish them; without them a split's images are those of its annotation CSV).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from posewarp.data.prepare import (
    DEFAULT_PREPARE_PROTOCOL,
    PREPARE_PROTOCOLS,
    SPLITS,
    Plan,
    PrepareReport,
    check_sources,
    find_file,
    keep_inside,
    read_split,
    run,
)
from posewarp.errors import PosewarpError
from posewarp.formats.keypoints import OUTSIDE_TOLERANCE, visible

LOW_RES = "img"
HIGH_RES = "img_highres"
PATN_CROP = (40, 216)  # columns kept of the 256x256 images
CSV_FRAME = (256, 176)  # (H, W) of the published keypoints
SIZES = {"patn": (256, 176), "gfla": (256, 256)}


def fashion_name(rel: Path) -> str | None:
    """PATN's flat name for ``<GENDER>/<Category>/id_XXXXXXXX/NN_V_view.jpg`` (None for other paths)."""
    parts = rel.parts
    if len(parts) != 4 or "_" not in parts[3]:
        return None
    gender, category, ident, file = parts
    head, *rest = file.split("_")
    return f"fashion{gender}{category}{ident.replace('_', '')}{head}_{''.join(rest)}"


def find_tree(root: Path, protocol: str) -> Path:
    """The image tree a protocol needs: ``img/`` (patn) or ``img_highres/`` (gfla), or ``root`` itself."""
    folder = LOW_RES if protocol == "patn" else HIGH_RES
    if (root / folder).is_dir():
        return root / folder
    if (root / "MEN").is_dir() or (root / "WOMEN").is_dir():
        return root
    what = "the 256x256 images PATN crops" if protocol == "patn" else "the high-resolution images GFLA resizes"
    raise PosewarpError(f"no {folder}/ folder ({what}; In-shop's {folder}.zip unpacked here)", root)


def index_tree(tree: Path) -> dict[str, Path]:
    """Flat name -> file for every image of the tree."""
    index: dict[str, Path] = {}
    for path in sorted(tree.rglob("*.jpg")):
        name = fashion_name(path.relative_to(tree))
        if name is None:
            continue
        if name in index:
            raise PosewarpError(f"{index[name].relative_to(tree)} and {path.relative_to(tree)} both become {name}", tree)
        index[name] = path
    if not index:
        raise PosewarpError("no <GENDER>/<Category>/id_XXXXXXXX/NN_V_view.jpg images here", tree)
    return index


def _crop(source: Path, dest: Path, quality: int) -> None:
    from posewarp.formats.images import read_image, write_image

    rgb = read_image(source)
    if rgb.shape[:2] != (256, 256):
        raise PosewarpError(f"is {rgb.shape[1]}x{rgb.shape[0]}; PATN's crop needs In-shop's 256x256 img/ images "
                            "(img_highres/ goes with --protocol gfla)", source)  # fmt: skip
    write_image(dest, np.ascontiguousarray(rgb[:, PATN_CROP[0] : PATN_CROP[1]]), quality)


def _resize(source: Path, dest: Path, quality: int) -> None:
    from PIL import Image

    from posewarp.formats.images import read_image, write_image

    h, w = SIZES["gfla"]
    write_image(dest, np.asarray(Image.fromarray(read_image(source)).resize((w, h), Image.BILINEAR)), quality)


def gfla_keypoints(kp: np.ndarray) -> np.ndarray:
    """GFLA's keypoints: the 256x176 CSV frame scaled to 256x256 and truncated to int (``cords_to_map``)."""
    out = np.asarray(kp, np.float32).copy()
    (h0, w0), (h, w) = CSV_FRAME, SIZES["gfla"]
    out[:, 0] = np.floor(out[:, 0] * w / w0)
    out[:, 1] = np.floor(out[:, 1] * h / h0)
    out[out[:, 2] <= 0] = 0.0
    return keep_inside(out, (h, w))


FULL_FRAME_MEDIAN_X = (CSV_FRAME[1] / 2 + 256 / 2) / 2  # 108: halfway between the crop's centre and the image's


def keypoint_frame(keypoints: dict[str, np.ndarray], path: Path) -> tuple[str, str | None]:
    """Which frame a list file's keypoints are in, from their values: ``"crop"`` (PATN's and GFLA's 256x176,
    what the file names stand for) or ``"full"`` (the uncropped 256x256 In-shop image: Def-GAN's file of the
    same name), and a note saying so when it is not the crop. In-shop centres the person, so the median x of
    the visible points is near 88 in the crop and near 128 in the full image; a file that fits neither is refused."""
    points = [kp[visible(kp)] for kp in keypoints.values()]
    points = np.concatenate(points) if points else np.zeros((0, 3), np.float32)
    if len(points) == 0:
        return "crop", None
    median, top = float(np.median(points[:, 0])), float(points[:, 0].max())
    if median <= FULL_FRAME_MEDIAN_X:
        return "crop", None
    if top > 256 - 1 + OUTSIDE_TOLERANCE or float(points[:, 1].max()) > 256 - 1 + OUTSIDE_TOLERANCE:
        raise PosewarpError(f"keypoints reach x = {top:.0f} (median {median:.0f}): neither the 256x176 crop nor the "
                            "256x256 In-shop frame; not a DeepFashion list file?", path)  # fmt: skip
    return "full", (f"{path.name}: its keypoints are in the uncropped 256x256 In-shop frame (median x {median:.0f}, "
                    f"up to {top:.0f}; Def-GAN's file of this name), not the 256x176 crop its name stands for: "
                    f"moved by x - {PATN_CROP[0]} into the crop's frame")  # fmt: skip


def to_crop_frame(keypoints: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Keypoints of the 256x256 frame in the 256x176 crop's (PATN's ``img.crop((40, 0, 216, 256))``)."""
    out = {}
    for name, kp in keypoints.items():
        kp = np.asarray(kp, np.float32).copy()
        kp[visible(kp), 0] -= PATN_CROP[0]
        out[name] = kp
    return out


def plan(root: str | os.PathLike, *, lists: str | os.PathLike | None = None,
         protocol: str = DEFAULT_PREPARE_PROTOCOL, quality: int = 95) -> Plan:
    """Read and check the tree and the list files; nothing is written."""
    if protocol not in PREPARE_PROTOCOLS:
        raise PosewarpError(f"unknown protocol {protocol!r}; use one of {', '.join(PREPARE_PROTOCOLS)}")
    root = Path(root)
    if not root.is_dir():
        raise PosewarpError("not a folder (the DeepFashion In-shop root, with img/ or img_highres/)", root)
    lists = Path(lists) if lists is not None else root
    tree = find_tree(root, protocol)
    splits, inputs, notes = {}, {"tree": str(tree)}, []
    for split in SPLITS:
        pairs = find_file(lists, (f"fasion-resize-pairs-{split}.csv", f"fasion-pairs-{split}.csv",
                                  f"fashion-pairs-{split}.csv"), f"the {split} pairs of PATN or GFLA")  # fmt: skip
        ann = find_file(lists, (f"fasion-resize-annotation-{split}.csv", f"fasion-annotation-{split}.csv",
                                f"fashion-annotation-{split}.csv"), f"the {split} keypoints of PATN or GFLA")  # fmt: skip
        lst = lists / f"{split}.lst" if (lists / f"{split}.lst").is_file() else None
        splits[split] = read_split(pairs, ann, lst)
        frame, note = keypoint_frame(splits[split].keypoints, ann)
        if frame == "full":
            splits[split].keypoints = to_crop_frame(splits[split].keypoints)
            notes.append(note)
        inputs.update({f"{split} pairs": str(pairs), f"{split} keypoints": str(ann), f"{split} list": str(lst)})
    index = index_tree(tree)
    listed = {n: index.get(n) for s in splits.values() for n in s.names}
    sources = check_sources(listed, splits, tree)
    convert = _crop if protocol == "patn" else _resize
    return Plan("deepfashion", protocol, SIZES[protocol], sources, splits,
                convert=lambda src, dest: convert(src, dest, quality),
                keypoints=(lambda kp: keep_inside(kp, SIZES["patn"])) if protocol == "patn" else gfla_keypoints,
                inputs=inputs, unlisted=len(index) - len(sources), folders={"ROOT": root, "--lists": lists},
                notes=notes)  # fmt: skip


def prepare_deepfashion(root: str | os.PathLike, out: str | os.PathLike, *, lists: str | os.PathLike | None = None,
                        protocol: str = DEFAULT_PREPARE_PROTOCOL, quality: int = 95, overwrite: bool = False,
                        workers: int | None = None, show_progress: bool = True) -> PrepareReport:
    """DeepFashion In-shop + PATN/GFLA list files -> ``out`` ready for ``posewarp pack`` (see ``data/prepare.py``)."""
    return run(plan(root, lists=lists, protocol=protocol, quality=quality), out, overwrite=overwrite,
               workers=workers, show_progress=show_progress)  # fmt: skip
