# Mask R-CNN + FPN, FocalNet-S (SRF), 3x, COCO: 48.9 box / 43.6 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='small-srf', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)))
