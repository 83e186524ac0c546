"""Integration: every detector/segmentor family of the configs trains through ``tools/train.py`` and
evaluates through ``tools/test.py`` (real subprocesses, real Runner, the synthetic demo data), and
2-process distributed training runs on CPU through ``tools/dist_train.sh`` (gloo).

Each family runs the real config (via its ``configs/demo/*`` config) for 4 iterations
(2 images, batch 1, 2 epochs) and tests on 2 images: this checks that the whole model builds, its
losses are finite, a checkpoint is written and the metric keys come out in range. It does not check
learning (see tests/integration/test_demo_training.py for that).
"""
from __future__ import annotations

import glob
import math
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
from helpers import json_log_records, run_tool, tool_env

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]

# 2 images / batch 1 = 2 iterations per epoch; 2 epochs; schedulers shrunk to match.
DET_TRAIN = ['train_dataloader.dataset.indices=2', 'train_dataloader.batch_size=1',
             'train_cfg.max_epochs=2', 'param_scheduler.0.end=2', 'param_scheduler.1.milestones=[1]',
             'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2', *NO_VAL]
DET_TEST = ['test_dataloader.dataset.indices=2']

DET_FAMILIES = {
    # heads trained for 4 iterations score below the default 0.05 threshold: keep every box
    # (score_thr=0) so that COCO evaluation has detections to score
    'mask-rcnn': ('configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py',
                  ['model.test_cfg.rcnn.score_thr=0.0'],
                  ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP')),
    'cascade-mask-rcnn': ('configs/demo/cascade-mask-rcnn_focalnet-t-lrf_fpn_demo.py',
                          ['model.test_cfg.rcnn.score_thr=0.0'],
                          ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP')),
    'atss': ('configs/demo/atss_focalnet-t-lrf_fpn_demo.py', ['model.test_cfg.score_thr=0.0'],
             ('coco/bbox_mAP', 'coco/bbox_mAP_50')),
    'sparse-rcnn': ('configs/demo/sparse-rcnn_focalnet-t-lrf_fpn_demo.py', [],
                    ('coco/bbox_mAP', 'coco/bbox_mAP_50')),
}


def _assert_trained(work_dir: str, iters: int) -> str:
    """``iters`` finite logged losses and a checkpoint of the last epoch/iteration; its path."""
    records = [r for r in json_log_records(work_dir) if 'loss' in r]
    assert len(records) == iters, records
    assert all(math.isfinite(r['loss']) and r['loss'] > 0 for r in records), records
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        path = f.read().strip()
    assert osp.isfile(path) and osp.getsize(path) > 10_000_000, path  # holds the FocalNet-T weights
    return path


def _metrics(test_dir: str, key: str) -> dict:
    records = [r for r in json_log_records(test_dir, osp.join('*', '*.json')) if key in r]
    assert records, f'tools/test.py wrote no {key}'
    return records[-1]


@pytest.mark.parametrize('family', list(DET_FAMILIES))
def test_detector_family_trains_and_tests(family, tmp_path):
    cfg, test_opts, keys = DET_FAMILIES[family]
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', cfg, '--work-dir', work_dir, '--cfg-options', *DET_TRAIN])
    ckpt = _assert_trained(work_dir, iters=4)
    assert osp.basename(ckpt) == 'epoch_2.pth'

    test_dir = str(tmp_path / 'test')
    run_tool(['tools/test.py', cfg, ckpt, '--work-dir', test_dir, '--cfg-options', *DET_TEST,
          *test_opts])
    metrics = _metrics(test_dir, 'coco/bbox_mAP')
    for key in keys:  # mmdet reports COCO AP as a fraction; -1 would mean "no detections"
        value = metrics[key]
        assert isinstance(value, (int, float)) and 0.0 <= value <= 1.0, (key, value)


def test_upernet_trains_and_tests(tmp_path):
    cfg = 'configs/demo/upernet_focalnet-t-srf_demo.py'
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', cfg, '--work-dir', work_dir, '--cfg-options',
          'train_dataloader.batch_size=2', 'train_cfg.max_iters=4', 'param_scheduler.0.end=2',
          'param_scheduler.1.begin=2', 'param_scheduler.1.end=4', 'default_hooks.logger.interval=1',
          'default_hooks.checkpoint.interval=4', *NO_VAL])
    ckpt = _assert_trained(work_dir, iters=4)
    assert osp.basename(ckpt) == 'iter_4.pth'

    test_dir = str(tmp_path / 'test')
    run_tool(['tools/test.py', cfg, ckpt, '--work-dir', test_dir,
          '--cfg-options', 'test_dataloader.dataset.indices=2'])
    for key in ('mIoU', 'aAcc', 'mAcc'):
        value = _metrics(test_dir, 'mIoU')[key]
        assert isinstance(value, (int, float)) and 0.0 <= value <= 100.0, (key, value)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_distributed_training_on_cpu(tmp_path):
    """``dist_train.sh CONFIG 2``: torchrun starts 2 CPU processes (gloo); 4 images are split
    between the ranks (2 iterations per epoch with batch 1 each), both must exit 0."""
    work_dir = str(tmp_path / 'dist')
    env = tool_env()
    env['PORT'] = str(_free_port())
    env['PYTHON'] = sys.executable
    env['OMP_NUM_THREADS'] = '1'  # 2 processes on 2 cores
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', 'configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py', '2',
         '--work-dir', work_dir, '--cfg-options', 'train_dataloader.dataset.indices=4',
         'train_dataloader.batch_size=1', 'train_cfg.max_epochs=1', 'param_scheduler.0.end=2',
         'param_scheduler.1.milestones=[1]', 'default_hooks.logger.interval=1',
         'default_hooks.checkpoint.interval=1', *NO_VAL],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'dist_train.sh failed ({proc.returncode}):\n{out[-6000:]}'
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert logs, 'no log written'
    log = open(sorted(logs)[-1]).read()
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert re.search(r'GPU number: 2\b', log), 'world size is not 2'
    assert "'backend': 'gloo'" in log
    # 4 images over 2 ranks with batch 1: 2 iterations per epoch (a single process would take 4)
    assert 'Epoch(train) [1][2/2]' in log and '[1][3/' not in log
    ckpt = _assert_trained(work_dir, iters=2)
    assert osp.basename(ckpt) == 'epoch_1.pth'
