# Demo: Sparse R-CNN FocalNet-T (lrf) (configs/mmdet/sparse-rcnn_focalnet-t-lrf_fpn_300-proposals_
# ms-crop-3x_coco.py) on the COCO-format demo data (../_base_/demo/coco.py): its six stages with 3
# classes, 100 proposals instead of 300 (<= 4 objects per ~128 px demo image). Its set-prediction
# heads (AdamW, lr 2.5e-5 for batch 16, grad clip 1.0 in mmdet) are less tolerant of the
# detectors' demo rate: 1e-4 for batch 4 (the base's gradient clipping stays).
_base_ = ['../mmdet/sparse-rcnn_focalnet-t-lrf_fpn_300-proposals_ms-crop-3x_coco.py',
          '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').boxes)
num_proposals = 100
model = dict(
    backbone=dict(init_cfg=None),
    rpn_head=dict(num_proposals=num_proposals),
    roi_head=dict(bbox_head=[dict(head, num_classes=num_classes)
                             for head in _base_.model.roi_head.bbox_head]),
    test_cfg=dict(rcnn=dict(max_per_img=num_proposals)))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
