# UPerNet, FocalNet-L (fl4), ImageNet-22k, ADE20K 640x640, 160k: no published result.
_base_ = ['../_base_/recipes/ade20k-640x640_upernet_160k.py', '../_base_/backbones.py']
__recipe = _base_.pop('recipe')
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384_fl4.pth'  # noqa: E501
model = dict(
    backbone=dict(__recipe.focalnet_backbone, arch='large-fl4', drop_path_rate=0.3,
                  focal_windows=None, use_conv_embed=None,  # None: the preset's
                  init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))
