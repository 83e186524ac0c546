# RetinaNet + FPN with the Focal Transformer, 3x schedule, COCO: the 1x base with the 3x schedule of
# the other detectors (36 epochs, steps at 27 and 33, the multi-scale + crop train pipeline, boxes
# only; ../recipes/coco_detection.py).
_base_ = ['./retinanet_focal_fpn_1x_coco.py', '../recipes/coco_detection.py']
__recipe = _base_.pop('recipe')
globals().update(**__recipe.ms_crop_boxes_long_short, **__recipe.schedule_3x)
