# RetinaNet + FPN, Focal Transformer-T, 3x schedule, COCO. Paper: 45.5 box AP, 39M params,
# 265G FLOPs. The 1x config with the 3x schedule of the other Focal Transformer / FocalNet
# detectors: 36 epochs, steps 27 / 33, the multi-scale + crop train pipeline (boxes only).
# Shared base of the Focal Transformer RetinaNet 3x configs.
_base_ = './retinanet_focal-t_fpn_1x_coco.py'

model = dict(backbone=dict(drop_path_rate=0.3))

# flip, then one of (a) short side 480..800 (step 32), long side <= 1333, or (b) short side
# 400/500/600, an absolute-range crop (384, 600), then (a)
_scales = [(1333, short) for short in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize',
                     scales=[(1333, 400), (1333, 500), (1333, 600)],
                     keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600),
                     allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=_scales, keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

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
