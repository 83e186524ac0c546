# Mask R-CNN + FPN, FocalNet-T (SRF: 2 focal levels, kernels 9, 11), 1x schedule, COCO.
# Official FocalNet detection recipe; paper: 45.9 box AP / 41.3 mask AP.
#
# This file is the shared base of all twelve Mask R-CNN FocalNet configs: a variant states only
# what differs (arch preset, drop_path_rate, checkpoint, FPN widths, 3x schedule).
#
# From mmdet's Swin-T ms-crop config we keep the Mask R-CNN model, the COCO instance dataset and
# the official multi-scale + crop train pipeline (used by FocalNet for both 1x and 3x):
#   flip 0.5, then one of (a) short side in {480, 512, ..., 800}, long side <= 1333, or
#   (b) short side in {400, 500, 600}, absolute-range crop (384, 600), then (a).
# We replace the backbone, the schedule (12 epochs, steps 9/11) and the optimizer's paramwise keys.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
    '../_base_/focalnet_runtime.py',
]
custom_imports = dict(imports=['focalnet_mm'], allow_failed_imports=False)

# Official ImageNet-1k checkpoint (window 3, kernels 3/5; downloaded once into torch's hub
# cache, see README "Pretrained weights"); the loader zero-pads the kernels to 9/11.
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_srf.pth'  # noqa: E501
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalNet',
        arch='tiny-srf',  # C=96, depths (2, 2, 6, 2), focal_levels 2
        focal_windows=9,  # kernels 9, 11
        drop_path_rate=0.1,
        use_conv_embed=False,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))

# Total batch 16 = 8 GPUs x 2 images.
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)

# 1x: 12 epochs, lr x0.1 at epochs 9 and 11 (official FocalNet; Swin uses 8, 11). Linear warmup
# over the first 500 iterations from 0.001 x lr (mmdet 2.x schedule_1x, which the official
# configs inherit).
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[9, 11],
        gamma=0.1)
]

# AdamW, no weight decay on the backbone's LayerNorms (every one is named `*norm*`) nor on the
# layer-scale gammas (L/XL/H presets), as mmdet's Swin configs do for their norms.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys={
            'norm': dict(decay_mult=0.),
            'gamma_1': dict(decay_mult=0.),
            'gamma_2': dict(decay_mult=0.),
        }))
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))  # ../_base_/focalnet_runtime.py
