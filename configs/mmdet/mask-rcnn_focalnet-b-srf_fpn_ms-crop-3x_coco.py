# Mask R-CNN + FPN, FocalNet-B (SRF), 3x, COCO: 49.6 box / 44.1 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base-srf', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
