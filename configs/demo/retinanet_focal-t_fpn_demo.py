# Demo: RetinaNet Focal Transformer-T (configs/mmdet/retinanet_focal-t_fpn_1x_coco.py) on the
# COCO-format demo data (../_base_/demo/coco.py), with the detectors' multi-scale + crop pipeline.
_base_ = ['../mmdet/retinanet_focal-t_fpn_1x_coco.py', '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').boxes)
model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=num_classes))
