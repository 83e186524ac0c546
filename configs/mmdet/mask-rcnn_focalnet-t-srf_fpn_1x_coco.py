# Mask R-CNN + FPN, FocalNet-T (SRF), 1x, COCO: 45.9 box / 41.3 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny-srf', drop_path_rate=0.1, init_cfg=dict(checkpoint=pretrained)))
