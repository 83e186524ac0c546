# UPerNet, Focal Transformer-T (focal self-attention, window 7, 2 focal levels), ADE20K 512x512,
# 160k iterations. Paper: 45.8 mIoU, 47.0 mIoU (multi-scale), 62M params, 998G FLOPs.
#
# The authors never released their segmentation configs. The recipe is the FocalNet one this file
# inherits (mmseg's Swin-T UPerNet model, data and 160k poly schedule, AdamW lr 6e-5, weight
# decay 0.01, batch 16, drop path 0.3, multi-scale + flip test with --tta): only the backbone
# changes, plus no weight decay on the relative position bias tables (as in the official
# classification code). Shared base of the Focal Transformer UPerNet configs.
_base_ = './upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py'

# Official ImageNet-1k checkpoint (fetched once into torch's hub cache; a local path works too).
checkpoint_file = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
                   'focal-tiny-is224-ws7.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='tiny',  # C=96, depths (2, 2, 6, 2), heads (3, 6, 12, 24)
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
