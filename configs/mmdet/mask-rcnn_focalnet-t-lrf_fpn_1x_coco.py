# Mask R-CNN + FPN, FocalNet-T (LRF, kernels 9, 11, 13), 1x: 46.1 box / 41.5 mask AP.
_base_ = './mask-rcnn_focalnet-t-srf_fpn_1x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(backbone=dict(arch='tiny-lrf', init_cfg=dict(checkpoint=pretrained)))
