# Sparse R-CNN + FPN with the Focal Transformer, 3x schedule, COCO: the FocalNet base with this
# backbone (../backbones.py).
_base_ = ['./sparse-rcnn_focalnet_fpn_300-proposals_ms-crop-3x_coco.py', '../backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.focal_transformer)
model = dict(backbone=__recipe.focal_transformer_backbone)
