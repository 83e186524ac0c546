# UPerNet, FocalNet-T (LRF), ADE20K 160k: 46.8 mIoU, 47.8 mIoU (MS) (paper).
_base_ = '../_base_/mmseg/upernet_focalnet_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(backbone=dict(arch='tiny-lrf', init_cfg=dict(checkpoint=checkpoint_file)))
