import os
import os.path as osp
import shutil
import tempfile

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Deterministic CPU runs; a test process takes up to 2 cores, or OMP_NUM_THREADS when set
# (tools/run_tests.sh runs the two tiers side by side with one thread each: oversubscribed OpenMP
# teams that spin-wait for each other cost far more than the second thread gains).
torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS') or max(1, min(2, os.cpu_count() or 1))))


# Peak of a full run under the temp dir (training tests write real checkpoints; setup.cfg deletes a
# passing test's tmp_path at once): 1.36 GiB measured.
TMP_PEAK_GIB = 1.5


def pytest_report_header(config) -> str:
    """Say up front when the temp dir is too full for the suite, instead of leaving it to the
    first ``No space left on device`` halfway through."""
    tmp = tempfile.gettempdir()
    free = shutil.disk_usage(tmp).free / 2**30
    line = f'temp dir {tmp}: {free:.1f} GiB free (the suite needs ~{TMP_PEAK_GIB} GiB at its peak)'
    return line + ('  ** TOO LITTLE: set TMPDIR elsewhere or free space **' if free < TMP_PEAK_GIB else '')


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
