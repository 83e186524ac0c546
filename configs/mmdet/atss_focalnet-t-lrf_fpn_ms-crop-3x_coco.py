# ATSS + FPN, FocalNet-T (LRF: 3 focal levels, per-stage focal windows 11, 9, 9, 7), 3x schedule,
# COCO: 49.6 box AP (paper). Official settings: stages 1-3 (2C, 4C, 8C) feed the FPN from
# its first input (start_level 0), two extra convs on its outputs (5 levels, strides 8-128),
# GIoU loss (weight 2.0); the official multi-scale + crop train pipeline, AdamW, 36 epochs with
# steps at 27 and 33.
_base_ = [
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    '../_base_/focalnet_runtime.py',
]
custom_imports = dict(imports=['focalnet_mm'], allow_failed_imports=False)

# Official ImageNet-1k checkpoint (downloaded once into torch's hub cache).
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalNet',
        arch='tiny-lrf',  # C=96, depths (2, 2, 6, 2), focal_levels 3
        focal_windows=[11, 9, 9, 7],  # stage kernels 11/13/15, 9/11/13, 9/11/13, 7/9/11
        drop_path_rate=0.3,
        use_conv_embed=False,
        patch_norm=True,
        out_indices=(1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(
        in_channels=[192, 384, 768],
        start_level=0,
        add_extra_convs='on_output',
        num_outs=5),
    bbox_head=dict(loss_bbox=dict(type='GIoULoss', loss_weight=2.0)))

# Official multi-scale + crop train pipeline (as mmdet's Swin ms-crop-3x config, boxes only).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(
                type='RandomChoiceResize',
                scales=[(480, 1333), (512, 1333), (544, 1333), (576, 1333),
                        (608, 1333), (640, 1333), (672, 1333), (704, 1333),
                        (736, 1333), (768, 1333), (800, 1333)],
                keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=[(480, 1333), (512, 1333), (544, 1333),
                                    (576, 1333), (608, 1333), (640, 1333),
                                    (672, 1333), (704, 1333), (736, 1333),
                                    (768, 1333), (800, 1333)],
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=16)

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[27, 33],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        _delete_=True, type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'norm': dict(decay_mult=0.),
            'gamma_1': dict(decay_mult=0.),
            'gamma_2': dict(decay_mult=0.),
        }))
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))  # ../_base_/focalnet_runtime.py
