# Mask R-CNN + FPN, FocalNet-S (SRF), 1x, COCO: 48.0 box / 42.7 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='small-srf', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
