"""Integration: the record-setting FocalNet-L pairings (DINO, Mask2Former ADE20K / COCO panoptic,
UPerNet 640) train through ``tools/train.py`` and evaluate through ``tools/test.py`` (real
subprocesses, real Runner, the synthetic demo data of ``focalnet_mm.demo_data``).

Each runs its ``configs/demo/*`` config (the real config with demo data, from scratch; the DINO
5-scale and fl3 variants as the 4-scale demo with the variant config's model changes) for 2
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


# The DINO variants (configs that state only what differs from the 4-scale fl4 config) run as the
# 4-scale demo with each variant's own model changes, read from the variant's config file.
DINO_BASE = 'configs/mmdet/dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py'
VARIANTS = {'dino-5scale': 'configs/mmdet/dino-5scale_focalnet-l-fl4_8xb2-12e_coco.py',
            'dino-4scale-fl3': 'configs/mmdet/dino-4scale_focalnet-l-fl3_8xb2-12e_coco.py'}
FAMILIES.update({name: FAMILIES['dino-4scale'] for name in VARIANTS})


def _leaves(node, prefix: str = '') -> dict:
    if not isinstance(node, dict):
        return {prefix[:-1]: node}
    return {k: v for key, value in node.items() for k, v in _leaves(value, f'{prefix}{key}.').items()}


def variant_model_options(variant: str, base: str) -> list[str]:
    """``--cfg-options`` that turn ``base``'s model into ``variant``'s (the pretrained checkpoint
    left out: the demo trains from scratch)."""
    from mmengine.config import Config
    new = _leaves(Config.fromfile(variant).model.to_dict(), 'model.')
    old = _leaves(Config.fromfile(base).model.to_dict(), 'model.')
    return [f'{k}={str(v).replace(" ", "")}' for k, v in new.items()
            if (k not in old or v != old[k]) and '.init_cfg.' not in k and '._' not in k]


def test_variant_options_are_the_variant_differences():
    assert sorted(variant_model_options(VARIANTS['dino-5scale'], DINO_BASE)) == [
        'model.backbone.out_indices=(0,1,2,3)',
        'model.decoder.layer_cfg.cross_attn_cfg.num_levels=5',
        'model.encoder.layer_cfg.self_attn_cfg.num_levels=5',
        'model.neck.in_channels=[192,384,768,1536]',
        'model.neck.num_outs=5',
        'model.num_feature_levels=5']
    assert variant_model_options(VARIANTS['dino-4scale-fl3'], DINO_BASE) == [
        'model.backbone.arch=large-fl3']


@pytest.mark.parametrize('family', list(FAMILIES))
def test_record_pairing_trains_and_tests(family, tmp_path):
    cfg, train_opts, ckpt_name, metric_key, (keys, upper) = FAMILIES[family]
    if family == 'mask2former-coco-panoptic':
        # mmdet's LoadPanopticAnnotations / CocoPanopticMetric import it (PyPI panopticapi-lite)
        pytest.importorskip('panopticapi', reason='panopticapi (panopticapi-lite) not installed')
    model_opts = variant_model_options(VARIANTS[family], DINO_BASE) if family in VARIANTS else []
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', cfg, '--work-dir', work_dir, '--cfg-options', *train_opts,
              *model_opts])

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
    run_tool(['tools/test.py', cfg, ckpt, '--work-dir', test_dir, '--cfg-options', *TEST_2,
              *model_opts])
    records = [r for r in json_log_records(test_dir, osp.join('*', '*.json')) if metric_key in r]
    assert records, f'tools/test.py wrote no {metric_key}'
    for key in keys:  # COCO AP as a fraction (-1 would mean "no detections"), mIoU/PQ in %
        value = records[-1][key]
        assert isinstance(value, (int, float)) and 0.0 <= value <= upper, (key, value)
