"""Checkpoints survive a SIGKILL during saving (focalnet_mm.engine.AtomicCheckpointHook).

mmengine 0.10.7 writes a checkpoint with ``LocalBackend.put`` = ``open(path, 'wb').write(bytes)``
(truncate, then fill), and its ``CheckpointHook`` deletes the checkpoint beyond ``max_keep_ckpts``
*before* writing the new one, then rewrites ``last_checkpoint`` with a plain ``open('w')``. A kill
during the save therefore leaves ``last_checkpoint`` naming a deleted file next to a truncated new
one: ``--resume`` fails. The tests train a small real mmengine ``Runner`` (a 64 MB parameter, so a
save takes a while) in a child process that saves every iteration, SIGKILL it while a checkpoint
file is being written (the parent watches the files grow), and look at what a resume would see:

* plain ``CheckpointHook`` (documents the problem): the checkpoint named by ``last_checkpoint`` is
  missing or truncated;
* ``AtomicCheckpointHook`` (the focalnet-mm configs): it is always complete and loads, with the
  iteration it claims; a partial file only exists under a temporary name, removed on restart.
"""
from __future__ import annotations

import functools
import glob
import multiprocessing
import os
import os.path as osp
import signal
import time

import pytest
import torch
from torch import nn

NUMEL = 16 * 1024 * 1024  # 64 MB of float32: a save takes tens of milliseconds
FULL = NUMEL * 4


