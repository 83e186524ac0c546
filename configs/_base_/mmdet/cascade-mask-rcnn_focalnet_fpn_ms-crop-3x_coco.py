# Cascade Mask R-CNN + FPN with FocalNet, 3x schedule, COCO: Swin's cascade recipe, as the official
# FocalNet config: three 4conv1fc bbox heads with SyncBN, class-specific regression on decoded
# boxes with GIoU loss (weight 10), the multi-scale + crop train pipeline, AdamW, 36 epochs
# (../recipes/coco_detection.py). Per-stage focal windows 11, 9, 9, 7: stage kernels 11/13(/15),
# 9/11(/13), 9/11(/13), 7/9(/11) for SRF (LRF).
_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py', '../recipes/coco_detection.py'
]
__recipe = _base_.pop('recipe')
globals().update(**__recipe.runtime, **__recipe.ms_crop_masks, **__recipe.schedule_3x,
                 **__recipe.adamw)
model = dict(
    backbone=dict(__recipe.focalnet_backbone, focal_windows=[11, 9, 9, 7], use_conv_embed=False),
    neck=dict(in_channels=[96, 192, 384, 768]),
    roi_head=dict(bbox_head=[
        dict(
            type='ConvFCBBoxHead',
            num_shared_convs=4,
            num_shared_fcs=1,
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=target_stds),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
        for target_stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                            [0.033, 0.033, 0.067, 0.067])
    ]))
