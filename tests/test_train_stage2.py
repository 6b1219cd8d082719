"""Stage II on the shared loop: matcher phase then generator, exact resume across phases, snapshots, ablations."""

import os
import signal

import pytest
import torch
from train_world import make_pack, tiny_config

from posewarp import snapshots as checkpoint
from posewarp.errors import WeightsMissingError
from posewarp.nn import grids
from posewarp.snapshots import load_snapshot
from posewarp.training import run_dir
from posewarp.training.runner import train
from posewarp.training.runner import phases
from posewarp.training.stage2 import Stage2


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return make_pack(tmp_path_factory.mktemp("world"))


# The tiny preset warps by the per-part keypoint grid alone; these tests also need the matcher's phase.
BOTH_GRIDS = {"model.grids": "matcher+parts"}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_matcher_phase_then_generator_and_resume_equals_straight(pack, tmp_path, monkeypatch):
    cfg = tiny_config(2, pack, {"max_steps": 4, "matcher.steps": 3, "snapshot_every": 2, **BOTH_GRIDS})
    assert phases(cfg) == ["matcher", "generator"]
    straight = train(cfg, out=tmp_path / "a", device="cpu", show_progress=False)
    assert (straight.phase, straight.step) == ("generator", 4)
    run_a = straight.run_dir
    assert {"matcher-latest.pt", "snapshot-latest.pt", "snapshot-000004.pt", "training-state.pt"} <= set(os.listdir(run_a))
    stats = run_dir.read_stats(run_a)
    assert [(r["phase"], r["step"]) for r in stats] == [("matcher", 1), ("matcher", 2), ("matcher", 3),
                                                        ("generator", 1), ("generator", 2), ("generator", 3),
                                                        ("generator", 4)]  # fmt: skip
    assert "m_grid" in stats[0] and "g_vgg" in stats[-1] and "val/ssim" in stats[-1] and "val/warped_miou" in stats[2]

    # Ctrl-C in generator step 2, then --resume: the same weights bit for bit (matcher included).
    calls = {"n": 0}
    original = Stage2.train_step

    def train_step(self, batch, ctx):
        out = original(self, batch, ctx)
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    with monkeypatch.context() as m:
        m.setattr(Stage2, "train_step", train_step)
        stopped = train(cfg, out=tmp_path / "b", device="cpu", show_progress=False)
    assert stopped.interrupted and (stopped.phase, stopped.step) == ("generator", 2)
    resumed = train(cfg, device="cpu", resume=stopped.run_dir, show_progress=False)
    assert (resumed.phase, resumed.step) == ("generator", 4)
    a = checkpoint.load(f"{run_a}/training-state.pt")
    b = checkpoint.load(f"{stopped.run_dir}/training-state.pt")
    for name in ("generator", "discriminator", "matcher"):
        assert _same(a["networks"][name], b["networks"][name]), name

    # Snapshots rebuild their networks from the stored config.
    kind, config, G = load_snapshot(run_a)
    assert kind == "stage2" and config.model.ngf == 8
    assert _same(G.state_dict(), a["networks"]["generator"])
    kind, _, M = load_snapshot(f"{run_a}/matcher-latest.pt")
    assert kind == "matcher"
    _, _, M2 = load_snapshot(run_a, network="matcher")
    assert _same(M.state_dict(), M2.state_dict())  # frozen after its phase
    x = torch.zeros(1, 20, 32, 16)
    x[:, 0] = 1
    two = torch.stack((M(x, x)["grid"]((32, 16)), grids.identity_grid((32, 16))), dim=1)
    out = G(torch.zeros(1, 3, 32, 16), x, x, torch.zeros(1, 18, 32, 16), two)
    assert out["image"].shape == (1, 3, 32, 16)


