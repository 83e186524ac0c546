# Mask R-CNN + FPN, FocalNet-B (SRF), 1x, COCO: 48.8 box / 43.3 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base-srf', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
