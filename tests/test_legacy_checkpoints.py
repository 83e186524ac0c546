"""Checkpoints users bring from elsewhere.

* Official FocalNet mmdet 2.11 / mmseg 0.11 checkpoints (Mask R-CNN, Cascade Mask R-CNN, ATSS,
  Sparse R-CNN, UPerNet): the key names of their heads are written out below from the official
  configs and the mmdet 2.x / mmseg 0.x modules they name (independently of mmdet 3); our configs'
  models have exactly these keys and shapes, and a checkpoint in that layout (mmcv 1.x container:
  ``meta`` with ``CLASSES``/``config``, ``state_dict`` with per-module versions, ``optimizer``)
  loads strictly; ``tests/integration/test_legacy_checkpoint_eval.py`` evaluates one through
  ``tools/test.py``.
* FocalNet-DINO checkpoints (``backbone.0.`` prefix, ``args`` pickled beside) initialise our
  backbone.
* Classification checkpoints of the official training code (``config`` pickled as a yacs
  ``CfgNode``) load safely without yacs.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import types
from pathlib import Path

import pytest
import torch
from helpers import ROOT, load_tool, randomize_

from focalnet_mm import FocalNet
from focalnet_mm.models.checkpoint import read_checkpoint

model_zoo = load_tool('model_zoo')


# ------------------------------------------------------------------- the official key names
def _conv(p, bias=True):
    return {f'{p}.weight'} | ({f'{p}.bias'} if bias else set())


def _conv_module(p, norm=None):
    """mmcv ``ConvModule``: ``conv`` (no bias when normed) and its norm ``bn``/``gn``."""
    keys = _conv(f'{p}.conv', bias=norm is None)
    if norm == 'bn':
        keys |= {f'{p}.bn.{k}' for k in ('weight', 'bias', 'running_mean', 'running_var',
                                          'num_batches_tracked')}
    elif norm == 'gn':
        keys |= {f'{p}.gn.weight', f'{p}.gn.bias'}
    return keys


def _fpn(n_in, n_out):
    """FPN with ``n_in`` inputs and ``n_out`` levels; levels beyond the inputs come from extra
    convs (``add_extra_convs``) when ``n_out > n_in``, from max-pooling (no keys) otherwise."""
    keys = set()
    for i in range(n_in):
        keys |= _conv_module(f'neck.lateral_convs.{i}') | _conv_module(f'neck.fpn_convs.{i}')
    for i in range(n_in, n_out):  # extra convs
        keys |= _conv_module(f'neck.fpn_convs.{i}')
    return keys


RPN = _conv('rpn_head.rpn_conv') | _conv('rpn_head.rpn_cls') | _conv('rpn_head.rpn_reg')


def _fcn_mask_head(p):
    keys = _conv(f'{p}.upsample') | _conv(f'{p}.conv_logits')
    for i in range(4):
        keys |= _conv_module(f'{p}.convs.{i}')
    return keys


def _mask_rcnn():
    bbox = 'roi_head.bbox_head'
    return (_fpn(4, 4) | RPN | _conv(f'{bbox}.shared_fcs.0') | _conv(f'{bbox}.shared_fcs.1')
            | _conv(f'{bbox}.fc_cls') | _conv(f'{bbox}.fc_reg')
            | _fcn_mask_head('roi_head.mask_head'))


def _cascade():
    keys = _fpn(4, 4) | RPN  # 5th level: max-pool
    for s in range(3):  # 3 stages of 4conv1fc heads with SyncBN, a mask head each
        bbox = f'roi_head.bbox_head.{s}'
        for i in range(4):
            keys |= _conv_module(f'{bbox}.shared_convs.{i}', norm='bn')
        keys |= _conv(f'{bbox}.shared_fcs.0') | _conv(f'{bbox}.fc_cls') | _conv(f'{bbox}.fc_reg')
        keys |= _fcn_mask_head(f'roi_head.mask_head.{s}')
    return keys


def _atss():
    keys = _fpn(3, 5)  # stages 1-3 in, 2 extra convs on the outputs
    for branch in ('cls_convs', 'reg_convs'):
        for i in range(4):
            keys |= _conv_module(f'bbox_head.{branch}.{i}', norm='gn')
    keys |= _conv('bbox_head.atss_cls') | _conv('bbox_head.atss_reg')
    keys |= _conv('bbox_head.atss_centerness')
    return keys | {f'bbox_head.scales.{i}.scale' for i in range(5)}


def _sparse_rcnn():
    keys = _fpn(4, 4) | {'rpn_head.init_proposal_bboxes.weight',
                         'rpn_head.init_proposal_features.weight'}
    for s in range(6):  # DIIHead per stage
        h = f'roi_head.bbox_head.{s}'
        keys |= {f'{h}.attention.attn.in_proj_weight', f'{h}.attention.attn.in_proj_bias'}
        keys |= _conv(f'{h}.attention.attn.out_proj') | _conv(f'{h}.attention_norm')
        for m in ('dynamic_layer', 'norm_in', 'norm_out', 'fc_layer', 'fc_norm'):
            keys |= _conv(f'{h}.instance_interactive_conv.{m}')
        keys |= _conv(f'{h}.instance_interactive_conv_norm')
        keys |= _conv(f'{h}.ffn.layers.0.0') | _conv(f'{h}.ffn.layers.1') | _conv(f'{h}.ffn_norm')
        keys |= {f'{h}.cls_fcs.0.weight'} | _conv(f'{h}.cls_fcs.1')  # Linear (no bias), LN
        for i in range(3):
            keys |= {f'{h}.reg_fcs.{3 * i}.weight'} | _conv(f'{h}.reg_fcs.{3 * i + 1}')
        keys |= _conv(f'{h}.fc_cls') | _conv(f'{h}.fc_reg')
    return keys


def _upernet():
    d, a = 'decode_head', 'auxiliary_head'
    keys = {k for i in range(4) for k in _conv_module(f'{d}.psp_modules.{i}.1', norm='bn')}
    keys |= _conv_module(f'{d}.bottleneck', norm='bn') | _conv_module(f'{d}.fpn_bottleneck',
                                                                       norm='bn')
    for i in range(3):
        keys |= _conv_module(f'{d}.lateral_convs.{i}', norm='bn')
        keys |= _conv_module(f'{d}.fpn_convs.{i}', norm='bn')
    keys |= _conv(f'{d}.conv_seg') | _conv_module(f'{a}.convs.0', norm='bn') | _conv(f'{a}.conv_seg')
    return keys


# family -> (official key names outside the backbone, our config, the demo config, shapes)
FAMILIES = {
    'mask-rcnn': (_mask_rcnn, 'configs/mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py',
                  'configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py',
                  {'roi_head.bbox_head.fc_cls.weight': (81, 1024),
                   'roi_head.bbox_head.fc_reg.weight': (320, 1024),
                   'roi_head.mask_head.conv_logits.weight': (80, 256, 1, 1),
                   'rpn_head.rpn_reg.weight': (12, 256, 1, 1)}),
    'cascade': (_cascade, 'configs/mmdet/cascade-mask-rcnn_focalnet-t-lrf_fpn_ms-crop-3x_coco.py',
                'configs/demo/cascade-mask-rcnn_focalnet-t-lrf_fpn_demo.py',
                {'roi_head.bbox_head.2.fc_reg.weight': (320, 1024),
                 'roi_head.bbox_head.0.shared_fcs.0.weight': (1024, 256 * 49)}),
    'atss': (_atss, 'configs/mmdet/atss_focalnet-t-lrf_fpn_ms-crop-3x_coco.py',
             'configs/demo/atss_focalnet-t-lrf_fpn_demo.py',
             {'bbox_head.atss_cls.weight': (80, 256, 3, 3),
              'neck.lateral_convs.0.conv.weight': (256, 192, 1, 1)}),
    'sparse-rcnn': (_sparse_rcnn,
                    'configs/mmdet/sparse-rcnn_focalnet-t-lrf_fpn_300-proposals_ms-crop-3x_coco.py',
                    'configs/demo/sparse-rcnn_focalnet-t-lrf_fpn_demo.py',
                    {'rpn_head.init_proposal_bboxes.weight': (300, 4),
                     'roi_head.bbox_head.5.fc_cls.weight': (80, 256)}),
    'upernet': (_upernet, 'configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py',
                'configs/demo/upernet_focalnet-t-srf_demo.py',
                {'decode_head.conv_seg.weight': (150, 512, 1, 1),
                 'auxiliary_head.convs.0.conv.weight': (256, 384, 3, 3)}),
}

# Keys that mmdet 3 / mmseg 1 renamed for these models: none (the mmdet 3.3 head modules keep the
# 2.x attribute names; mmdet's own loaders only rename single-stage <-> RPN heads and early
# FCOS-style predictors, neither of which applies). Kept as a table so a rename is one line.
RENAMED_SINCE_2X: dict[str, str] = {}


def _build(config, task, device='meta'):
    cfg = model_zoo.load_config(Path(ROOT) / config)
    cfg.model.backbone.init_cfg = None
    with torch.device(device):
        return model_zoo.build_model(cfg, task)


@pytest.mark.parametrize('family', FAMILIES)
def test_models_have_the_official_key_names(family):
    official, config, _, shapes = FAMILIES[family]
    model = _build(config, Path(config).parent.name)
    sd = model.state_dict()
    ours = {RENAMED_SINCE_2X.get(k, k) for k in sd if not k.startswith('backbone.')}
    expected = official()
    assert ours == expected, (f'only ours: {sorted(ours - expected)[:8]}; '
                              f'only official: {sorted(expected - ours)[:8]}')
    for k, shape in shapes.items():
        assert tuple(sd[k].shape) == shape, k
    # backbone: the official FocalNet names, with the per-output norms of its out_indices
    backbone = {k for k in sd if k.startswith('backbone.')}
    out_indices = model.backbone.out_indices
    assert {k.split('.')[1] for k in backbone if re.match(r'backbone\.norm\d', k)} == {
        f'norm{i}' for i in out_indices}


# ------------------------------------------------------------------- DINO and yacs configs
def test_focalnet_dino_checkpoint_initialises_the_backbone(tmp_path):
    """FocalNet-DINO (IDEA's DINO code): ``{'model': {'backbone.0.<ours>', 'transformer.*', ...},
    'args': Namespace, ...}``: the backbone loads strictly, safely (no trusted=True needed)."""
    # FocalNet-DINO uses FocalNet-L/H; the layout is the same for any variant (T keeps it quick)
    src = randomize_(FocalNet('tiny-srf', out_indices=(1, 2, 3), drop_path_rate=0.))
    model_sd = {f'backbone.0.{k}': v for k, v in src.state_dict().items()}
    model_sd.update({'transformer.level_embed': torch.randn(4, 256),
                     'transformer.encoder.layers.0.self_attn.value_proj.weight': torch.randn(8, 8),
                     'class_embed.0.weight': torch.randn(91, 256),
                     'input_proj.0.0.weight': torch.randn(256, 192, 1, 1)})
    ckpt = dict(model=model_sd, args=argparse.Namespace(backbone='focalnet_L_384_22k_fl4',
                                                        lr=1e-4, num_queries=900),
                epoch=11)
    torch.save(ckpt, tmp_path / 'focalnet_large_fl4_o365_finetuned_on_coco.pth')
    dst = FocalNet('tiny-srf', out_indices=(1, 2, 3), init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'focalnet_large_fl4_o365_finetuned_on_coco.pth')))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k


def test_official_training_config_is_read_without_yacs(tmp_path, monkeypatch):
    """The official training code saves ``config`` (a yacs ``CfgNode``, a dict subclass) beside
    ``model``. With a stand-in ``yacs.config`` module only while saving (so the pickle names
    ``yacs.config.CfgNode``, as the real files do) and none while reading: read with
    ``weights_only`` as plain dicts (:class:`PickledTrainingConfig`), no yacs code involved."""
    yacs = types.ModuleType('yacs')
    yacs_config = types.ModuleType('yacs.config')

    class CfgNode(dict):
        pass

    CfgNode.__module__, CfgNode.__qualname__ = 'yacs.config', 'CfgNode'
    yacs_config.CfgNode = CfgNode
    yacs.config = yacs_config
    monkeypatch.setitem(sys.modules, 'yacs', yacs)
    monkeypatch.setitem(sys.modules, 'yacs.config', yacs_config)
    cfg = CfgNode(MODEL=CfgNode(TYPE='focalnet', NUM_CLASSES=1000), TRAIN=CfgNode(EPOCHS=300))
    src = randomize_(FocalNet('tiny-srf', drop_path_rate=0.))
    sd = {k: v for k, v in src.state_dict().items() if not re.match(r'norm\d', k)}
    torch.save({'model': sd, 'config': cfg, 'max_accuracy': 82.1, 'epoch': 299},
               tmp_path / 'focalnet_tiny_srf.pth')
    monkeypatch.delitem(sys.modules, 'yacs.config')
    monkeypatch.delitem(sys.modules, 'yacs')
    ckpt = read_checkpoint(str(tmp_path / 'focalnet_tiny_srf.pth'))
    assert type(ckpt['config']) is collections.OrderedDict  # what PickledTrainingConfig builds
    assert type(ckpt['config']['MODEL']) is collections.OrderedDict
    assert ckpt['config']['MODEL']['NUM_CLASSES'] == 1000 and ckpt['config']['TRAIN']['EPOCHS'] == 300
    assert 'yacs' not in sys.modules
    dst = FocalNet('tiny-srf', focal_windows=9, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'focalnet_tiny_srf.pth')))
    dst.init_weights()
    assert torch.equal(dst.patch_embed.proj.weight, sd['patch_embed.proj.weight'])
