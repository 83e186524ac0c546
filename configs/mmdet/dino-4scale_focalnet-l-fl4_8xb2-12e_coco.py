# DINO (4 feature scales), FocalNet-L (fl4: 4 focal levels), ImageNet-22k pre-trained, 12 epochs,
# COCO. Record-setting pairing of the FocalNet paper; no COCO-only DINO FocalNet-L number has
# been published (the 63.5 box AP of FocalNet-L + DINO is Objects365 pre-training then COCO
# fine-tuning, another recipe), so the metafile carries none.
#
# This file is the base of the FocalNet-L DINO configs: a variant states only what differs.
# From mmdet's R-50 DINO 4-scale config we keep the whole detector (900 queries, 6+6 layers,
# two-stage with box refinement, contrastive denoising), the DETR multi-scale + crop pipeline,
# AdamW lr 1e-4 (backbone x0.1), weight decay 1e-4, grad clip 0.1, 12 epochs with a step at 11,
# as mmdet's Swin-L DINO config does.
#
# Backbone: the 'large-fl4' preset, i.e. C=192, depths (2, 2, 18, 2), focal levels 4 at window 3
# (kernels 3, 5, 7, 9), overlapping conv embedding (7x7/4 stem with padding 2 as the ImageNet-22k
# checkpoint, 3x3/2 downsampling), post-LN blocks, layerscale (1e-4), normalized modulator.
# Focal windows/levels of FocalNet-DINO itself are not published: our choice is the
# checkpoint's own (window 3, 4 levels), so the ImageNet-22k kernels load unchanged, with no
# zero-padding. Stages 1-3 (2C, 4C, 8C = 384, 768, 1536 channels, strides 8-32) feed the
# ChannelMapper, whose extra 3x3/2 conv gives the 4th scale (stride 64).
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    '../_base_/focalnet_runtime.py',
]
custom_imports = dict(imports=['focalnet_mm'], allow_failed_imports=False)

# Official ImageNet-22k FocalNet-L checkpoint (384 px, 4 focal levels), downloaded once.
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384_fl4.pth'  # noqa: E501
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalNet',
        arch='large-fl4',  # conv embed, post-LN, layerscale, normalize_modulator: the preset's
        drop_path_rate=0.2,  # as mmdet's Swin-L DINO
        patch_norm=True,
        out_indices=(1, 2, 3),
        with_cp=True,  # as mmdet's Swin-L DINO: activation memory of a 200M backbone at 1333 px
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[384, 768, 1536]))
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))  # ../_base_/focalnet_runtime.py
