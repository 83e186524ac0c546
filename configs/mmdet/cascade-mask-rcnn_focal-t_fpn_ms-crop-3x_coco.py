# Cascade Mask R-CNN + FPN, Focal Transformer-T, 3x schedule, COCO. Paper: 51.5 box AP, 87M
# params, 770G FLOPs. Recipe (Swin's cascade heads with GIoU, multi-scale + crop, AdamW, 36
# epochs): the inherited FocalNet-T config; only the backbone changes (the authors never
# released their detection configs).
_base_ = './cascade-mask-rcnn_focalnet-t-lrf_fpn_ms-crop-3x_coco.py'

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
