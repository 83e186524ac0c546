"""Integration: pre-emptible training. A run told to stop by the scheduler's signals saves a
checkpoint at the next iteration boundary, exits with the requeue status (75), and the same command
run again continues automatically, bit-identical to an uninterrupted run.

The Mask R-CNN demo with a narrow FocalNet (``EpochBasedTrainLoop``, the harder case: a
pre-emption checkpoint falls inside an epoch, which mmengine alone would restart from its first
batch), shrunk as in tests/integration/test_resume.py (4 images, batch 2: 2 iterations per epoch,
3 epochs), is trained
by three processes running the same ``tools/train.py CONFIG --work-dir W`` command:

1. SIGUSR1 arrives while the epoch-1 checkpoint is being saved (sent by ``SendSignalHook`` in
   ``before_save_checkpoint``): the save completes, nothing more is written (that checkpoint is
   the resume point), exit 75;
2. the restart resumes from it by itself (``preempted.json``); SIGTERM arrives during iteration 3,
   the first of epoch 2: a checkpoint of iteration 3 (mid-epoch) is written, exit 75;
3. the restart resumes in the middle of epoch 2 and finishes: iterations 4-6.

Every tensor of the final weights is ``torch.equal`` to the uninterrupted run's (shared with
test_resume.py) and so is every iteration's loss; the marker and the pre-emption checkpoint are
gone at the end.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import ROOT
from test_resume import CASES, _env, _losses, _state_dict, _train_args, assert_same_weights, \
    uninterrupted_run

from focalnet_mm.engine import REQUEUE_EXIT_CODE

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]
NAME = 'mask-rcnn-epoch'
HERE = osp.dirname(osp.abspath(__file__))


def _config_with_signals(tmp_path) -> str:
    """The demo config plus the signal-sending test hooks (the same training otherwise)."""
    path = tmp_path / 'mask-rcnn_preempted_demo.py'
    path.write_text(f'''_base_ = {osp.join(ROOT, CASES[NAME]['config'])!r}
custom_imports = dict(imports=['focalnet_mm', 'preempt_signals'], allow_failed_imports=False)
custom_hooks = [
    dict(type='RNGStateHook'), dict(type='PreemptionHook'), dict(type='DistLossAverageHook'),
    dict(type='SendSignalHook', start_iter=0, signal_name='SIGUSR1', during_save=True),
    dict(type='SendSignalHook', start_iter=2, signal_name='SIGTERM', at_iter=2),
]
''')
    return str(path)


def _run(args: list[str], log_path: str) -> tuple[int, str]:
    env = _env()
    env['PYTHONPATH'] = os.pathsep.join([HERE, ROOT, env.get('PYTHONPATH', '')])
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env=env)
    out = proc.stdout + proc.stderr
    with open(log_path, 'w') as f:
        f.write(out)
    return proc.returncode, out


def test_signals_checkpoint_exit_and_the_rerun_resumes_bit_identically(tmp_path, shared_runs):
    case = dict(CASES[NAME], config=_config_with_signals(tmp_path))
    dir_a, _ = uninterrupted_run(NAME, shared_runs)
    work = str(tmp_path / 'w')
    cmd = _train_args(case, work)  # the same command line each time: no --resume
    marker = osp.join(work, 'preempted.json')

    # 1: SIGUSR1 during the epoch-1 checkpoint save
    rc, out = _run(cmd, str(tmp_path / 'run1.log'))
    assert rc == REQUEUE_EXIT_CODE, out[-4000:]
    assert 'sending SIGUSR1 while the checkpoint is being saved' in out
    info = json.load(open(marker))
    assert info['signal'] == 'SIGUSR1' and info['iter'] == 2
    assert osp.basename(info['checkpoint']) == 'epoch_1.pth'  # the save that was under way
    assert open(osp.join(work, 'last_checkpoint')).read().strip() == info['checkpoint']
    assert not [f for f in os.listdir(work) if f.startswith('preempted_')]  # nothing extra

    # 2: automatic resume; SIGTERM during iteration 3 -> mid-epoch checkpoint
    rc, out = _run(cmd, str(tmp_path / 'run2.log'))
    assert rc == REQUEUE_EXIT_CODE, out[-4000:]
    assert 'holds a pre-empted run' in out and 'sending SIGTERM during iteration 3' in out
    info = json.load(open(marker))
    assert info['signal'] == 'SIGTERM' and info['iter'] == 3 and info['epoch'] == 1
    assert osp.basename(info['checkpoint']) == 'preempted_iter_3.pth'
    assert osp.isfile(info['checkpoint'])
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))

    # 3: automatic resume in the middle of epoch 2, to the end
    rc, out = _run(cmd, str(tmp_path / 'run3.log'))
    assert rc == 0, out[-4000:]
    assert 'resumed in the middle of epoch 2: skipped the 1 batch(es)' in out
    assert 'random generator states restored' in out
    assert not osp.exists(marker)
    assert not [f for f in os.listdir(work) if f.startswith('preempted_')]

    # --- the three processes' loss curve and final weights == the uninterrupted run's ---
    (curve_a,) = _losses(dir_a)
    runs = _losses(work)
    assert [sorted(r) for r in runs] == [[1, 2], [3], [4, 5, 6]], runs
    curve = {it: loss for r in runs for it, loss in r.items()}
    for it in range(1, case['iters'] + 1):
        assert curve[it] == curve_a[it], f'iteration {it}: {curve[it]!r} != {curve_a[it]!r}'
    sd_a = _state_dict(osp.join(dir_a, case['final']))
    max_diff = assert_same_weights(sd_a, _state_dict(osp.join(work, case['final'])))
    print(f'\npre-empted twice (SIGUSR1 during a checkpoint save, SIGTERM mid-epoch), resumed by '
          f'rerunning the command: {len(sd_a)} tensors equal (max |diff| {max_diff}), losses of '
          f'iterations 1..6 equal: {[curve[i] for i in sorted(curve)]}')
