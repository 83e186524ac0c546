# Cascade Mask R-CNN + FPN, FocalNet-T (SRF), 3x, COCO: SRF counterpart (paper: LRF only).
_base_ = '../_base_/mmdet/cascade-mask-rcnn_focalnet_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny-srf', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
