# RetinaNet + FPN, Focal Transformer-T, 1x schedule, COCO. Paper: 43.7 box AP, 39M params,
# 265G FLOPs.
#
# No FocalNet RetinaNet exists to inherit: this is mmdet's Swin-T RetinaNet (stages 2-4 into the
# FPN from its first input, extra convs on the input for 5 levels, single-scale 1333x800 + flip
# training, 12 epochs with steps 8 / 11, batch 16) with the optimizer of the Swin detectors and
# of the other Focal Transformer configs: AdamW lr 1e-4, weight decay 0.05, none on norms and
# relative position bias tables (mmdet's file keeps SGD lr 0.01 from the ResNet schedule). The
# authors never released their detection configs. Shared base of the Focal Transformer RetinaNet
# configs.
_base_ = [
    'mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py',
    '../_base_/focalnet_runtime.py',
]
custom_imports = dict(imports=['focalnet_mm'], allow_failed_imports=False)

# Official ImageNet-1k checkpoint (fetched once into torch's hub cache; a local path works too).
pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-tiny-is224-ws7.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='tiny',  # C=96, depths (2, 2, 6, 2), heads (3, 6, 12, 24)
        drop_path_rate=0.2,  # mmdet's Swin-T RetinaNet value
        out_indices=(1, 2, 3),  # only what the FPN reads (unused outputs: unused parameters)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[192, 384, 768], start_level=0, num_outs=5))

train_dataloader = dict(batch_size=2)  # total batch 16 = 8 GPUs x 2 images
auto_scale_lr = dict(enable=False, base_batch_size=16)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        _delete_=True, type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'norm': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
        }))
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))  # ../_base_/focalnet_runtime.py
