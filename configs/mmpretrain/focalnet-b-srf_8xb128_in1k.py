# FocalNet-B (srf), ImageNet-1k 224 px: 88.1M params, 15.3 GFLOPs, 83.7 top-1 (paper).
_base_ = ['./_base_/focalnet_in1k.py']

model = dict(backbone=dict(arch='base-srf', drop_path_rate=0.5), head=dict(in_channels=1024))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_srf.pth'  # noqa: E501
