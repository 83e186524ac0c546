# UPerNet with FocalNet, ADE20K 512x512, 160k iterations: the official recipe
# (../recipes/ade20k_upernet_160k.py), base of the FocalNet-T/S/B UPerNet configs (a variant
# states its arch, checkpoint, head input widths). Drop path 0.3; focal windows 9 in every stage:
# kernels 9, 11 (SRF) or 9, 11, 13 (LRF).
_base_ = ['../recipes/ade20k_upernet_160k.py', '../backbones.py']
__recipe = _base_.pop('recipe')
model = dict(backbone=dict(__recipe.focalnet_backbone, focal_windows=9, use_conv_embed=False,
                           drop_path_rate=0.3))
