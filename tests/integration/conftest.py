import shutil
import time

import pytest


@pytest.fixture(scope='session')
def shared_runs(tmp_path_factory):
    """Trainings that several tests compare against, run once per session:
    ``shared_runs(key, train)`` calls ``train(work_dir)`` the first time ``key`` is asked for and
    returns ``(work_dir, seconds it took)``. Deleted at the end of the session (checkpoints are
    large)."""
    root = tmp_path_factory.mktemp('shared-runs')
    done = {}

    def get(key: str, train) -> tuple[str, float]:
        if key not in done:
            work_dir = str(root / key)
            t0 = time.time()
            train(work_dir)
            done[key] = (work_dir, time.time() - t0)
        return done[key]

    yield get
    shutil.rmtree(root, ignore_errors=True)

