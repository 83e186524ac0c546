# Mask R-CNN + FPN, Focal Transformer-T, 3x schedule (36 epochs, steps 27 / 33, multi-scale +
# crop), COCO. Paper: 47.2 box AP / 42.7 mask AP, 49M params, 291G FLOPs.
# Shared base of the Focal Transformer Mask R-CNN 3x configs; recipe: the inherited FocalNet one.
_base_ = './mask-rcnn_focalnet-t-srf_fpn_ms-crop-3x_coco.py'

pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-tiny-is224-ws7.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='tiny',
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
