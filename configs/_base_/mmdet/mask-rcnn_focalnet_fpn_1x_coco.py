# Mask R-CNN + FPN with FocalNet, 1x schedule, COCO: the official FocalNet detection recipe, base of
# the Mask R-CNN FocalNet configs (a variant states its arch, drop path, checkpoint, FPN widths).
#
# From mmdet's Swin-T ms-crop config we keep the Mask R-CNN model, the COCO instance dataset and
# the multi-scale + crop train pipeline (used by FocalNet for 1x and 3x alike, see
# ../recipes/coco_detection.py); we replace the backbone, the schedule and the optimizer's
# per-parameter keys. Focal windows 9 in every stage: kernels 9, 11 (SRF) or 9, 11, 13 (LRF).
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py', '../recipes/coco_detection.py'
]
__recipe = _base_.pop('recipe')
globals().update(**__recipe.runtime, **__recipe.batch_16, **__recipe.schedule_1x,
                 **__recipe.adamw_over_swin)
model = dict(
    backbone=dict(__recipe.focalnet_backbone, focal_windows=9, use_conv_embed=False),
    neck=dict(in_channels=[96, 192, 384, 768]))
