# DINO (4 feature scales) with FocalNet-L, ImageNet-22k pre-trained, 12 epochs, COCO: the
# record-setting pairing of the FocalNet paper, base of the FocalNet-L DINO configs. No COCO-only
# DINO FocalNet-L number has been published (the 63.5 box AP of FocalNet-L + DINO is Objects365
# pre-training then COCO fine-tuning, another recipe), so the metafile carries none.
#
# From mmdet's R-50 DINO 4-scale config we keep the whole detector (900 queries, 6+6 layers,
# two-stage with box refinement, contrastive denoising), the DETR multi-scale + crop pipeline,
# AdamW lr 1e-4 (backbone x0.1), weight decay 1e-4, grad clip 0.1, 12 epochs with a step at 11,
# as mmdet's Swin-L DINO config does; drop path 0.2 and activation checkpointing (the activation
# memory of a 200M backbone at 1333 px) as there too.
#
# Backbone: FocalNet-L with its preset's focal windows (../backbones.py). Stages 1-3 (2C, 4C, 8C =
# 384, 768, 1536 channels, strides 8-32) feed the ChannelMapper, whose extra 3x3/2 conv gives the
# 4th scale (stride 64).
_base_ = ['mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', '../backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.runtime)
model = dict(
    backbone=dict(__recipe.focalnet_backbone, drop_path_rate=0.2, out_indices=(1, 2, 3),
                  with_cp=True),
    neck=dict(in_channels=[384, 768, 1536]))
