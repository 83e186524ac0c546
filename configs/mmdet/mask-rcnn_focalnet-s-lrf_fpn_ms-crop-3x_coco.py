# Mask R-CNN + FPN, FocalNet-S (LRF, kernels 9, 11, 13), 3x: 49.3 box / 43.8 mask AP.
_base_ = './mask-rcnn_focalnet-t-srf_fpn_ms-crop-3x_coco.py'
pretrained = 'checkpoints/focalnet_small_lrf.pth'
model = dict(
    backbone=dict(arch='small-lrf', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)))
