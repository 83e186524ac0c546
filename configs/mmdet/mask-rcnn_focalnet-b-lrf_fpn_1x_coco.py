# Mask R-CNN + FPN, FocalNet-B (LRF), 1x, COCO: 49.0 box / 43.5 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base-lrf', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
