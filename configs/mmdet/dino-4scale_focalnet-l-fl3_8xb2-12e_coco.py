# DINO (4 scales), FocalNet-L (fl3), ImageNet-22k, 12 epochs, COCO: no published result.
_base_ = '../_base_/mmdet/dino-4scale_focalnet_8xb2-12e_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384.pth'  # noqa: E501
model = dict(backbone=dict(arch='large-fl3', init_cfg=dict(checkpoint=pretrained)))
