"""The offline measures: a parser trained in-tool on the synthetic world, output-parsing mIoU, world-LPIPS,
world-FID and the ghost error (posewarp.metrics.world_parser / world_measures)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posewarp.errors import PosewarpError
from posewarp.metrics import world_parser as wp
from posewarp.metrics.world_measures import (
    ghost_error,
    ghost_region,
    output_parsing,
    output_parsing_confusion,
    output_parsing_scores,
    pooled_features,
    world_fid,
    world_lpips,
)
from posewarp.synth import render
from posewarp.metrics.parsing_scores import confusion, parsing_scores

SIZE = (64, 32)
SMALL = (8, 16, 32, 32)  # a narrower parser than the default, so that the tests train it in seconds
TRAIN = {"steps": 150, "seed": 0, "batch_size": 8, "lr": 1e-2, "channels": SMALL}


def renders(identities, poses=4):
    rgb, lab = zip(*[render(i, k, size=SIZE, seed=0)[:2] for i in identities for k in range(poses)])
    return np.stack(rgb), np.stack(lab)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(rgb).permute(0, 3, 1, 2).float() / 127.5 - 1


@pytest.fixture(scope="module")
def world():
    """Training renders (identities 0-11) and held-out ones (identities 20-27) of world seed 0."""
    torch.set_num_threads(1)
    return renders(range(12)), renders(range(20, 28))


@pytest.fixture(scope="module")
def net(world):
    (rgb, lab), _ = world
    return wp.train_world_parser(rgb, lab, **TRAIN)


def blur(x: torch.Tensor, k: int) -> torch.Tensor:
    return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)


def shuffle_pixels(x: torch.Tensor) -> torch.Tensor:
    perm = torch.randperm(x.shape[2] * x.shape[3], generator=torch.Generator().manual_seed(0))
    return x.flatten(2)[:, :, perm].reshape(x.shape)


def degraded(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Planted degradations from mild to total: a 3x3 blur, a 7x7 blur, the pixels shuffled."""
    return blur(x, 3), blur(x, 7), shuffle_pixels(x)


def test_parser_shapes_any_size():
    net = wp.WorldParser(channels=SMALL).eval()
    x = torch.zeros(2, 3, 50, 30)
    assert net(x).shape == (2, 20, 50, 30)
    assert [tuple(f.shape) for f in net.features(x)] == [(2, 8, 50, 30), (2, 16, 25, 15), (2, 32, 12, 7), (2, 32, 6, 3)]


def test_training_is_seeded_and_leaves_the_global_rng_alone(world):
    (rgb, lab), _ = world
    state = torch.random.get_rng_state()
    a = wp.train_world_parser(rgb[:8], lab[:8], steps=3, seed=5, batch_size=4, channels=SMALL)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = wp.train_world_parser(rgb[:8], lab[:8], steps=3, seed=5, batch_size=4, channels=SMALL)
    c = wp.train_world_parser(rgb[:8], lab[:8], steps=3, seed=6, batch_size=4, channels=SMALL)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert a.trained_on["fingerprint"] == b.trained_on["fingerprint"] != c.trained_on["fingerprint"]


def test_augmentation_mirrors_labels_with_left_and_right_swapped():
    x = torch.rand(64, 3, 4, 6) * 2 - 1
    y = torch.randint(0, 20, (64, 4, 6))
    xa, ya = wp.augment_batch(x, y, torch.Generator().manual_seed(0))
    mirrored = torch.tensor([torch.equal(ya[i], wp.parsing.flip(y[i])) for i in range(64)])
    kept = torch.tensor([torch.equal(ya[i], y[i]) for i in range(64)])
    assert (mirrored | kept).all() and mirrored.any() and kept.any()
    assert xa.min() >= -1 and xa.max() <= 1 and not torch.equal(xa[kept], x[kept])  # colours jittered


