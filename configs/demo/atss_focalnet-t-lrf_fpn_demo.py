# Demo: ATSS FocalNet-T (lrf) (configs/mmdet/atss_focalnet-t-lrf_fpn_ms-crop-3x_coco.py) on the
# COCO-format demo data (../_base_/demo/coco.py).
_base_ = ['../mmdet/atss_focalnet-t-lrf_fpn_ms-crop-3x_coco.py', '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').boxes)
model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=num_classes))
