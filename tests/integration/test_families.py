"""Integration: every detector / segmentor family of the configs trains and evaluates: the FocalNet-T
families beyond the two demos that tests/integration/test_demo_training.py trains (Cascade Mask
R-CNN, ATSS, Sparse R-CNN), the Focal Transformer families (Mask R-CNN, RetinaNet, Cascade Mask
R-CNN, ATSS, Sparse R-CNN, UPerNet) and the record-setting FocalNet-L pairings (DINO 4-scale,
5-scale and fl3, Mask2Former ADE20K and COCO panoptic, UPerNet 640).

Each runs its ``configs/demo/*`` config (the real config's model on the synthetic demo data, from
scratch, with one backbone block a stage: widths, focal levels, windows and options as
configured, so necks and heads get the real channels; a deep stage repeats that same block, and the
unit tier checks every preset's modules on the meta device and every option's numerics on small
archs) through ``tools/train.py``'s own ``build_runner`` (argument parsing, scope registration,
launcher and work dir set-up, the real mmengine Runner) in this process: one import of
mmdet/mmseg for all of them, where a subprocess pair per family would spend ~30 s on imports
alone. 2 training iterations, then the test loop on 1 validation image with the real metric: the
whole model builds, trains with finite losses through the real optimizer wrapper (the second loss
comes after an optimizer step) and evaluates, its metric keys in range. Learning itself is checked
by tests/integration/test_demo_training.py; the tool processes, checkpoints and resuming by the
demo, resume and pre-emption tests.
"""
from __future__ import annotations

import gc
import math
import numbers

import pytest
from helpers import ROOT, load_tool

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]

NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
# no checkpoint files (the tool path writes them in the demo/resume tests); 1 test image
COMMON = ['default_hooks.logger.interval=1', 'default_hooks.checkpoint=None',
          'test_dataloader.dataset.indices=1', *NO_VAL]
# one block a stage: the backbone keeps its widths, levels, windows and options (so the necks and
# heads see the real config's channels), without the repeats of the deep stage
ONE_BLOCK_A_STAGE = ['model.backbone.depths=[1,1,1,1]']
EPOCHS = ['train_dataloader.dataset.indices=2', 'train_dataloader.batch_size=1',
          'train_cfg.max_epochs=1']  # 2 images / batch 1: 2 iterations
# batch 2: the pyramid pooling's BatchNorm needs more than one value per channel
ITERS = ['train_dataloader.batch_size=2', 'train_cfg.max_iters=2']
# heads trained for 2 iterations score below the default thresholds: keep every box so that COCO
# evaluation has detections to score
RCNN_ALL = ['model.test_cfg.rcnn.score_thr=0.0']
# the Cascade R-CNN stages sample 128 RoIs per image at training time instead of 512, as the Mask
# R-CNN demo does (the mask heads, ~0.5 GFLOP per positive RoI and stage, dominate a CPU step)
CASCADE_ROIS = [f'model.train_cfg.rcnn.{stage}.sampler.num=128' for stage in range(3)]
DENSE_ALL = ['model.test_cfg.score_thr=0.0']
BBOX = ('coco/bbox_mAP', 'coco/bbox_mAP_50')
SEGM = BBOX + ('coco/segm_mAP', )
MIOU = ('mIoU', 'mAcc', 'aAcc')
PQ = ('coco_panoptic/PQ', 'coco_panoptic/SQ', 'coco_panoptic/RQ', 'coco_panoptic/PQ_th',
      'coco_panoptic/PQ_st')

