# Mask R-CNN + FPN, FocalNet-S (LRF), 1x, COCO: 48.3 box / 43.1 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='small-lrf', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
