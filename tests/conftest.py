"""Shared test settings: one intra-op thread and a fixed seed for every test.

On a small shared CPU, OpenMP's spinning threads cost more than they give for the tiny networks of the
tests, and one thread keeps the float results of every test independent of the machine's core count.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread_and_seed():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
