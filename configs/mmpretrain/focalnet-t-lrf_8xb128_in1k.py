# FocalNet-T (lrf: 3 focal levels, kernels 3, 5, 7), ImageNet-1k 224 px: 28.6M params, 4.5 GFLOPs, 82.3 top-1 (paper).
_base_ = ['./_base_/focalnet_in1k.py']

model = dict(backbone=dict(arch='tiny-lrf', drop_path_rate=0.2), head=dict(in_channels=768))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
