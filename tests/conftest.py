"""Shared test settings: one intra-op thread for the whole session and a fixed seed for every test.

On a small shared CPU, OpenMP's spinning threads cost more than they give for the tiny networks of the
tests, and one thread keeps the float results independent of the machine's core count. The thread setting
is session-scoped so that module-scoped fixtures (which are set up before function-scoped ones) get it too.
"""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)
