# Mask R-CNN + FPN, FocalNet-T (SRF), 3x, COCO: 47.6 box / 42.6 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny-srf', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
