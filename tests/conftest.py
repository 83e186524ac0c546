import os

import pytest
import torch

# Deterministic CPU runs; keep the 2 cores for one test process.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
