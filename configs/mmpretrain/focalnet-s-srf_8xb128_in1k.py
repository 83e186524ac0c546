# FocalNet-S (srf), ImageNet-1k 224 px: 49.9M params, 8.6 GFLOPs, 83.4 top-1 (paper).
_base_ = ['./_base_/focalnet_in1k.py']

model = dict(backbone=dict(arch='small-srf', drop_path_rate=0.3), head=dict(in_channels=768))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_srf.pth'  # noqa: E501
