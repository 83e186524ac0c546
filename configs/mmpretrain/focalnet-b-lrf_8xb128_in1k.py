# FocalNet-B (lrf), ImageNet-1k 224 px: 88.7M params, 15.4 GFLOPs, 83.9 top-1 (paper).
_base_ = ['./_base_/focalnet_in1k.py']

model = dict(backbone=dict(arch='base-lrf', drop_path_rate=0.5), head=dict(in_channels=1024))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_lrf.pth'  # noqa: E501
