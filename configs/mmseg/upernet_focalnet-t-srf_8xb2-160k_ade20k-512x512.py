# UPerNet, FocalNet-T (SRF), ADE20K 160k: 46.5 mIoU, 47.2 mIoU (MS) (paper).
_base_ = '../_base_/mmseg/upernet_focalnet_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(backbone=dict(arch='tiny-srf', init_cfg=dict(checkpoint=checkpoint_file)))
