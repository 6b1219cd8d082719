"""The training loop's data stream: endless, resumable mid-epoch, the same global batches on any number of ranks."""

from itertools import islice

import pytest

from posewarp.errors import PosewarpError
from posewarp.training.loop import EndlessBatches


def batches(n_batches, **kw):
    return list(islice(iter(EndlessBatches(10, 4, seed=3, **kw)), n_batches))


def test_epochs_are_permutations_that_change_and_drop_the_incomplete_batch():
    stream = batches(6)  # 10 pairs, batch 4: two batches per epoch
    epochs = [{e for e, _ in b} for b in stream]
    assert epochs == [{0}, {0}, {1}, {1}, {2}, {2}]
    first = [i for b in stream[:2] for _, i in b]
    second = [i for b in stream[2:4] for _, i in b]
    assert len(set(first)) == 8 and first != second


def test_starting_mid_stream_continues_exactly():
    assert batches(3, start=3) == batches(6)[3:]


def test_ranks_take_slices_of_the_same_global_batch():
    whole = batches(4)
    ranks = [batches(4, rank=r, world=2) for r in range(2)]
    assert [a + b for a, b in zip(*ranks)] == whole


def test_refuses_batches_it_cannot_make():
    with pytest.raises(PosewarpError, match="not divisible"):
        EndlessBatches(10, 3, world=2)
    with pytest.raises(PosewarpError, match="fewer than one batch"):
        EndlessBatches(3, 4)