def test_trained_parser_beats_the_trivial_predictor_on_held_out_people(net, world):
    _, (rgb, lab) = world
    x, y = to_tensor(rgb), torch.as_tensor(lab).long()
    scores = parsing_scores(confusion(output_parsing(net, x), y, 20))
    trivial = parsing_scores(confusion(torch.zeros_like(y), y, 20))  # background is the majority class
    # measured: 0.17 against 0.05 (the class-weighted loss buys small parts with a little background, so pixel
    # accuracy is not asserted: after this short training it is close to the trivial one's)
    assert scores["miou"] > 2 * trivial["miou"] and scores["miou"] > trivial["miou"] + 0.06


def test_output_parsing_confusion_sums_batches_and_scores_its_own_parsing_perfectly(net, world):
    _, (rgb, lab) = world
    x, y = to_tensor(rgb), torch.as_tensor(lab).long()
    conf = output_parsing_confusion(net, x[:10], y[:10]) + output_parsing_confusion(net, x[10:], y[10:])
    assert torch.equal(conf, output_parsing_confusion(net, x, y))
    assert conf.sum() == y.numel()
    own = output_parsing(net, x)
    assert output_parsing_scores(output_parsing_confusion(net, x, own)) == {"pixel_acc": 1.0, "miou": 1.0}
    coarse = output_parsing_confusion(net, x, y, remap="pise8")
    assert coarse.shape == (8, 8) and coarse.sum() == y.numel() and coarse.trace() >= conf.trace()
    assert output_parsing_scores(output_parsing_confusion(net, x, own, remap="pise8"))["miou"] == 1.0


def test_world_lpips_is_zero_on_identical_images_and_orders_planted_degradations(net, world):
    _, (rgb, _) = world
    x = to_tensor(rgb)
    assert torch.equal(world_lpips(net, x, x.clone()), torch.zeros(len(x)))
    small, large, shuffled = (world_lpips(net, x, d) for d in degraded(x))
    assert (small > 0).all()
    assert (small < large).float().mean() >= 0.9 and (large < shuffled).float().mean() >= 0.9
    assert 2 * small.mean() < large.mean() and 2 * large.mean() < shuffled.mean()  # measured: 0.12, 0.58, 2.2


def test_world_lpips_orders_shifts(net, world):
    _, (rgb, _) = world
    x = to_tensor(rgb)
    near, far = (world_lpips(net, x, torch.roll(x, s, dims=3)) for s in (1, 4))
    assert 2 * near.mean() < far.mean()  # measured: 0.27, 1.3


def test_world_fid_is_near_zero_on_identical_sets_and_orders_planted_degradations(net, world):
    (train_rgb, _), (rgb, _) = world
    x = torch.cat([to_tensor(rgb), to_tensor(train_rgb)])  # 80 images, 88 pooled dimensions
    real = pooled_features(net, x)
    assert real.shape == (len(x), sum(SMALL))
    assert np.allclose(pooled_features(net, x, batch_size=7), real, rtol=1e-5, atol=1e-6 * np.abs(real).max())
    scale = float(np.trace(np.cov(real, rowvar=False)))
    same = world_fid(real, real.copy())
    assert abs(same) < 1e-3 * scale
    small, large, shuffled = (world_fid(real, pooled_features(net, d)) for d in degraded(x))
    assert 0.01 * scale < small < large / 2 and large < shuffled / 2  # measured: 0.007, 0.07, 0.9 (scale 0.3)


def test_ghost_error_zero_when_perfect_and_grows_with_the_pasted_source_person():
    src_rgb, src_lab, _ = render(3, 0, size=SIZE, seed=0)
    tgt_rgb, tgt_lab, _ = render(3, 1, size=SIZE, seed=0)
    src, tgt = to_tensor(src_rgb[None]), to_tensor(tgt_rgb[None])
    sl, tl = torch.as_tensor(src_lab[None]).long(), torch.as_tensor(tgt_lab[None]).long()
    region = ghost_region(sl, tl)
    assert region.sum() > 20
    perfect = ghost_error(tgt, tgt, sl, tl)
    assert perfect.error.tolist() == [0.0] and perfect.pixels.tolist() == [int(region.sum())]
    person = (sl > 0).unsqueeze(1)
    faint = torch.where(person, 0.5 * src + 0.5 * tgt, tgt)  # a half-transparent ghost of the source person
    pasted = torch.where(person, src, tgt)  # the source person pasted over the target
    e_faint, e_pasted = ghost_error(faint, tgt, sl, tl).error, ghost_error(pasted, tgt, sl, tl).error
    expected = (src - tgt).abs().mean(1)[region].mean()
    assert torch.allclose(e_pasted, expected.reshape(1), rtol=1e-5)
    assert 0 < e_faint < e_pasted
    # outside the region nothing counts: errors where the target person stands leave it at 0
    elsewhere = torch.where((tl > 0).unsqueeze(1), -tgt, tgt)
    assert ghost_error(elsewhere, tgt, sl, tl).error.tolist() == [0.0]


