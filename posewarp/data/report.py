"""What ``posewarp pack`` did: counts per split, the items and pairs it left out and why, its speed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PackReport:
    out: Path
    image_size: tuple[int, int]
    encoding: str
    num_images: int
    splits: dict[str, int]  # split -> pairs packed
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    dropped_pairs: list[tuple[str, str, str, str]] = field(default_factory=list)  # (split, from, to, reason)
    resumed_from: int = 0  # items already done by an interrupted pack
    packed_now: int = 0  # items read and checked in this run
    seconds: float = 0.0
    file_bytes: int = 0
    keypoint_note: str | None = None  # e.g. which person was used where a keypoint file had several

    @property
    def ok(self) -> bool:
        return not self.excluded and not self.dropped_pairs

    @property
    def images_per_second(self) -> float:
        return self.packed_now / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, object]:
        """Rows for the summary table at the end of a pack."""
        h, w = self.image_size
        rows: dict[str, object] = {"output": str(self.out), "image size": f"{h}x{w} ({self.encoding})", "images": self.num_images}
        for split, n in self.splits.items():
            rows[f"pairs/{split}"] = n
        rows["excluded items"] = len(self.excluded)
        rows["dropped pairs"] = len(self.dropped_pairs)
        if self.resumed_from:
            rows["resumed after"] = f"{self.resumed_from} items"
        rows["file size"] = f"{self.file_bytes / 2**20:.1f} MiB"
        rows["speed"] = f"{self.images_per_second:.0f} images/s"
        return rows

    def to_dict(self) -> dict:
        return {
            "out": str(self.out),
            "image_size": list(self.image_size),
            "encoding": self.encoding,
            "num_images": self.num_images,
            "splits": dict(self.splits),
            "excluded": [{"name": n, "reason": r} for n, r in self.excluded],
            "dropped_pairs": [{"split": s, "from": a, "to": b, "reason": r} for s, a, b, r in self.dropped_pairs],
            "resumed_from": self.resumed_from,
            "seconds": round(self.seconds, 3),
            "images_per_second": round(self.images_per_second, 1),
            "file_bytes": self.file_bytes,
            "keypoint_note": self.keypoint_note,
        }
