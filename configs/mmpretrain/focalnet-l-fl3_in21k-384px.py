# FocalNet-L (3 focal levels, kernels 5, 7, 9), ImageNet-22k, 384 px: 207M params with a 1000-class head (paper), 239.1M with this 21842-class head.
_base_ = ['./_base_/focalnet_in21k-384px.py']

model = dict(backbone=dict(arch='large-fl3', drop_path_rate=0.5), head=dict(in_channels=1536))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384.pth'  # noqa: E501
