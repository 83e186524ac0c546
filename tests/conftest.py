import os
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Deterministic CPU runs; keep the 2 cores for one test process.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def demo_data() -> dict:
    """The demo datasets under ``<repository>/data/demo`` (made once, reused while up to date): the
    demo configs read ``data/demo`` relative to the repository root."""
    from focalnet_mm.demo_data import make_demo_data
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return make_demo_data('data/demo', verbose=False)
    finally:
        os.chdir(cwd)
