# UPerNet, FocalNet-T (SRF: 2 focal levels, kernels 9, 11), ADE20K 512x512, 160k iterations.
# Official FocalNet segmentation recipe; paper: 46.5 mIoU, 47.2 mIoU (multi-scale).
#
# This file is the shared base of the six UPerNet FocalNet configs: a variant states only what
# differs (arch preset, checkpoint, head input widths).
#
# From mmseg's Swin-T UPerNet config we keep the EncoderDecoder, the ADE20K dataset (512x512
# crops, ratio 0.5-2.0 resize, photometric distortion), the 160k schedule and the runtime.
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
    '../_base_/focalnet_runtime.py',
]
custom_imports = dict(imports=['focalnet_mm'], allow_failed_imports=False)

# Official ImageNet-1k checkpoint (window 3, kernels 3/5; downloaded once into torch's hub
# cache, see README "Pretrained weights"); the loader zero-pads the kernels to 9/11.
checkpoint_file = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalNet',
        arch='tiny-srf',  # C=96, depths (2, 2, 6, 2), focal_levels 2
        focal_windows=9,  # kernels 9, 11
        drop_path_rate=0.3,
        use_conv_embed=False,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    decode_head=dict(
        type='UPerHead',
        in_channels=[96, 192, 384, 768],
        in_index=[0, 1, 2, 3],
        channels=512,
        pool_scales=(1, 2, 3, 6),
        num_classes=150),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=384,  # stage 2 (4C)
        in_index=2,
        num_classes=150,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))

# AdamW, no weight decay on the backbone's LayerNorms (every one is named `*norm*`) nor on the
# layer-scale gammas (L/XL/H presets), as mmseg's Swin configs do for their norms.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys={
            'norm': dict(decay_mult=0.),
            'gamma_1': dict(decay_mult=0.),
            'gamma_2': dict(decay_mult=0.),
        }))

# Linear warmup over 1500 iterations from 1e-6 x lr, then poly (power 1) decay to 0 at 160k.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)

# Total batch 16 = 8 GPUs x 2 images; with another total batch, `--auto-scale-lr` scales the
# learning rate linearly from this base.
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader

# Multi-scale + flip test (the paper's "mIoU (MS)"): run with `tools/test.py ... --tta`.
# Ratios 0.5-1.75 of the (2048, 512) test scale, each with and without horizontal flip, as the
# official mmseg 0.x MultiScaleFlipAug(img_scale=(2048, 512), img_ratios=...) did (mmseg 1.x's
# stock ADE20K `tta_pipeline` scales the original image size instead).
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_model = dict(type='SegTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale=(int(2048 * r), int(512 * r)), keep_ratio=True)
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
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))  # ../_base_/focalnet_runtime.py
