# Demo: Cascade Mask R-CNN Focal Transformer-T (configs/mmdet/cascade-mask-rcnn_focal-t_fpn_ms-crop-
# 3x_coco.py): the FocalNet-T demo with that backbone.
_base_ = ['./cascade-mask-rcnn_focalnet-t-lrf_fpn_demo.py', '../_base_/backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.focal_transformer)
model = dict(backbone=dict(__recipe.focal_transformer_backbone, arch='tiny', drop_path_rate=0.3,
                           init_cfg=None))
