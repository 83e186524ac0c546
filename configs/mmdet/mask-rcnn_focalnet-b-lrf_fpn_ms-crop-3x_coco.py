# Mask R-CNN + FPN, FocalNet-B (LRF), 3x, COCO: 49.8 box / 44.1 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base-lrf', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
