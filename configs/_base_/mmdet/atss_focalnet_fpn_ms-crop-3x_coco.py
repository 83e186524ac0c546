# ATSS + FPN with FocalNet, 3x schedule, COCO, as the official config: stages 1-3 (2C, 4C, 8C) feed
# the FPN from its first input (start_level 0), two extra convs on its outputs (5 levels, strides
# 8-128), GIoU loss (weight 2.0); the multi-scale + crop train pipeline, AdamW, 36 epochs
# (../recipes/coco_detection.py). Focal windows: as the Cascade Mask R-CNN base.
_base_ = ['mmdet::atss/atss_r50_fpn_1x_coco.py', '../recipes/coco_detection.py']
__recipe = _base_.pop('recipe')
globals().update(**__recipe.runtime, **__recipe.ms_crop_boxes, **__recipe.schedule_3x,
                 **__recipe.adamw)
model = dict(
    backbone=dict(__recipe.focalnet_backbone, focal_windows=[11, 9, 9, 7], use_conv_embed=False,
                  out_indices=(1, 2, 3)),
    neck=dict(in_channels=[192, 384, 768], start_level=0, add_extra_convs='on_output', num_outs=5),
    bbox_head=dict(loss_bbox=dict(type='GIoULoss', loss_weight=2.0)))
