# The FocalNet / Focal Transformer UPerNet recipe on ADE20K (the official FocalNet segmentation
# configs): 512x512 crops, 160k iterations; the family bases (../mmseg/*) put the backbone in.
#
# From mmseg's Swin-T UPerNet config we keep the EncoderDecoder (UPerHead 512 channels, pool
# scales 1/2/3/6; auxiliary FCNHead on stage 2, loss weight 0.4), the ADE20K dataset (512x512
# crops, ratio 0.5-2.0 resize, photometric distortion), AdamW lr 6e-5 / weight decay 0.01, batch
# 16 = 8 GPUs x 2 images (with another total batch, `--auto-scale-lr` scales the learning rate
# linearly from it) and the runtime; the optimizer's per-parameter keys are the backbone's
# (../backbones.py `no_decay_keys`). Schedule: linear warmup over 1500 iterations from 1e-6 x lr,
# then poly (power 1) decay to 0 at 160k.
#
# Multi-scale + flip test (the paper's "mIoU (MS)"): run with `tools/test.py ... --tta`. Ratios
# 0.5-1.75 of the (2048, 512) test scale, each with and without horizontal flip, as the official
# mmseg 0.x MultiScaleFlipAug(img_scale=(2048, 512), img_ratios=...) did (mmseg 1.x's stock ADE20K
# `tta_pipeline` scales the original image size instead).
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
    '../backbones.py',
]
__recipe = _base_.pop('recipe')
globals().update(__recipe.runtime)
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, custom_keys=__recipe.no_decay_keys))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(int(2048 * r), int(512 * r)), keep_ratio=True)
             for r in _base_.img_ratios],
            [dict(type='RandomFlip', prob=p, direction='horizontal') for p in (0., 1.)],
            [dict(type='LoadAnnotations', reduce_zero_label=True)],
            [dict(type='PackSegInputs')],
        ])
]
