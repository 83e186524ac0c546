# Mask R-CNN + FPN, FocalNet-T (LRF), 1x, COCO: 46.1 box / 41.5 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focalnet_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny-lrf', drop_path_rate=0.1, init_cfg=dict(checkpoint=pretrained)))
