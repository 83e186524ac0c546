# FocalNet-H (3 focal levels, kernels 3, 5, 7, LayerNorm in the modulation), ImageNet-22k, 224 px: 687M params with a 1000-class head (paper).
# The official H files were on a host that no longer answers; the weights are timm's copy.
_base_ = ['./_base_/focalnet_in21k.py']

model = dict(backbone=dict(arch='huge-fl3', drop_path_rate=0.5), head=dict(in_channels=2816))
load_from = 'https://huggingface.co/timm/focalnet_huge_fl3.ms_in22k/resolve/main/model.safetensors'  # noqa: E501
