"""Integration: the record-setting FocalNet-L pairings (DINO, Mask2Former ADE20K / COCO panoptic,
UPerNet 640) train through ``tools/train.py`` and evaluate through ``tools/test.py`` (real
subprocesses, real Runner, the synthetic demo data of ``focalnet_mm.demo_data``).

Each runs its ``configs/demo/*`` config (the real config with demo data, from scratch) for 2
iterations of batch 2 and tests on 2 validation images: the whole ~230M-parameter model builds,
its losses are finite, a checkpoint holding the weights is written, and the metric keys come out in
range (COCO bbox mAP for DINO, mIoU for the segmentors, PQ for panoptic). It does not check
learning. Checkpoints are written without the optimizer state (2.7 GB with AdamW's moments,
0.9 GB without) to keep the disk traffic of four large models down.
"""
from __future__ import annotations

import math
import os.path as osp

import pytest
from helpers import json_log_records, run_tool

NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
COMMON = ['train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
          'default_hooks.checkpoint.save_optimizer=False', *NO_VAL]
ITER_TRAIN = ['train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2', *COMMON]
TEST_2 = ['test_dataloader.dataset.indices=2']

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]

# name: (demo config, train options, checkpoint name, metric key, (keys, upper bound))
FAMILIES = {
    # 4 images / batch 2 = 2 iterations in 1 epoch; the step of the schedule at its end
    'dino-4scale': ('configs/demo/dino-4scale_focalnet-l-fl4_demo.py',
                    ['train_dataloader.dataset.indices=4', 'train_cfg.max_epochs=1',
                     'param_scheduler.0.milestones=[1]', 'default_hooks.checkpoint.interval=1',
                     *COMMON],
                    'epoch_1.pth', 'coco/bbox_mAP',
                    (('coco/bbox_mAP', 'coco/bbox_mAP_50'), 1.0)),
    'mask2former-ade20k': ('configs/demo/mask2former_focalnet-l-fl4_ade20k_demo.py', ITER_TRAIN,
                           'iter_2.pth', 'mIoU', (('mIoU', 'aAcc', 'mAcc'), 100.0)),
    'mask2former-coco-panoptic': ('configs/demo/mask2former_focalnet-l-fl4_coco-panoptic_demo.py',
                                  ITER_TRAIN, 'iter_2.pth', 'coco_panoptic/PQ',
                                  (('coco_panoptic/PQ', 'coco_panoptic/SQ', 'coco_panoptic/RQ',
                                    'coco_panoptic/PQ_th', 'coco_panoptic/PQ_st'), 100.0)),
    'upernet-640': ('configs/demo/upernet_focalnet-l-fl4_demo.py', ITER_TRAIN, 'iter_2.pth',
                    'mIoU', (('mIoU', 'aAcc', 'mAcc'), 100.0)),
}


@pytest.mark.parametrize('family', list(FAMILIES))
def test_record_pairing_trains_and_tests(family, tmp_path):
    cfg, train_opts, ckpt_name, metric_key, (keys, upper) = FAMILIES[family]
    if family == 'mask2former-coco-panoptic':
        # mmdet's LoadPanopticAnnotations / CocoPanopticMetric import it (PyPI panopticapi-lite)
        pytest.importorskip('panopticapi', reason='panopticapi (panopticapi-lite) not installed')
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', cfg, '--work-dir', work_dir, '--cfg-options', *train_opts])

    records = json_log_records(work_dir)
    losses = [r for r in records if 'loss' in r]
    assert len(losses) == 2, losses
    assert all(math.isfinite(r['loss']) and r['loss'] > 0 for r in losses), losses
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    assert osp.basename(ckpt) == ckpt_name
    # the weights of a ~230M-parameter model in fp32 (~0.9 GB), no optimizer state
    assert 0.85e9 < osp.getsize(ckpt) < 1.2e9, osp.getsize(ckpt)

    test_dir = str(tmp_path / 'test')
    run_tool(['tools/test.py', cfg, ckpt, '--work-dir', test_dir, '--cfg-options', *TEST_2])
    records = [r for r in json_log_records(test_dir, osp.join('*', '*.json')) if metric_key in r]
    assert records, f'tools/test.py wrote no {metric_key}'
    for key in keys:  # COCO AP as a fraction (-1 would mean "no detections"), mIoU/PQ in %
        value = records[-1][key]
        assert isinstance(value, (int, float)) and 0.0 <= value <= upper, (key, value)
