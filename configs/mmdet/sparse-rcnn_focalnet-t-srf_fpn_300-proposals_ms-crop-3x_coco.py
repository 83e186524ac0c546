# Sparse R-CNN + FPN, FocalNet-T (SRF: 2 focal levels, per-stage focal windows 11, 9, 9, 7),
# 300 proposals, 3x, COCO. The paper reports LRF only; this is the SRF counterpart.
_base_ = './sparse-rcnn_focalnet-t-lrf_fpn_300-proposals_ms-crop-3x_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(backbone=dict(arch='tiny-srf', init_cfg=dict(checkpoint=pretrained)))
