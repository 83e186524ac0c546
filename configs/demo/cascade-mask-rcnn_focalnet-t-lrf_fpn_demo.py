# Demo: Cascade Mask R-CNN FocalNet-T (lrf) (configs/mmdet/cascade-mask-rcnn_focalnet-t-lrf_fpn_
# ms-crop-3x_coco.py) on the COCO-format demo data (../_base_/demo/coco.py). Its three bbox heads
# with 3 classes and BN instead of SyncBN (SyncBN needs a process group and an accelerator; this
# demo runs one CPU process).
_base_ = ['../mmdet/cascade-mask-rcnn_focalnet-t-lrf_fpn_ms-crop-3x_coco.py',
          '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').masks)
model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(
        bbox_head=[
            dict(head, num_classes=num_classes, norm_cfg=dict(type='BN', requires_grad=True))
            for head in _base_.model.roi_head.bbox_head],
        mask_head=dict(num_classes=num_classes)))
