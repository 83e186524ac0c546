# Mask R-CNN + FPN with FocalNet, 3x schedule (36 epochs, steps at 27 and 33), COCO: the 1x base
# with the 3x schedule.
_base_ = ['./mask-rcnn_focalnet_fpn_1x_coco.py', '../recipes/coco_detection.py']
globals().update(_base_.pop('recipe').schedule_3x)
