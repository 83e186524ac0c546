# UPerNet, FocalNet-S (LRF), ADE20K 160k: 49.1 mIoU, 50.1 mIoU (MS) (paper).
_base_ = '../_base_/mmseg/upernet_focalnet_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_lrf.pth'  # noqa: E501
model = dict(backbone=dict(arch='small-lrf', init_cfg=dict(checkpoint=checkpoint_file)))
