# UPerNet, FocalNet-L (fl4), ImageNet-22k pre-trained, ADE20K 640x640, 160k iterations.
# No FocalNet-L UPerNet result has been published: the metafile carries none.
#
# Model settings and schedule from our FocalNet-T UPerNet config (UPerHead 512 channels, pool
# scales 1/2/3/6, auxiliary FCNHead on stage 2, AdamW lr 6e-5 / wd 0.01 without decay on norms
# and layer-scale gammas, warmup 1500 + poly to 160k, batch 16, drop path 0.3); data: mmseg's
# ADE20K 640x640 setting (`mmseg::_base_/datasets/ade20k_640x640.py`: resize to (2560, 640) with
# ratio 0.5-2.0, 640x640 crops; test at (2560, 640)), restated below because mmengine refuses the
# same keys from two `_base_` files.
#
# Backbone: the 'large-fl4' preset (C=192, depths (2, 2, 18, 2), focal levels 4 at window 3 =
# kernels 3, 5, 7, 9, conv embedding, post-LN, layerscale, normalized modulator), loaded from the
# ImageNet-22k checkpoint without kernel padding (window: our choice, see the DINO config).
_base_ = './upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py'

checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384_fl4.pth'  # noqa: E501
crop_size = (640, 640)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch='large-fl4',
        focal_windows=None,  # the preset's (3), not the base's 9
        use_conv_embed=None,  # the preset's (True)
        init_cfg=dict(checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2560, 640), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Multi-scale + flip test (`tools/test.py ... --tta`): ratios 0.5-1.75 of the (2560, 640) scale.
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale=(int(2560 * r), int(640 * r)), keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations', reduce_zero_label=True)],
            [dict(type='PackSegInputs')],
        ])
]