def test_ghost_error_is_nan_with_a_zero_count_where_the_region_is_empty():
    lab = torch.as_tensor(np.stack([render(3, k, size=SIZE, seed=0)[1] for k in (0, 1)])).long()
    x = torch.zeros(2, 3, *SIZE)
    g = ghost_error(x + 0.5, x, lab, lab)  # target == source: nothing to leave behind
    assert g.pixels.tolist() == [0, 0] and torch.isnan(g.error).all()
    mixed = ghost_error(x + 0.5, x, lab, torch.stack([lab[0], torch.zeros_like(lab[1])]))
    assert mixed.pixels[0] == 0 and mixed.pixels[1] == (lab[1] > 0).sum() and torch.isnan(mixed.error[0])
    assert mixed.error[1] == pytest.approx(0.5, rel=1e-6)


def test_checkpoint_round_trip_gives_identical_outputs(net, world, tmp_path):
    _, (rgb, _) = world
    x = to_tensor(rgb[:6])
    path = tmp_path / "parser.pt"
    wp.save_world_parser(path, net, trained_on={"recipe": "test"})
    back = wp.load_world_parser(path)
    assert torch.equal(back(x), net(x))
    assert back.config == net.config and back.trained_on == {**net.trained_on, "recipe": "test"}
    assert [p.name for p in tmp_path.iterdir()] == ["parser.pt"]  # written atomically: no temp file left
    doc = torch.load(path, weights_only=True)
    assert (doc["kind"], doc["format"]) == ("world-parser", 1)
    assert sorted(doc) == ["config", "format", "kind", "trained_on", "weights"]


@pytest.mark.parametrize(
    "doc",
    [
        {"kind": "stage1", "format_version": 1, "weights": {}},
        {"kind": "world-parser", "format": 2, "config": {"channels": [8], "num_labels": 20}, "weights": {}},
        {"kind": "world-parser", "format": 1, "config": {"channels": [10**6], "num_labels": 20}, "weights": {}},
        {"kind": "world-parser", "format": 1, "config": {"channels": [8, 16], "num_labels": 20}, "weights": {}},
        torch.zeros(3),
    ],
)
def test_a_file_of_another_kind_is_refused_in_one_line(tmp_path, doc):
    path = tmp_path / "other.pt"
    torch.save(doc, path)
    with pytest.raises(PosewarpError) as exc:
        wp.load_world_parser(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_fit_or_load_trains_once_and_retrains_for_other_data_or_settings(world, tmp_path, monkeypatch):
    (rgb, lab), _ = world
    rgb, lab = rgb[:8], lab[:8]
    path = tmp_path / "cache" / "parser.pt"
    settings = {"steps": 2, "batch_size": 4, "channels": SMALL}
    first = wp.fit_or_load_world_parser(path, rgb, lab, **settings)
    assert path.is_file()
    calls = []
    real_train = wp.train_world_parser
    monkeypatch.setattr(wp, "train_world_parser", lambda *a, **k: calls.append(k) or real_train(*a, **k))
    again = wp.fit_or_load_world_parser(path, rgb, lab, **settings)
    assert calls == [] and all(torch.equal(v, again.state_dict()[k]) for k, v in first.state_dict().items())
    wp.fit_or_load_world_parser(path, rgb, lab, **{**settings, "seed": 1})
    wp.fit_or_load_world_parser(path, rgb[::-1].copy(), lab[::-1].copy(), **{**settings, "seed": 1})
    assert len(calls) == 2
