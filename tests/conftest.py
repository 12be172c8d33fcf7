import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's torch work on one thread.

    Tiny networks gain nothing from threads, and on a busy 2-core machine two OpenMP
    threads can make each convolution ~50x slower (spin-waiting for the other core).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
