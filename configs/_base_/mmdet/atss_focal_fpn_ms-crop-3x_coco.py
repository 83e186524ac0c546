# ATSS + FPN with the Focal Transformer, 3x schedule, COCO: the FocalNet base with this backbone
# (../backbones.py), stages 1-3 to the FPN.
_base_ = ['./atss_focalnet_fpn_ms-crop-3x_coco.py', '../backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.focal_transformer)
model = dict(backbone=dict(__recipe.focal_transformer_backbone, out_indices=(1, 2, 3)))
