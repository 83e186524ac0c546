# UPerNet, FocalNet-B (LRF), ADE20K 160k: 50.5 mIoU, 51.4 mIoU (MS) (paper).
_base_ = '../_base_/mmseg/upernet_focalnet_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base-lrf', init_cfg=dict(checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]), auxiliary_head=dict(in_channels=512))
