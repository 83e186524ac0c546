# FocalNet-S (lrf), ImageNet-1k 224 px: 50.3M params, 8.7 GFLOPs, 83.5 top-1 (paper).
_base_ = ['./_base_/focalnet_in1k.py']

model = dict(backbone=dict(arch='small-lrf', drop_path_rate=0.3), head=dict(in_channels=768))
load_from = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_small_lrf.pth'  # noqa: E501