def _train_forever(work_dir: str, hook: str) -> None:
    """Train with a checkpoint every iteration until killed (runs in a child process)."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):  # a big parameter (a save takes a while) and a loss that trains w
        def __init__(self):
            super().__init__()
            self.big = nn.Parameter(torch.zeros(NUMEL))
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='loss'):
            x = torch.stack(inputs)
            return dict(loss=((self.w * x - 1) ** 2).mean() + self.big[:1].sum() * 0)

    torch.set_num_threads(1)
    data = [dict(inputs=torch.ones(1)) for _ in range(4)]
    runner = Runner(
        model=Toy(), work_dir=work_dir,
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=1, collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=100000),
        default_hooks=dict(checkpoint=dict(type=hook, interval=1, by_epoch=False,
                                           max_keep_ckpts=1, save_optimizer=False),
                           logger=dict(type='LoggerHook', interval=1000)),
        default_scope='mmengine')
    runner.train()


@functools.lru_cache(maxsize=None)
def _trainer_context() -> multiprocessing.context.BaseContext:
    """Trainers are forked from one server process that imported mmengine and focalnet_mm (the
    hooks) once: each trial then starts in well under a second instead of re-importing torch and
    mmengine (~4 s). The server is single-threaded, so forking it is safe."""
    ctx = multiprocessing.get_context('forkserver')
    ctx.set_forkserver_preload(['torch', 'mmengine.runner', 'focalnet_mm'])
    return ctx


def _kill_mid_save(work_dir: str, hook: str, timeout: float = 120) -> None:
    """Train with ``hook``; SIGKILL as soon as a checkpoint file (final or temporary name) is seen
    partly written, after at least one complete save."""
    proc = _trainer_context().Process(target=_train_forever, args=(work_dir, hook), daemon=True)
    proc.start()
    pointer = osp.join(work_dir, 'last_checkpoint')
    try:
        deadline = time.time() + timeout
        while not osp.exists(pointer):
            if proc.exitcode is not None:
                raise AssertionError(f'trainer exited {proc.exitcode} (its stderr is above)')
            assert time.time() < deadline, 'no checkpoint written'
            time.sleep(0.01)
        while True:  # busy wait: a 64 MB write lasts a few tens of milliseconds
            assert time.time() < deadline, 'never saw a checkpoint being written'
            try:
                names = os.listdir(work_dir)
            except FileNotFoundError:
                continue
            partial = False
            for name in names:
                if name.endswith('.pth') or '.tmp-' in name:
                    try:
                        size = os.stat(osp.join(work_dir, name)).st_size
                    except FileNotFoundError:
                        continue
                    if 0 < size < FULL:
                        partial = True
                        break
            if partial:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
    finally:
        if proc.exitcode is None:
            proc.kill()
            proc.join()


def _resume_view(work_dir: str):
    """What ``--resume`` (mmengine's find_latest_checkpoint) would load: (path, checkpoint or the
    error)."""
    from mmengine.runner.checkpoint import find_latest_checkpoint
    path = find_latest_checkpoint(work_dir)
    try:
        return path, torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # noqa: BLE001  (missing / truncated file: the error is the finding)
        return path, e


def test_plain_mmengine_checkpoint_hook_leaves_broken_resume_state(tmp_path):
    """Documents why AtomicCheckpointHook exists: the first kill caught mid-write breaks resume."""
    outcomes = []
    for attempt in range(5):  # the kill can land just after a write completes: retry
        work_dir = str(tmp_path / f'plain{attempt}')
        _kill_mid_save(work_dir, 'CheckpointHook')
        path, ckpt = _resume_view(work_dir)
        outcomes.append((osp.basename(path), type(ckpt).__name__, sorted(os.listdir(work_dir))))
        if isinstance(ckpt, Exception):
            break
    else:
        pytest.fail(f'no kill broke the plain CheckpointHook state: {outcomes}')
    # the checkpoint being written is left truncated under its final name
    broken = []
    for name in os.listdir(work_dir):
        if name.endswith('.pth'):
            try:
                torch.load(osp.join(work_dir, name), map_location='cpu', weights_only=False)
            except Exception as e:  # noqa: BLE001
                broken.append((name, os.path.getsize(osp.join(work_dir, name)), type(e).__name__))
    print(f'\nplain CheckpointHook after a kill mid-save (attempt {len(outcomes)}): '
          f'last_checkpoint -> {outcomes[-1][0]}: {outcomes[-1][1]}; files {outcomes[-1][2]}; '
          f'unreadable: {broken}')


@pytest.mark.parametrize('trial', range(3))
def test_atomic_checkpoint_hook_survives_kill_mid_save(tmp_path, trial):
    work_dir = str(tmp_path / 'atomic')
    _kill_mid_save(work_dir, 'AtomicCheckpointHook')
    files = sorted(os.listdir(work_dir))
    path, ckpt = _resume_view(work_dir)
    assert not isinstance(ckpt, Exception), f'{path}: {ckpt!r} ({files})'
    it = int(osp.basename(path)[len('iter_'):-len('.pth')])
    assert ckpt['meta']['iter'] == it
    assert ckpt['state_dict']['big'].numel() == NUMEL
    # the write in progress was under a temporary name, complete checkpoints only under final names
    for name in files:
        if name.endswith('.pth'):
            torch.load(osp.join(work_dir, name), map_location='cpu', weights_only=False)
    print(f'\natomic, kill {trial}: last_checkpoint -> {osp.basename(path)} (complete); '
          f'files {files}')


def test_atomic_backend_and_stale_tmp_cleanup(tmp_path):
    """The ``atomic_local`` backend through mmengine's fileio API, and the clean-up of a temporary
    file left by a killed save."""
    import focalnet_mm  # noqa: F401
    from mmengine.fileio import get_file_backend
    from mmengine.runner.checkpoint import save_checkpoint

    from focalnet_mm.engine import AtomicLocalBackend, remove_stale_tmp
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    target = str(tmp_path / 'sub' / 'epoch_1.pth')
    save_checkpoint({'x': torch.arange(3)}, target, backend_args=dict(backend='atomic_local'))
    assert torch.equal(torch.load(target)['x'], torch.arange(3))
    backend.put_text('abc', str(tmp_path / 'last_checkpoint'))
    assert backend.get_text(str(tmp_path / 'last_checkpoint')) == 'abc'
    stale = tmp_path / 'sub' / '.epoch_2.pth.tmp-abc123'
    stale.write_bytes(b'partial')
    assert remove_stale_tmp(str(tmp_path / 'sub')) == [str(stale)]
    assert sorted(os.listdir(tmp_path / 'sub')) == ['epoch_1.pth']
    assert not glob.glob(str(tmp_path / '.*tmp-*'))
