# Mask R-CNN + FPN, FocalNet-T (LRF, kernels 9, 11, 13), 3x: 48.0 box / 42.9 mask AP.
_base_ = './mask-rcnn_focalnet-t-srf_fpn_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(backbone=dict(arch='tiny-lrf', init_cfg=dict(checkpoint=pretrained)))
