"""Stage I on the shared loop: learning, exact resume after Ctrl-C, the NaN guard, run dirs and snapshots."""

import os
import signal

import pytest
import torch
from train_world import make_pack, tiny_config

from posewarp import snapshots as checkpoint
from posewarp.snapshots import load_snapshot
from posewarp.training import run_dir
from posewarp.training.runner import train
from posewarp.training.loop import NonFiniteLossError
from posewarp.training.stage1 import Stage1


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return make_pack(tmp_path_factory.mktemp("world"))


def _interrupt_after(monkeypatch, stage_cls, step):
    """Press Ctrl-C (a real SIGINT) during training step number ``step`` (1-based)."""
    calls = {"n": 0}
    original = stage_cls.train_step

    def train_step(self, batch, ctx):
        out = original(self, batch, ctx)
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(stage_cls, "train_step", train_step)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_then_resume_equals_training_straight_through(pack, tmp_path, monkeypatch):
    # 18 training pairs / batch 4 = 4 batches an epoch: 7 steps cross an epoch, the stop is mid-epoch.
    cfg = tiny_config(1, pack, {"max_steps": 7, "snapshot_every": 2})
    straight = train(cfg, out=tmp_path / "a", device="cpu", show_progress=False)
    assert straight.step == 7 and not straight.interrupted

    with monkeypatch.context() as m:
        _interrupt_after(m, Stage1, 3)
        stopped = train(cfg, out=tmp_path / "b", device="cpu", show_progress=False)
    assert stopped.interrupted and stopped.step == 3
    run_b = stopped.run_dir
    assert checkpoint.load(f"{run_b}/training-state.pt")["step"] == 3
    resumed = train(cfg, device="cpu", resume=run_b, show_progress=False)
    assert resumed.step == 7 and resumed.run_dir == run_b

    a = checkpoint.load(f"{straight.run_dir}/training-state.pt")
    b = checkpoint.load(f"{run_b}/training-state.pt")
    for name in ("generator", "discriminator"):
        assert _same(a["networks"][name], b["networks"][name]), name  # bit for bit
    assert a["optimizers"]["generator"]["state"][0]["exp_avg_sq"].equal(b["optimizers"]["generator"]["state"][0]["exp_avg_sq"])
    # The log tells one story: the same steps and the same losses.
    strip = lambda recs: [{k: v for k, v in r.items() if k != "sec_per_step"} for r in recs]  # noqa: E731
    assert strip(run_dir.read_stats(run_b)) == strip(run_dir.read_stats(straight.run_dir))


def test_training_lowers_the_cross_entropy_and_writes_a_run_dir(pack, tmp_path):
    cfg = tiny_config(1, pack, {"max_steps": 24, "optim.lr": 2e-3, "val_every": 24, "sample_every": 12,
                                "snapshot_every": 12})
    res = train(cfg, out=tmp_path / "runs", device="cpu", show_progress=False)
    run = res.run_dir
    assert run.endswith("00000-stage1-world-tiny-batch4")
    names = sorted(os.listdir(run))
    assert names == ["config.json", "samples", "snapshot-000012.pt", "snapshot-000024.pt", "snapshot-latest.pt",
                     "stats.jsonl", "training-state.pt"]
    assert sorted(os.listdir(f"{run}/samples")) == ["step-000012.png", "step-000024.png"]
    stats = run_dir.read_stats(run)
    assert [r["step"] for r in stats] == list(range(1, 25))
    first = sum(r["g_ce"] for r in stats[:4]) / 4
    last = sum(r["g_ce"] for r in stats[-4:]) / 4
    assert last < 0.8 * first, (first, last)
    assert 0 <= stats[-1]["val/miou"] <= 1 and "val/copy_miou" in stats[-1]
    assert stats[-1]["val/pixel_acc"] == res.validation["pixel_acc"]

    kind, config, G = load_snapshot(run)
    assert kind == "stage1" and config == cfg.replace({"data.image_size": [32, 16]})  # the pack's size recorded
    state = checkpoint.load(f"{run}/training-state.pt")
    assert _same(G.state_dict(), state["networks"]["generator"])
    logits = G(torch.zeros(1, 20, 32, 16), torch.zeros(1, 18, 32, 16), torch.zeros(1, 20, 32, 16))  # + the prior
    assert logits.shape == (1, 20, 32, 16)

    again = train(cfg.replace({"max_steps": 1}), out=tmp_path / "runs", device="cpu", show_progress=False)
    assert again.run_dir.endswith("00001-stage1-world-tiny-batch4")  # numbered after the highest


