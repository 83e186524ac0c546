# Mask R-CNN + FPN, Focal Transformer-T (focal self-attention, window 7, 2 focal levels), 1x
# schedule, COCO. Paper: 44.8 box AP / 41.0 mask AP, 49M params, 291G FLOPs.
#
# The authors never released their detection configs. The recipe here is the FocalNet one this
# file inherits (mmdet's Swin-T Mask R-CNN model and multi-scale + crop pipeline, AdamW lr 1e-4,
# weight decay 0.05, batch 16, 12 epochs; drop path as FocalNet: T/S/B 0.1/0.2/0.3 in 1x,
# 0.3/0.5/0.5 in 3x): only the backbone changes, plus no weight decay on the
# relative position bias tables (the official classification code exempts them too). This file
# is the shared base of the Focal Transformer Mask R-CNN 1x configs.
_base_ = './mask-rcnn_focalnet-t-srf_fpn_1x_coco.py'

# Official ImageNet-1k checkpoint (fetched once into torch's hub cache; a local path works too).
pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-tiny-is224-ws7.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='tiny',  # C=96, depths (2, 2, 6, 2), heads (3, 6, 12, 24)
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
