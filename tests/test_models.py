"""Builders and batch helpers shared by training and inference; snapshots written by earlier posewarp still load."""

from pathlib import Path

import numpy as np
import pytest
import torch

from posewarp import models
from posewarp.config import preset
from posewarp.errors import PosewarpError
from posewarp.inference import TransferPipeline
from posewarp.snapshots import load_snapshot
from posewarp.synth import render

DATA = Path(__file__).parent / "data"


def test_format_1_snapshots_written_before_the_posewarp_generator_still_load_and_run():
    """Files written by posewarp 0.1.0 as first released (the paper's generator only, no new model options)."""
    kind1, cfg1, parser = load_snapshot(DATA / "format1-stage1.pt")
    kind2, cfg2, gen = load_snapshot(DATA / "format1-stage2.pt")
    assert (kind1, kind2) == ("stage1", "stage2")
    # options that did not exist then read as the paper's design
    assert cfg2.model.warp_levels == "bottleneck" and cfg2.model.grids == "matcher" and not cfg1.model.part_prior
    pipe = TransferPipeline.load(DATA / "format1-stage1.pt", DATA / "format1-stage2.pt", device="cpu")
    assert pipe.size == (32, 16)
    rgb, labels, kp = render(0, 0, size=(32, 16), seed=0)
    target = render(0, 1, size=(32, 16), seed=0)[2]
    out = pipe(rgb, kp, labels, target)
    assert out.image.shape == (32, 16, 3) and out.warped is not None


def test_the_pipeline_reads_each_snapshot_once_and_remembers_the_files(monkeypatch, tmp_path):
    from posewarp import snapshots

    reads = []
    load = snapshots.load
    monkeypatch.setattr(snapshots, "load", lambda path, **kw: reads.append(Path(path)) or load(path, **kw))
    run = tmp_path / "run"
    run.mkdir()
    (run / snapshots.SNAPSHOT_LATEST).write_bytes((DATA / "format1-stage2.pt").read_bytes())
    pipe = TransferPipeline.load(DATA / "format1-stage1.pt", run, device="cpu")
    assert reads == [DATA / "format1-stage1.pt", run / snapshots.SNAPSHOT_LATEST]  # the matcher too, from one read
    assert pipe.matcher is not None
    assert pipe.sources == {"stage1": DATA / "format1-stage1.pt", "stage2": run / snapshots.SNAPSHOT_LATEST}
    both = snapshots.load_networks(run)
    assert both.kind == "stage2" and set(both.networks) == {"generator", "matcher"} and len(reads) == 3
    with pytest.raises(PosewarpError, match="expected a Stage I snapshot, got a stage2 snapshot"):
        TransferPipeline.load(run, run, device="cpu")


def test_grids_follow_the_config_and_the_matcher_is_needed_only_for_its_grid():
    cfg = preset("tiny", 2)
    assert models.grid_kinds(cfg.model) == ["parts"] and not models.uses_matcher(cfg.model)
    paper = preset("paper", 2)
    assert models.grid_kinds(paper.model) == ["matcher"] and models.uses_matcher(paper.model)
    both = cfg.replace({"model.grids": "matcher+parts"})
    n, (h, w) = 2, (32, 16)
    people = [render(i, 0, size=(h, w), seed=0) for i in range(n)]
    targets = [render(i, 1, size=(h, w), seed=0) for i in range(n)]
    batch = {
        "src_parsing": torch.nn.functional.one_hot(torch.as_tensor(np.stack([p[1] for p in people])).long(), 20)
        .permute(0, 3, 1, 2).float(),
        "src_keypoints": torch.as_tensor(np.stack([p[2] for p in people])),
        "tgt_keypoints": torch.as_tensor(np.stack([t[2] for t in targets])),
    }
    tgt = torch.nn.functional.one_hot(torch.as_tensor(np.stack([t[1] for t in targets])).long(), 20).permute(0, 3, 1, 2).float()
    out = models.transformation_grids(both.model, models.build_matcher(both), batch, tgt)
    assert out.shape == (n, 2, h, w, 2)
    assert models.transformation_grids(cfg.replace({"model.warp": False}).model, None, batch, tgt) is None
