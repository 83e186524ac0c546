# Sparse R-CNN + FPN (4 levels) with FocalNet, 300 learned proposals, 6 stages, 3x schedule, COCO.
# mmdet's own Sparse R-CNN 300-proposal recipe already is the official one: multi-scale + crop
# train pipeline, AdamW lr 2.5e-5, weight decay 1e-4 on every parameter, gradient clipping at
# max_norm 1, 36 epochs with steps at 27 and 33. Only the backbone (focal windows: as the Cascade
# Mask R-CNN base) and the FPN widths change. (The official config's `_base_` paths are broken;
# this one loads.)
_base_ = [
    'mmdet::sparse_rcnn/sparse-rcnn_r50_fpn_300-proposals_crop-ms-480-800-3x_coco.py',
    '../recipes/coco_detection.py',
]
__recipe = _base_.pop('recipe')
globals().update(**__recipe.runtime, **__recipe.batch_16)
model = dict(
    backbone=dict(__recipe.focalnet_backbone, focal_windows=[11, 9, 9, 7], use_conv_embed=False),
    neck=dict(in_channels=[96, 192, 384, 768]))