def test_non_finite_loss_stops_and_keeps_the_last_good_state(pack, tmp_path, monkeypatch):
    from posewarp import losses

    original = losses.stage1_generator_loss
    calls = {"n": 0}

    def poisoned(**kw):
        total, stats = original(**kw)
        calls["n"] += 1
        if calls["n"] >= 3:
            total = total * float("nan")
            stats = {**stats, "g_total": float("nan")}
        return total, stats

    monkeypatch.setattr(losses, "stage1_generator_loss", poisoned)
    cfg = tiny_config(1, pack, {"max_steps": 6, "snapshot_every": 2})
    with pytest.raises(NonFiniteLossError, match=r"not finite at step 3 \(g_total=nan\).*generator step 2"):
        train(cfg, out=tmp_path / "runs", device="cpu", show_progress=False)
    state = checkpoint.load(next((tmp_path / "runs").iterdir()) / "training-state.pt")
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["networks"]["generator"].values())


def test_resume_refuses_another_stage_and_missing_state(pack, tmp_path):
    from posewarp.errors import PosewarpError
    from posewarp.training.runner import configure

    cfg = tiny_config(1, pack, {"max_steps": 1})
    res = train(cfg, out=tmp_path, device="cpu", show_progress=False)
    with pytest.raises(PosewarpError, match="stage 1 run"):
        configure(2, resume=res.run_dir)
    with pytest.raises(PosewarpError, match="not a run directory"):
        configure(1, resume=tmp_path / "nowhere")
    assert configure(1, resume=res.run_dir, overrides={"max_steps": 9}).max_steps == 9


def test_mixed_precision_plumbing_with_a_grad_scaler(pack):
    """The CUDA fp16 path (autocast + one GradScaler for G and D) exercised on the CPU with bf16."""
    from torch.utils.data import DataLoader

    from posewarp.data import PairDataset
    from posewarp.devices import amp_dtype
    from posewarp.training.distributed import Dist
    from posewarp.training.state import load_state, state_payload

    assert amp_dtype(torch.device("cpu"), "auto") is None  # never on the CPU in real runs
    cfg = tiny_config(1, pack)
    ctx = Dist(amp_dtype=torch.bfloat16, scaler=torch.amp.GradScaler("cpu", init_scale=2.0**10))
    stage = Stage1(cfg, ctx)
    before = {k: v.clone() for k, v in stage.nets["generator"].state_dict().items()}
    batch = next(iter(DataLoader(PairDataset(pack, "train"), batch_size=4)))
    for _ in range(2):
        stats = stage.train_step(batch, ctx)
        ctx.scaler.update()
    assert all(torch.isfinite(torch.tensor(float(v))) for v in stats.values())
    assert not _same(before, stage.nets["generator"].state_dict())  # the scaled steps were taken
    doc = state_payload(stage, cfg, ctx, 2, 18)
    assert doc["scaler"]["scale"] == ctx.scaler.get_scale()
    fresh = Dist(amp_dtype=torch.bfloat16, scaler=torch.amp.GradScaler("cpu"))
    assert load_state(Stage1(cfg, fresh), doc, fresh) == 2 and fresh.scaler.get_scale() == ctx.scaler.get_scale()