def test_ablations_and_stage1_parsing(pack, tmp_path):
    s1 = train(tiny_config(1, pack, {"max_steps": 1}), out=tmp_path, device="cpu", show_progress=False)
    no_warp = tiny_config(2, pack, {"max_steps": 2, "model.warp": False, "stage1": s1.run_dir})
    assert phases(no_warp) == ["generator"]
    res = train(no_warp, out=tmp_path, device="cpu", show_progress=False)
    assert res.step == 2 and "nowarp-stage1parsing" in res.run_dir
    assert not os.path.exists(f"{res.run_dir}/matcher-latest.pt")
    _, _, G = load_snapshot(res.run_dir)
    assert not G.use_warp

    trained = tiny_config(2, pack, {"max_steps": 1, "matcher.steps": 1, **BOTH_GRIDS})
    first = train(trained, out=tmp_path, device="cpu", show_progress=False)
    given = f"{first.run_dir}/matcher-latest.pt"
    no_gate = tiny_config(2, pack, {"max_steps": 1, "model.gate": False, "matcher.path": given, **BOTH_GRIDS})
    assert phases(no_gate) == ["generator"]  # a given matcher skips the matcher phase
    res = train(no_gate, out=tmp_path, device="cpu", show_progress=False)
    _, _, M_given = load_snapshot(given)
    _, _, M_used = load_snapshot(res.run_dir, network="matcher")
    assert _same(M_given.state_dict(), M_used.state_dict())  # frozen
    finetune = train(no_gate.replace({"matcher.finetune": True}), out=tmp_path, device="cpu", show_progress=False)
    _, _, M_tuned = load_snapshot(finetune.run_dir, network="matcher")
    assert not _same(M_given.state_dict(), M_tuned.state_dict())  # --finetune-matcher trains it on


def test_missing_vgg_weights_name_the_download_command(pack, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEWARP_HOME", str(tmp_path / "empty"))
    cfg = tiny_config(2, pack, {"max_steps": 1, "model.vgg": "pretrained", "loss.vgg": 10.0, "model.warp": False})
    with pytest.raises(WeightsMissingError, match="posewarp weights download vgg19"):
        train(cfg, out=tmp_path / "runs", device="cpu", show_progress=False)


def test_world_features_perceptual_loss_trains_on_an_in_tool_parser(pack, tmp_path):
    from posewarp.config import validate
    from posewarp.errors import PosewarpError
    from posewarp.metrics import world_parser as wp

    torch.manual_seed(0)
    parser = wp.WorldParser(channels=(4, 8))
    path = tmp_path / "features.pt"
    wp.save_world_parser(path, parser)
    with pytest.raises(PosewarpError, match="model.vgg world needs option vgg_path"):
        validate(tiny_config(2, pack, {"model.vgg": "world", "loss.vgg": 1.0}))
    cfg = tiny_config(2, pack, {"max_steps": 2, "model.vgg": "world", "loss.vgg": 1.0, "vgg_path": str(path)})
    res = train(cfg, out=tmp_path / "runs", device="cpu", show_progress=False)
    stats = run_dir.read_stats(res.run_dir)
    assert all(r["g_vgg"] > 0 for r in stats if r["phase"] == "generator")


def test_world_features_weigh_every_level_alike_and_see_only_differences():
    from posewarp import losses
    from posewarp.metrics import world_parser as wp

    torch.manual_seed(0)
    trunk = wp.WorldFeatures(wp.WorldParser(channels=(4, 8, 8)))
    assert trunk.tap_weights == (1 / 3, 1 / 3, 1 / 3) and not any(p.requires_grad for p in trunk.parameters())
    x = torch.rand(2, 3, 16, 8) * 2 - 1
    y = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    assert losses.perceptual(trunk, x, x).item() == 0
    fake = y.clone().requires_grad_(True)
    loss = losses.perceptual(trunk, fake, x)
    expected = sum(torch.nn.functional.l1_loss(f, r) for f, r in zip(trunk(y), trunk(x))) / 3
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert fake.grad.abs().sum() > 0
