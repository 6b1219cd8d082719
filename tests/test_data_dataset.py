"""PairDataset: the training-loop contract, flips, pickling and DataLoader workers under spawn."""

import pickle

import numpy as np
import pytest
import torch
from test_data_pack import make_set, run_pack
from torch.utils.data import DataLoader, DistributedSampler

from posewarp.data import PairDataset
from posewarp.data.dataset import flips
from posewarp.formats import images as I
from posewarp.formats import keypoints as K
from posewarp.formats import parsing as P
from posewarp.formats.heatmaps import pose_disks, pose_mask


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    truth, pairs = make_set(root, ids=3, poses=3, size=(32, 24))
    return run_pack(root).out, truth, pairs


def test_item_matches_the_contract_and_the_source_files(packed):
    path, truth, pairs = packed
    ds = PairDataset(path, "train")
    assert len(ds) == len(pairs["train"]) and ds.image_size == (32, 24)
    for i in (0, len(ds) - 1):
        item = ds[i]
        assert (item["src_name"], item["tgt_name"]) == pairs["train"][i] and item["index"] == i
        for side in ("src", "tgt"):
            rgb, labels, person = truth[item[f"{side}_name"]]
            image = item[f"{side}_image"]
            assert image.dtype == torch.float32 and image.shape == (3, 32, 24)
            assert image.min() >= -1 and image.max() <= 1
            np.testing.assert_array_equal(I.to_uint8(image), rgb)
            assert item[f"{side}_labels"].dtype == torch.int64
            np.testing.assert_array_equal(item[f"{side}_labels"].numpy(), labels)
            onehot = item[f"{side}_parsing"]
            assert onehot.shape == (20, 32, 24) and onehot.dtype == torch.float32
            assert torch.equal(onehot.argmax(0), item[f"{side}_labels"]) and torch.all(onehot.sum(0) == 1)
            kp = item[f"{side}_keypoints"]
            assert kp.shape == (18, 3) and kp.dtype == torch.float32
            np.testing.assert_allclose(kp.numpy(), person, atol=1e-3)
            pose = item[f"{side}_pose"]
            assert pose.shape == (18, 32, 24) and pose.dtype == torch.float32
            assert torch.equal(pose, pose_disks(kp, (32, 24), 4.0))
            assert pose[4].sum() == 0 and pose[0].sum() > 0  # keypoint 4 is missing in every test person
        assert torch.equal(item["tgt_mask"], pose_mask(item["tgt_keypoints"], (32, 24)))
        assert item["tgt_mask"].shape == (32, 24)
    assert PairDataset(path, "train", pose_radius=2.0)[0]["src_pose"].sum() < ds[0]["src_pose"].sum()
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(Exception, match="no split 'val'"):
        PairDataset(path, "val")


def test_flip_mirrors_both_images_and_swaps_left_and_right(packed):
    path, _, _ = packed
    plain = PairDataset(path, "train")
    flipped = PairDataset(path, "train", flip=True, seed=5)
    decisions = [flips(5, 0, i) for i in range(len(plain))]
    assert any(decisions) and not all(decisions)
    assert decisions == [flips(5, 0, i) for i in range(len(plain))]  # a pure function of (seed, epoch, index)
    i = decisions.index(True)
    a, b = plain[i], flipped[i]
    for side in ("src", "tgt"):
        assert torch.equal(b[f"{side}_image"], a[f"{side}_image"].flip(-1))
        assert torch.equal(b[f"{side}_labels"], P.flip(a[f"{side}_labels"]))
        np.testing.assert_allclose(b[f"{side}_keypoints"].numpy(), K.flip(a[f"{side}_keypoints"].numpy(), 24))
        assert torch.equal(b[f"{side}_pose"], pose_disks(b[f"{side}_keypoints"], (32, 24)))
    # The person's right wrist channel now holds what was the left wrist (mirrored).
    assert torch.equal(b["src_pose"][4], a["src_pose"][7].flip(-1))
    j = decisions.index(False)
    assert torch.equal(flipped[j]["src_image"], plain[j]["src_image"])


