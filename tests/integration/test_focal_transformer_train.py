"""Integration: every detector/segmentor family of the Focal Transformer configs trains and tests
with mmengine's Runner on the synthetic demo data (``configs/demo/*focal-t*``: the real configs'
models, demo data and schedule).

One short run per family, in this process (one import of mmdet/mmseg for all of them): 1
training iteration (batch 1), then the test loop on 1 image with the real metric. This checks
that the whole model builds, trains with finite losses through the real optimizer wrapper and
evaluates; learning itself is checked for FocalNet by tests/integration/test_demo_training.py.
"""
from __future__ import annotations

import math
import numbers
import os
import os.path as osp

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]

TRAIN_ITERS = 1
DET = {'train_dataloader.dataset.indices': TRAIN_ITERS, 'train_cfg.max_epochs': 1}
DET_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50')
# name: (demo config, overrides, metric keys and their range). Heads trained for 2 iterations
# score below the default thresholds: keep every box so that COCO evaluation has detections.
FAMILIES = {
    'mask-rcnn': ('mask-rcnn_focal-t_fpn_demo.py',
                  {**DET, 'model.test_cfg.rcnn.score_thr': 0.0}, DET_KEYS + ('coco/segm_mAP', ), 1),
    'retinanet': ('retinanet_focal-t_fpn_demo.py', {**DET, 'model.test_cfg.score_thr': 0.0},
                  DET_KEYS, 1),
    'cascade-mask-rcnn': ('cascade-mask-rcnn_focal-t_fpn_demo.py',
                          {**DET, 'model.test_cfg.rcnn.score_thr': 0.0},
                          DET_KEYS + ('coco/segm_mAP', ), 1),
    'atss': ('atss_focal-t_fpn_demo.py', {**DET, 'model.test_cfg.score_thr': 0.0}, DET_KEYS, 1),
    'sparse-rcnn': ('sparse-rcnn_focal-t_fpn_demo.py', DET, DET_KEYS, 1),
    # batch 2: the pyramid pooling's BatchNorm needs more than one value per channel
    'upernet': ('upernet_focal-t_demo.py',
                {'train_cfg.max_iters': TRAIN_ITERS, 'train_dataloader.batch_size': 2},
                ('mIoU', 'mAcc', 'aAcc'), 100),
}


@pytest.mark.parametrize('family', list(FAMILIES))
def test_family_trains_and_tests(family, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from focalnet_mm.models.focal_transformer import FocalTransformer

    name, overrides, keys, top = FAMILIES[family]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', name))
    cfg.merge_from_dict({
        'train_dataloader.batch_size': 1, 'test_dataloader.dataset.indices': 1,
        'default_hooks.logger.interval': 1, **overrides})
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None  # no checkpoint files: the runs stay short
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'focal-t-{family}'
    # mmengine's visualizer and its log backends are named singletons: a run of its own per test
    cfg.visualizer.name = f'visualizer-focal-t-{family}'
    cwd = os.getcwd()
    os.chdir(ROOT)  # the demo configs read data/demo relative to the repository root
    try:
        runner = Runner.from_cfg(cfg)
        assert isinstance(runner.model.backbone, FocalTransformer)
        runner.train()
        losses = runner.message_hub.get_scalar('train/loss').data[0]
        metrics = runner.test()
    finally:
        os.chdir(cwd)
    assert runner.iter == TRAIN_ITERS
    assert len(losses) == TRAIN_ITERS and all(math.isfinite(v) and v > 0 for v in losses), losses
    for key in keys:  # -1 would mean "no detections"
        value = metrics[key]
        assert isinstance(value, numbers.Real) and 0.0 <= value <= top, (key, value)
