# FocalNet-H (4 focal levels, kernels 3, 5, 7, 9), ImageNet-22k, 224 px: 689M params with a 1000-class head (paper).
# The official H files were on a host that no longer answers; the weights are timm's copy.
# timm publishes H-fl4 without its classification head (backbone and final norm only):
# the head starts at its init (ClassifierCheckpointHook(missing_head='init'), with a warning).
_base_ = ['./_base_/focalnet_in21k.py']

model = dict(backbone=dict(arch='huge-fl4', drop_path_rate=0.5), head=dict(in_channels=2816))
load_from = 'https://huggingface.co/timm/focalnet_huge_fl4.ms_in22k/resolve/main/model.safetensors'  # noqa: E501
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='PreemptionHook'),
    dict(type='DistLossAverageHook'),
    dict(type='ClassifierCheckpointHook', missing_head='init'),
]
