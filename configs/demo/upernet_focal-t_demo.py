# Demo: UPerNet Focal Transformer-T (configs/mmseg/upernet_focal-t_8xb2-160k_ade20k-512x512.py):
# the FocalNet-T demo with that backbone.
_base_ = ['./upernet_focalnet-t-srf_demo.py', '../_base_/backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.focal_transformer)
model = dict(backbone=dict(__recipe.focal_transformer_backbone, arch='tiny', drop_path_rate=0.3,
                           init_cfg=None))
