import os
import os.path as osp
import shutil
import sys
import tempfile

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # helpers, numerics (as for test modules)
from helpers import suite_threads  # noqa: E402

torch.set_num_threads(suite_threads())  # also for what runs at collection

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


@pytest.fixture(autouse=True)
def _threads():
    """Each test runs with ``helpers.suite_threads()`` torch threads (re-read per test: one while
    the other tier of tools/run_tests.sh runs, both cores after)."""
    torch.set_num_threads(suite_threads())



def _memoize_external_config_index() -> None:
    """mmengine resolves each ``mmdet::``/``mmseg::`` base of a config by reading that package's
    model-index.yml and every metafile it imports (~100 YAML files for mmdet), again for every
    config parsed. The suite parses the configs many times in one process; the files do not change
    while it runs, so each is read once. Parsing the configs themselves stays mmengine's own."""
    import functools

    from mmengine.config import utils
    if hasattr(utils.load, 'cache_info'):
        return
    read = functools.lru_cache(maxsize=None)(utils.load)
    utils.load = lambda path, *args, **kwargs: read(path, *args, **kwargs)
    utils.load.cache_info = read.cache_info


_memoize_external_config_index()
