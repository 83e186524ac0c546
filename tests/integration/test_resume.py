"""Integration: a training run killed with SIGKILL after a checkpoint and resumed with
``tools/train.py --resume`` ends with the same weights and the same loss curve as an uninterrupted
run of the same seed, bit for bit (CPU).

For each of the two loop kinds (the Mask R-CNN demo: ``EpochBasedTrainLoop``; the UPerNet demo:
``IterBasedTrainLoop``; both with a narrow FocalNet and narrow heads, ``tests/data/configs``: the
engine is under test, not the model's width), shrunk to a few iterations on 4 images (the epoch case runs
as the uninterrupted run and the interrupted runs of tests/integration/test_preemption.py, the
iteration case here):

* run A trains uninterrupted (once per session, shared with tests/integration/test_preemption.py);
* run B trains the same config in another work dir and is SIGKILLed as soon as
  ``last_checkpoint`` names the first checkpoint (the file is complete by then:
  AtomicCheckpointHook), then ``tools/train.py CONFIG --work-dir B --resume`` continues it
  (auto-resume from ``last_checkpoint``);
* every tensor of A's final ``state_dict`` is ``torch.equal`` to B's, and the per-iteration loss of
  every logged iteration (``log_processor.window_size=1``, logger interval 1: the scalars.json value
  is that iteration's loss, not a running mean) is equal, the iterations after the checkpoint coming
  from the resumed process.

The random data pipelines (flip, multi-scale resize, crop, photometric distortion), drop-path and
RoI sampling all draw from the global generators: this passes because ``RNGStateHook`` (in the
configs' ``custom_hooks``) stores them in the checkpoint and restores them at the right point of the
resumed loop. Both runs use one torch thread (``OMP_NUM_THREADS=1``), as they must share a thread
count for CPU kernels to reduce in the same order.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
from helpers import NARROW_DET_CONFIG, NARROW_SEG_CONFIG, run_tool, tool_env

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
EXACT_LOG = ['default_hooks.logger.interval=1', 'log_processor.window_size=1']

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]

CASES = {
    # EpochBasedTrainLoop: 4 images / batch 2 = 2 iterations per epoch, 3 epochs, a checkpoint per
    # epoch; B is killed after epoch_1.pth and resumes at epoch 2.
    'mask-rcnn-epoch': dict(
        config=NARROW_DET_CONFIG,
        options=['train_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2',
                 'train_cfg.max_epochs=3', 'param_scheduler.0.end=3',
                 'param_scheduler.1.milestones=[2]', 'default_hooks.checkpoint.interval=1',
                 *EXACT_LOG, *NO_VAL],
        kill_at='epoch_1.pth', iters=6, ckpt_iter=2, final='epoch_3.pth'),
    # IterBasedTrainLoop: 4 images / batch 2, 6 iterations (3 passes over the data), checkpoint
    # every 3; the resumed loop re-iterates the dataloader 3 batches (running the random transforms)
    # before iteration 4.
    'upernet-iter': dict(
        config=NARROW_SEG_CONFIG,
        options=['train_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2',
                 'train_cfg.max_iters=6', 'param_scheduler.0.end=2', 'param_scheduler.1.begin=2',
                 'param_scheduler.1.end=6', 'default_hooks.checkpoint.interval=3', *EXACT_LOG,
                 *NO_VAL],
        kill_at='iter_3.pth', iters=6, ckpt_iter=3, final='iter_6.pth'),
}


def _env() -> dict:
    return tool_env(OMP_NUM_THREADS='1')  # the same thread count in every run (reduction order)


def _train_args(case: dict, work_dir: str, *extra: str) -> list[str]:
    return ['tools/train.py', case['config'], '--work-dir', work_dir, *extra,
            '--cfg-options', *case['options']]


def uninterrupted_run(name: str, shared_runs) -> tuple[str, float]:
    """Work dir of the uninterrupted run A of ``CASES[name]`` and its duration: trained once per
    session (tests/integration/test_preemption.py compares against it too)."""
    case = CASES[name]
    return shared_runs(f'uninterrupted-{name}',
                       lambda work_dir: run_tool(_train_args(case, work_dir), env=_env()))


def _run_and_kill(cmd: list[str], work_dir: str, ckpt_name: str) -> None:
    """Start training; SIGKILL it as soon as ``last_checkpoint`` names ``ckpt_name``."""
    target = osp.join(work_dir, ckpt_name)
    pointer = osp.join(work_dir, 'last_checkpoint')
    log = open(osp.join(osp.dirname(work_dir), osp.basename(work_dir) + '.out'), 'w')
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=_env())
    try:
        deadline = time.time() + 900
        while time.time() < deadline:
            if osp.exists(pointer):
                with open(pointer) as f:
                    named = f.read().strip()
                if osp.abspath(named) == osp.abspath(target):
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            if proc.poll() is not None:
                pytest.fail(f'training ended (rc={proc.returncode}) before {ckpt_name} was '
                            f'written:\n{open(log.name).read()[-4000:]}')
            time.sleep(0.02)
        else:
            pytest.fail(f'{ckpt_name} not written in time')
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def _losses(work_dir: str) -> list[dict[int, float]]:
    """Per run (timestamp dir, in order): {iteration: loss} from vis_data/scalars.json. A last line
    cut by the kill is ignored."""
    runs = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        losses = {}
        with open(path) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if 'loss' in rec:
                    losses[int(rec['step'])] = rec['loss']
        runs.append(losses)
    return runs


def _state_dict(path: str) -> dict:
    import torch
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def assert_same_weights(sd_a: dict, sd_b: dict) -> float:
    """Every tensor ``torch.equal``; returns the max abs difference (0.0 when they are)."""
    import torch
    assert sd_a.keys() == sd_b.keys()
    max_diff = 0.0
    for key in sd_a:
        a, b = sd_a[key], sd_b[key]
        if a.is_floating_point() and a.numel():
            max_diff = max(max_diff, (a - b).abs().max().item())
        assert torch.equal(a, b), f'{key} differs'
    return max_diff


# The epoch loop's resumption (from an epoch checkpoint, and from one inside an epoch) is checked
# by tests/integration/test_preemption.py against the same uninterrupted run: here the iteration
# loop, killed with SIGKILL and resumed with --resume.
@pytest.mark.parametrize('name', ['upernet-iter'])
def test_kill_and_resume_is_bit_identical(name, tmp_path, shared_runs):
    case = CASES[name]
    dir_a, t_a = uninterrupted_run(name, shared_runs)
    dir_b = str(tmp_path / 'b')

    t0 = time.time()
    _run_and_kill([sys.executable, *_train_args(case, dir_b)], dir_b, case['kill_at'])
    assert not osp.exists(osp.join(dir_b, case['final'])), 'killed too late'
    out = run_tool(_train_args(case, dir_b, '--resume'), env=_env())
    t_b = time.time() - t0
    assert 'RNGStateHook: random generator states restored' in out

    # --- loss curves ---
    (curve_a,) = _losses(dir_a)
    killed, resumed = _losses(dir_b)
    assert sorted(curve_a) == list(range(1, case['iters'] + 1)), curve_a
    ckpt = case['ckpt_iter']
    assert set(range(1, ckpt + 1)) <= set(killed), killed
    assert sorted(resumed) == list(range(ckpt + 1, case['iters'] + 1)), resumed
    curve_b = {**killed, **resumed}  # iterations the killed run logged after the checkpoint must
    for it, loss in killed.items():  # agree as well
        assert loss == curve_a[it], f'killed run, iteration {it}: {loss!r} != {curve_a[it]!r}'
    for it in range(1, case['iters'] + 1):
        assert curve_b[it] == curve_a[it], f'iteration {it}: {curve_b[it]!r} != {curve_a[it]!r}'

    # --- final weights ---
    sd_a = _state_dict(osp.join(dir_a, case['final']))
    max_diff = assert_same_weights(sd_a, _state_dict(osp.join(dir_b, case['final'])))
    print(f'\n{name}: {len(sd_a)} tensors equal (max |diff| {max_diff}), losses of iterations '
          f'1..{case["iters"]} equal (checkpoint at {ckpt}); A {t_a:.0f} s, B killed+resumed '
          f'{t_b:.0f} s; losses {[curve_a[i] for i in sorted(curve_a)]}')
