# Demo: Mask2Former FocalNet-L (fl4) (configs/mmseg/mask2former_focalnet-l-fl4_8xb2-160k_ade20k-
# 640x640.py) on the ADE20K-layout demo data (../_base_/demo/ade20k.py): 5 classes, the head's
# class count and classification loss weights (one per class + 0.1 for "no object", restated
# because lists are replaced, not merged).
_base_ = ['../mmseg/mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py',
          '../_base_/demo/ade20k.py']
globals().update(_base_.pop('recipe').mask2former)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),
    decode_head=dict(
        num_classes=num_classes, loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])))
