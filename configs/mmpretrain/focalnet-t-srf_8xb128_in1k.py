# FocalNet-T (srf: 2 focal levels, kernels 3, 5), ImageNet-1k 224 px: 28.4M params, 4.4 GFLOPs, 82.1 top-1 (paper).
_base_ = ['./_base_/focalnet_in1k.py']

model = dict(backbone=dict(arch='tiny-srf', drop_path_rate=0.2), head=dict(in_channels=768))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