def test_set_epoch_gives_fresh_flips_and_epoch_index_pairs_set_it(packed):
    path, _, _ = packed
    ds = PairDataset(path, "train", flip=True, seed=5)
    later = next(e for e in range(1, 50) if [flips(5, e, i) for i in range(len(ds))] != [flips(5, 0, i) for i in range(len(ds))])
    i = next(i for i in range(len(ds)) if flips(5, 0, i) != flips(5, later, i))
    first = ds[i]["src_image"]
    assert not torch.equal(ds[(later, i)]["src_image"], first)
    assert ds.epoch == later
    assert torch.equal(ds[i]["src_image"], ds[(later, i)]["src_image"])
    ds.set_epoch(0)
    assert torch.equal(ds[i]["src_image"], first)


def test_pickles_without_its_file_handle(packed):
    path, _, _ = packed
    ds = PairDataset(path, "test")
    first = ds[0]
    assert ds._file is not None
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._file is None
    assert torch.equal(clone[0]["tgt_image"], first["tgt_image"])


def test_two_spawn_or_fork_workers_and_distributed_sampler(packed):
    path, _, pairs = packed
    ds = PairDataset(path, "train")
    ds[0]  # the parent holds an open handle: workers must open their own
    loader = DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context="spawn", shuffle=False)
    batches = list(loader)
    assert torch.equal(torch.cat([b["index"] for b in batches]), torch.arange(len(pairs["train"])))
    names = [n for b in batches for n in zip(b["src_name"], b["tgt_name"])]
    assert names == pairs["train"]
    forked = list(DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context="fork", shuffle=False))
    assert all(torch.equal(a["tgt_image"], b["tgt_image"]) for a, b in zip(batches, forked))
    single = ds[5]
    assert torch.equal(batches[1]["src_parsing"][1], single["src_parsing"])
    assert torch.equal(batches[1]["tgt_pose"][1], single["tgt_pose"])
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=1)
        for batch in DataLoader(ds, batch_size=3, sampler=sampler):
            seen += batch["index"].tolist()
    assert sorted(seen) == list(range(len(ds)))


def test_per_sample_heatmaps_equal_the_batched_ones():
    """PairDataset renders one person at a time through a boxed fast path; it must match the full grid."""
    rng = np.random.default_rng(4)
    for trial in range(60):
        h, w = [(64, 44), (32, 24), (7, 5)][trial % 3]
        kp = np.zeros((18, 3), np.float32)
        kp[:, 0], kp[:, 1] = rng.uniform(-6, w + 6, 18), rng.uniform(-6, h + 6, 18)
        if trial % 2:
            kp[:, :2] = kp[:, :2].round()
        kp[:, 2] = (rng.random(18) < 0.8) * rng.uniform(0.1, 1, 18)
        one, batch = torch.as_tensor(kp), torch.as_tensor(kp)[None]
        for radius in (4.0, 1.5):
            assert torch.equal(pose_disks(one, (h, w), radius), pose_disks(batch, (h, w), radius)[0])
            assert torch.equal(pose_mask(one, (h, w), radius), pose_mask(batch, (h, w), radius)[0])


def test_maps_false_leaves_the_dense_maps_to_the_training_loop(packed):
    path, _, _ = packed
    full, lean = PairDataset(path, "test")[2], PairDataset(path, "test", maps=False)[2]
    assert set(full) - set(lean) == {"src_parsing", "tgt_parsing", "src_pose", "tgt_pose", "tgt_mask"}
    for key in lean:
        assert lean[key] == full[key] if isinstance(lean[key], (str, int)) else torch.equal(lean[key], full[key])
    # What the loop would do on its device, for a batch:
    batch = torch.stack([lean["tgt_keypoints"]])
    assert torch.equal(pose_disks(batch, (32, 24))[0], full["tgt_pose"])
    assert torch.equal(P.one_hot(lean["src_labels"][None])[0], full["src_parsing"])