# name: (demo config, options, metric keys, their upper bound: COCO AP as a fraction, mIoU/PQ in %)
FAMILIES = {
    'focalnet-cascade-mask-rcnn': ('cascade-mask-rcnn_focalnet-t-lrf_fpn_demo.py',
                                   EPOCHS + RCNN_ALL + CASCADE_ROIS, SEGM, 1.0),
    'focalnet-atss': ('atss_focalnet-t-lrf_fpn_demo.py', EPOCHS + DENSE_ALL, BBOX, 1.0),
    'focalnet-sparse-rcnn': ('sparse-rcnn_focalnet-t-lrf_fpn_demo.py', EPOCHS, BBOX, 1.0),
    'focal-mask-rcnn': ('mask-rcnn_focal-t_fpn_demo.py', EPOCHS + RCNN_ALL, SEGM, 1.0),
    'focal-retinanet': ('retinanet_focal-t_fpn_demo.py', EPOCHS + DENSE_ALL, BBOX, 1.0),
    'focal-cascade-mask-rcnn': ('cascade-mask-rcnn_focal-t_fpn_demo.py',
                                EPOCHS + RCNN_ALL + CASCADE_ROIS, SEGM, 1.0),
    'focal-atss': ('atss_focal-t_fpn_demo.py', EPOCHS + DENSE_ALL, BBOX, 1.0),
    'focal-sparse-rcnn': ('sparse-rcnn_focal-t_fpn_demo.py', EPOCHS, BBOX, 1.0),
    'focal-upernet': ('upernet_focal-t_demo.py', ITERS, MIOU, 100.0),
    'record-dino-4scale': ('dino-4scale_focalnet-l-fl4_demo.py', EPOCHS, BBOX, 1.0),
    'record-mask2former-ade20k': ('mask2former_focalnet-l-fl4_ade20k_demo.py', ITERS, MIOU, 100.0),
    'record-mask2former-coco-panoptic': ('mask2former_focalnet-l-fl4_coco-panoptic_demo.py', ITERS,
                                         PQ, 100.0),
    'record-upernet-640': ('upernet_focalnet-l-fl4_demo.py', ITERS, MIOU, 100.0),
}

# The DINO variants (configs that state only what differs from the 4-scale fl4 config) run as the
# 4-scale demo with each variant's own model changes, read from the variant's config file.
DINO_BASE = 'configs/mmdet/dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py'
VARIANTS = {'record-dino-5scale': 'configs/mmdet/dino-5scale_focalnet-l-fl4_8xb2-12e_coco.py',
            'record-dino-4scale-fl3': 'configs/mmdet/dino-4scale_focalnet-l-fl3_8xb2-12e_coco.py'}
FAMILIES.update({name: FAMILIES['record-dino-4scale'] for name in VARIANTS})


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
    assert sorted(variant_model_options(VARIANTS['record-dino-5scale'], DINO_BASE)) == [
        'model.backbone.out_indices=(0,1,2,3)',
        'model.decoder.layer_cfg.cross_attn_cfg.num_levels=5',
        'model.encoder.layer_cfg.self_attn_cfg.num_levels=5',
        'model.neck.in_channels=[192,384,768,1536]',
        'model.neck.num_outs=5',
        'model.num_feature_levels=5']
    assert variant_model_options(VARIANTS['record-dino-4scale-fl3'], DINO_BASE) == [
        'model.backbone.arch=large-fl3']


@pytest.mark.parametrize('family', list(FAMILIES))
def test_family_trains_and_tests(family, tmp_path, monkeypatch):
    name, options, keys, top = FAMILIES[family]
    if 'panoptic' in family:
        # mmdet's LoadPanopticAnnotations / CocoPanopticMetric import it (PyPI panopticapi-lite)
        pytest.importorskip('panopticapi', reason='panopticapi (panopticapi-lite) not installed')
    model_options = (variant_model_options(f'{ROOT}/{VARIANTS[family]}', f'{ROOT}/{DINO_BASE}')
                     if family in VARIANTS else [])
    monkeypatch.chdir(ROOT)  # the demo configs read data/demo relative to the repository root
    train = load_tool('train')
    # mmengine's message hub and visualizer are named singletons: names of this run's own
    args = train.parse_args([
        f'configs/demo/{name}', '--work-dir', str(tmp_path), '--cfg-options', *COMMON,
        *ONE_BLOCK_A_STAGE, *options,
        *model_options, f'experiment_name={family}', f'visualizer.name=visualizer-{family}'])
    runner = train.build_runner(args)
    backbone = 'FocalTransformer' if family.startswith('focal-') else 'FocalNet'
    assert type(runner.model.backbone).__name__ == backbone
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    metrics = runner.test()
    assert runner.iter == 2
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), losses
    for key in keys:  # -1 would mean "no detections"
        value = metrics[key]
        assert isinstance(value, numbers.Real) and 0.0 <= value <= top, (key, value)
    del runner
    gc.collect()  # the FocalNet-L runs hold ~3 GB (weights and AdamW moments) each
