# FocalNet-XL (4 focal levels, kernels 3, 5, 7, 9), ImageNet-22k, 384 px: 366M params with a 1000-class head (paper).
_base_ = ['./_base_/focalnet_in21k-384px.py']

model = dict(backbone=dict(arch='xlarge-fl4', drop_path_rate=0.5), head=dict(in_channels=2048))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_xlarge_lrf_384_fl4.pth'  # noqa: E501
