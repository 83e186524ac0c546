# Demo: Mask R-CNN FocalNet-T (srf) (configs/mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py) on the
# COCO-format demo data (../_base_/demo/coco.py). Run by `make demo` (tools/run_demo.py); also
# works with tools/train.py and tools/test.py. ~5 min on 2 free CPU cores; result: bbox mAP ~0.43,
# segm mAP ~0.58. RoI sampling at training time: 128 RoIs per image instead of 512 (the mask head
# costs ~0.5 GFLOP per positive RoI, which dominates a CPU step; a demo image holds <= 4 objects).
_base_ = ['../mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py', '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').masks)
model = dict(
    backbone=dict(init_cfg=None),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))))
