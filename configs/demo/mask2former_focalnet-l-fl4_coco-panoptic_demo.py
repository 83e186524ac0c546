# Demo: Mask2Former FocalNet-L (fl4) (configs/mmdet/mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-
# panoptic.py) on the COCO-panoptic demo data (../_base_/demo/coco.py): the heads' class counts
# (3 things + 2 stuff) and classification loss weights (one per class + 0.1 for "no object",
# restated because lists are replaced, not merged), 100 queries instead of 200 (a scene holds <= 6
# segments), the fixed-size batch padding at 128x128.
_base_ = ['../mmdet/mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic.py',
          '../_base_/demo/coco.py']
globals().update(_base_.pop('recipe').panoptic)
model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchFixedSizePad', size=image_size, img_pad_value=0, pad_mask=True,
             mask_pad_value=0, pad_seg=True, seg_pad_value=255)
    ]),
    backbone=dict(init_cfg=None),
    panoptic_head=dict(
        num_queries=100,
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(
        num_things_classes=num_things_classes, num_stuff_classes=num_stuff_classes))
