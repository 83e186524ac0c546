# Demo: DINO 4-scale FocalNet-L (fl4) (configs/mmdet/dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py) on
# the COCO-format demo data (../_base_/demo/coco.py): shows that the pairing runs end to end (a
# 229M-parameter model does not learn much from 48 images in a few CPU minutes). No activation
# checkpointing (it saves GPU memory at 1333 px at the cost of a second backbone forward; ~128 px
# needs none); 100 queries (20 denoising queries), at most 100 detections per image, instead of
# 900 (100) and 300: a ~128 px image holds <= 4 objects.
_base_ = ['../mmdet/dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py', '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').dino)
model = dict(
    num_queries=100,
    backbone=dict(init_cfg=None, with_cp=False),
    bbox_head=dict(num_classes=num_classes),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=20)),
    test_cfg=dict(max_per_img=100))
