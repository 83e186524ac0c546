# ATSS + FPN, FocalNet-T (LRF), 3x, COCO: 49.6 box AP (paper).
_base_ = '../_base_/mmdet/atss_focalnet_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny-lrf', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
