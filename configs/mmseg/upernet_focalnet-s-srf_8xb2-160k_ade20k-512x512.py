# UPerNet, FocalNet-S (SRF: kernels 9, 11), ADE20K 160k: 49.3 mIoU, 50.1 mIoU (MS).
_base_ = './upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_srf.pth'  # noqa: E501
model = dict(backbone=dict(arch='small-srf', init_cfg=dict(checkpoint=checkpoint_file)))
