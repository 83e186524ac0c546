# Sparse R-CNN + FPN, Focal Transformer-T, 300 proposals, 3x schedule, COCO. Paper: 49.0 box AP,
# 111M params, 196G FLOPs. Recipe (mmdet's Sparse R-CNN 300-proposal 3x: multi-scale + crop,
# AdamW lr 2.5e-5, clipping): the inherited FocalNet-T config; only the backbone changes.
_base_ = './sparse-rcnn_focalnet-t-lrf_fpn_300-proposals_ms-crop-3x_coco.py'

pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-tiny-is224-ws7.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='tiny',
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
