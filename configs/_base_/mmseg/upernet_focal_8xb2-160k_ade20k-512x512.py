# UPerNet with the Focal Transformer, ADE20K 512x512, 160k iterations: the FocalNet recipe
# (../recipes/ade20k_upernet_160k.py) with this backbone (../backbones.py), drop path 0.3.
_base_ = ['../recipes/ade20k_upernet_160k.py', '../backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.focal_transformer)
model = dict(backbone=dict(__recipe.focal_transformer_backbone, drop_path_rate=0.3))
